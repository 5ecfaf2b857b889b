package bench

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// TrainPopulation trains configurations as one population: population.Train,
// which this package (beside it in the layering) takes as a function.
type TrainPopulation func(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cfgs []optlab.Config) ([]*optlab.History, error)

// TrialExamples is the length of the trial that trials/hour figures count:
// one epoch of MNIST's 60,000 training images.
const TrialExamples = 60000

// PopulationResult is the measured throughput of a learning-rate sweep
// trained as one population, next to the same model trained alone.
type PopulationResult struct {
	Model     string `json:"model"`
	Optimizer string `json:"optimizer"` // the first member's spec
	Backend   string `json:"backend"`
	BatchSize int    `json:"batch_size"`
	Members   int    `json:"members"`
	// LRs are the members' learning rates (log-spaced over two decades
	// around the optimizer's own).
	LRs []float64 `json:"lrs"`
	// Steps is the number of timed population steps.
	Steps            int     `json:"steps"`
	FirstStepSeconds float64 `json:"first_step_seconds"`
	Seconds          float64 `json:"seconds"`
	// MemberSamplesPerSec is Members·BatchSize·Steps/Seconds: training
	// examples processed per second, all members together.
	MemberSamplesPerSec float64 `json:"member_samples_per_sec"`
	// SequentialSamplesPerSec is the same model's throughput trained alone
	// (TrainResult.SamplesPerSec at the same batch size), 0 if not measured.
	SequentialSamplesPerSec float64 `json:"sequential_samples_per_sec"`
	// TrialsPerHour and SequentialTrialsPerHour convert both into trials of
	// TrialExamples examples per hour (training steps only: compilation and
	// evaluation are not counted; scripts/bench/population.sh times whole
	// sweeps); Speedup is their ratio.
	TrialsPerHour           float64 `json:"trials_per_hour"`
	SequentialTrialsPerHour float64 `json:"sequential_trials_per_hour"`
	Speedup                 float64 `json:"speedup"`
	PeakRSSBytes            int64   `json:"peak_rss_bytes"`
}

// SweepLRs returns n learning rates log-spaced from lr/10 to lr·10 (lr
// itself for n = 1): a learning-rate sweep's grid.
func SweepLRs(lr float64, n int) []float64 {
	if n == 1 {
		return []float64{lr}
	}
	out := make([]float64, n)
	for k := range out {
		out[k] = lr * math.Pow(10, -1+2*float64(k)/float64(n-1))
	}
	return out
}

// Population times a learning-rate sweep of members configurations of model
// (opt at SweepLRs(opt's lr, members), one seed) trained as one population
// through train, with the protocol of Training: 1+epochs epochs of steps
// steps on the first steps·batch examples of ds, the first untimed.
// sequential, if > 0, is the model's samples/s alone at this batch size, for
// the ratio.
func Population(backend compute.Backend, ds *datasets.Dataset, model string, opt *optimizers.Optimizer, members, batch, steps, epochs int,
	seed int64, opts *models.Options, sequential float64, train TrainPopulation) (*PopulationResult, error) {
	switch {
	case train == nil:
		return nil, errors.New("bench: no population trainer given")
	case ds == nil:
		return nil, errors.New("bench: no data set")
	case opt == nil:
		return nil, errors.New("bench: no optimizer given")
	case members < 1:
		return nil, fmt.Errorf("bench: population size must be ≥ 1, got %d", members)
	case batch < 1 || steps < 1 || epochs < 1:
		return nil, fmt.Errorf("bench: batch size, steps and epochs must be ≥ 1, got %d, %d and %d", batch, steps, epochs)
	case batch*steps > ds.Len():
		return nil, fmt.Errorf("bench: %d steps of batch %d need %d examples, the data set has %d", steps, batch, batch*steps, ds.Len())
	}
	data := &optlab.Data{Train: ds.Slice(ds.Name, 0, batch*steps), Val: ds.Slice(ds.Name, 0, batch), ValSplit: "validation"}
	lrs := SweepLRs(opt.LearningRate(), members)
	cfgs := make([]optlab.Config, members)
	for k, lr := range lrs {
		o, err := opt.With("lr", lr)
		if err != nil {
			return nil, fmt.Errorf("bench: member %d: %w", k, err)
		}
		cfgs[k] = optlab.Config{Model: model, Optimizer: o, Epochs: 1 + epochs, BatchSize: batch, Seed: seed,
			EvalBatchSize: batch, ModelOptions: opts}
	}
	resetPeakRSS()
	hs, err := train(stdctx.Background(), backend, data, cfgs)
	if err != nil {
		return nil, fmt.Errorf("bench %s population of %d at batch %d: %w", model, members, batch, err)
	}
	// Diverged members are frozen but still computed: any finished member's
	// epochs give the population's times.
	var h *optlab.History
	for _, m := range hs {
		if len(m.Epochs) == 1+epochs {
			h = m
			break
		}
	}
	if h == nil {
		return nil, fmt.Errorf("bench %s population of %d at batch %d: every member diverged (%s)", model, members, batch, hs[0].Err)
	}
	r := &PopulationResult{Model: model, Optimizer: cfgs[0].Optimizer.String(), Backend: h.Backend, BatchSize: batch,
		Members: members, LRs: lrs, Steps: steps * epochs, FirstStepSeconds: h.CompileSeconds,
		SequentialSamplesPerSec: sequential, PeakRSSBytes: peakRSS()}
	for _, e := range h.Epochs[1:] {
		r.Seconds += e.Seconds
	}
	r.MemberSamplesPerSec = float64(members*batch*r.Steps) / r.Seconds
	r.TrialsPerHour = r.MemberSamplesPerSec * 3600 / TrialExamples
	if sequential > 0 {
		r.SequentialTrialsPerHour = sequential * 3600 / TrialExamples
		r.Speedup = r.TrialsPerHour / r.SequentialTrialsPerHour
	}
	return r, nil
}
