package benchmark

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Metric names the validation metric a workload's target is set on.
type Metric string

const (
	// ValAccuracy is the accuracy on the validation split; the target is
	// reached when it is at least the target (AlgoPerf's scoring compares
	// with ≥ for metrics to maximise).
	ValAccuracy Metric = "val_accuracy"
	// ValLoss is the mean loss on the validation split; the target is reached
	// when it is at most the target.
	ValLoss Metric = "val_loss"
)

// Reached reports whether the value v of the metric meets target.
func (m Metric) Reached(v, target float64) bool {
	if math.IsNaN(v) {
		return false
	}
	if m == ValLoss {
		return v <= target
	}
	return v >= target
}

// Better reports whether a is a better value of the metric than b.
func (m Metric) Better(a, b float64) bool {
	if math.IsNaN(b) {
		return !math.IsNaN(a)
	}
	if m == ValLoss {
		return a < b
	}
	return a > b
}

// Workload is one benchmark problem: data, model, loss, batch size, step
// budget, evaluation interval and validation target.
type Workload struct {
	// Name is the workload's name in the benchmark ("mnist_mlp").
	Name string
	// Description says what is trained, in one line.
	Description string
	// Source is the benchmark the workload comes from and how it differs.
	Source string
	// Data names the data set (datasets.Get), or is empty for a synthetic
	// problem; Model names the network (models.Get), or is empty.
	Data, Model string
	// BatchSize is the mini-batch size of every step.
	BatchSize int
	// Steps is the step budget of the external-tuning ruleset (self-tuning
	// gets SelfTuningBudget times as many, as AlgoPerf gives it 1.5× the
	// runtime).
	Steps int
	// EvalEvery is the number of steps between evaluations on the
	// validation split (untimed, as AlgoPerf's are).
	EvalEvery int
	// Metric and Target define when a run has reached the target.
	Metric Metric
	Target float64
	// TargetSource says how Target was obtained (see Targets).
	TargetSource *TargetRecord
	// FixedTarget marks a target published with the workload (AlgoPerf's
	// MNIST 0.97), which target setting leaves alone.
	FixedTarget bool

	build func(c *Data) (*problem, error)
}

// SelfTuningBudget is the factor by which the self-tuning ruleset's step
// budget exceeds the external-tuning one (AlgoPerf gives self-tuning
// submissions 1.5 times the maximum runtime).
const SelfTuningBudget = 1.5

// Budget returns the workload's step budget under the ruleset.
func (w Workload) Budget(r Ruleset) int {
	if r == SelfTuning {
		return int(math.Ceil(SelfTuningBudget * float64(w.Steps)))
	}
	return w.Steps
}

// workloadDefs returns the workloads without their targets, sorted by name.
func workloadDefs() []Workload {
	ws := []Workload{
		{Name: "quadratic_deep", Description: "100-d noisy quadratic ½(θ−x)ᵀH(θ−x), 90 eigenvalues of H in (0,1) and 10 in (30,60), randomly rotated; θ₀ = 1",
			Source:    "DeepOBS quadratic_deep (batch 128; DeepOBS's 100 epochs of 7 steps = 700 steps; drawn with optlab's own generator)",
			BatchSize: 128, Steps: 700, EvalEvery: 10, Metric: ValLoss,
			build: func(c *Data) (*problem, error) { return quadraticProblem(c), nil }},
		{Name: "mnist_logreg", Description: "multinomial logistic regression on MNIST, zero initial weights",
			Source: "DeepOBS mnist_logreg (batch 128; budget cut from 50 epochs to about 2.6)", Data: "mnist", Model: "logreg-deepobs",
			BatchSize: 128, Steps: 1000, EvalEvery: 50, Metric: ValAccuracy},
		{Name: "mnist_mlp", Description: "784-1000-500-100-10 ReLU MLP on MNIST",
			Source: "DeepOBS mnist_mlp (batch 128; budget cut from 100 epochs to about 2.6)", Data: "mnist", Model: "mlp-deepobs",
			BatchSize: 128, Steps: 1000, EvalEvery: 50, Metric: ValAccuracy},
		{Name: "mnist_algoperf", Description: "784-128-10 sigmoid MLP on standardised MNIST pixels",
			Source: "AlgoPerf's MNIST development workload (its validation target 0.97; batch 128; budget 10 epochs, AlgoPerf's step hint)", Data: "mnist", Model: "mlp-algoperf",
			BatchSize: 128, Steps: 3900, EvalEvery: 100, Metric: ValAccuracy, FixedTarget: true},
		{Name: "fmnist_2c2d", Description: "two 5×5 conv layers (32, 64 channels) with max pooling, dense 1024, on Fashion-MNIST",
			Source: "DeepOBS fmnist_2c2d (batch 128; budget cut from 100 epochs to about 1)", Data: "fashion-mnist", Model: "cnn-2c2d",
			BatchSize: 128, Steps: 400, EvalEvery: 100, Metric: ValAccuracy},
		{Name: "noisy_rosenbrock", Description: "Rosenbrock's function from (−1.5, 2) with centred N(0, 5²) gradient noise per term (1,000 terms)",
			Source:    "DeepOBS's noisy 2-D problems in kind (a fast sanity check); optlab's landscape.NoisyFunction",
			BatchSize: 10, Steps: 2000, EvalEvery: 20, Metric: ValLoss,
			build: func(*Data) (*problem, error) { return noisyFunctionProblem("rosenbrock") }},
		{Name: "noisy_beale", Description: "Beale's function from its default start with centred N(0, 5²) gradient noise per term (1,000 terms)",
			Source:    "DeepOBS noisy_beale in kind (a fast sanity check); optlab's landscape.NoisyFunction",
			BatchSize: 10, Steps: 2000, EvalEvery: 20, Metric: ValLoss,
			build: func(*Data) (*problem, error) { return noisyFunctionProblem("beale") }},
	}
	for i := range ws {
		if ws[i].build == nil {
			data, model := ws[i].Data, ws[i].Model
			ws[i].build = func(c *Data) (*problem, error) { return classification(c, data, model) }
		}
	}
	sort.Slice(ws, func(i, j int) bool { return ws[i].Name < ws[j].Name })
	return ws
}

// Workloads returns every workload with its committed target, sorted by name.
func Workloads() []Workload {
	ws := workloadDefs()
	targets := committedTargets()
	for i := range ws {
		if t, ok := targets.Targets[ws[i].Name]; ok {
			rec := t
			ws[i].Target, ws[i].TargetSource = t.Value, &rec
		}
	}
	return ws
}

// WorkloadNames returns the names of Workloads.
func WorkloadNames() []string {
	var names []string
	for _, w := range workloadDefs() {
		names = append(names, w.Name)
	}
	return names
}

// GetWorkload returns the workload with the given name, or an error listing
// the valid names.
func GetWorkload(name string) (Workload, error) {
	for _, w := range Workloads() {
		if w.Name == name {
			return w, nil
		}
	}
	return Workload{}, fmt.Errorf("unknown workload %q (valid: %s)", name, strings.Join(WorkloadNames(), ", "))
}

// TargetRecord is a workload's validation target with its provenance: how it
// was set, by which command, when and where, with which seeds.
type TargetRecord struct {
	Metric Metric  `json:"metric"`
	Value  float64 `json:"value"`
	// How says how the value was obtained, in a sentence.
	How string `json:"how"`
	// Command reproduces it; Date, Machine and Seeds say when, where and with
	// which training seeds it was run.
	Command string  `json:"command,omitempty"`
	Date    string  `json:"date,omitempty"`
	Machine string  `json:"machine,omitempty"`
	Seeds   []int64 `json:"seeds,omitempty"`
	// Baselines holds, per baseline optimizer family, the median over reruns
	// of the best validation metric and the configuration rerun.
	Baselines map[string]BaselineResult `json:"baselines,omitempty"`
}

// BaselineResult is one target-setting baseline on one workload.
type BaselineResult struct {
	Optimizer string  `json:"optimizer"` // the best configuration found by tuning, rerun
	Median    float64 `json:"median"`    // median over reruns of the best validation metric
	Reruns    int     `json:"reruns"`
	// Note explains a Median of 0: the median rerun diverged.
	Note string `json:"note,omitempty"`
}

// TargetTable is targets.json: every workload's target with its provenance.
type TargetTable struct {
	Note    string                  `json:"note"`
	Targets map[string]TargetRecord `json:"targets"`
}

//go:embed targets.json
var targetsJSON []byte

// parsedTargets is the embedded targets.json, parsed once (a malformed file
// is a build-time mistake caught by the tests; it reads as no targets).
var parsedTargets = sync.OnceValue(func() TargetTable {
	var t TargetTable
	if err := json.Unmarshal(targetsJSON, &t); err != nil || t.Targets == nil {
		return TargetTable{Targets: map[string]TargetRecord{}}
	}
	return t
})

// committedTargets returns a copy of the embedded target table.
func committedTargets() TargetTable {
	t := parsedTargets()
	out := TargetTable{Note: t.Note, Targets: make(map[string]TargetRecord, len(t.Targets))}
	for k, v := range t.Targets {
		out.Targets[k] = v
	}
	return out
}

// Targets returns the committed target table (targets.json).
func Targets() TargetTable { return committedTargets() }

// TargetText formats the workload's target as a condition, e.g.
// "val_accuracy ≥ 0.9261", or "none yet" when it has none.
func (w Workload) TargetText() string {
	if w.TargetSource == nil {
		return "none yet"
	}
	op := "≥"
	if w.Metric == ValLoss {
		op = "≤"
	}
	return fmt.Sprintf("%s %s %g", w.Metric, op, w.Target)
}

// Provenance says in a phrase where the workload's target comes from: the
// record's own sentence for a published target (AlgoPerf's MNIST), the best
// baseline of the committed target setting with the other baselines, the
// reruns and the date, or that there is none yet.
func (w Workload) Provenance() string {
	src := w.TargetSource
	switch {
	case src == nil:
		return "no target yet: 'optlab benchmark targets --workloads " + w.Name + "' sets one"
	case w.FixedTarget || len(src.Baselines) == 0:
		return src.How
	}
	names := make([]string, 0, len(src.Baselines))
	for name := range src.Baselines {
		names = append(names, name)
	}
	sort.Strings(names)
	best, reruns := "", 0
	for _, name := range names {
		b := src.Baselines[name]
		reruns = max(reruns, b.Reruns)
		if b.Note == "" && (best == "" || w.Metric.Better(b.Median, src.Baselines[best].Median)) {
			best = name
		}
	}
	tuned := "tuned baselines"
	if n := commandFlag(src.Command, "trials"); n != "" {
		tuned = "baselines tuned with " + n + " trials each"
	}
	return fmt.Sprintf("%s's median over %d reruns, the best of %d %s (%s); set %s",
		best, reruns, len(names), tuned, strings.Join(names, ", "), src.Date)
}

// commandFlag returns the value of --name in a command line ("" when absent).
func commandFlag(command, name string) string {
	f := strings.Fields(command)
	for i, a := range f {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
		if a == "--"+name && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}
