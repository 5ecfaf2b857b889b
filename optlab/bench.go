package optlab

import (
	"bufio"
	stdctx "context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// TrainBenchmark is the measured throughput of training steps of one model,
// optimizer and batch size, taken through the same code path as Train.
type TrainBenchmark struct {
	Model     string `json:"model"`
	Optimizer string `json:"optimizer"`
	Backend   string `json:"backend"`
	BatchSize int    `json:"batch_size"`
	// Steps is the number of timed steps (the first epoch, which holds the
	// compilation, is not timed).
	Steps int `json:"steps"`
	// FirstStepSeconds is the time from the start of the run to the end of the
	// first training step: graph building, compilation and one execution.
	FirstStepSeconds float64 `json:"first_step_seconds"`
	// Seconds is the wall time of the timed steps.
	Seconds float64 `json:"seconds"`
	// CPUSeconds is the process' user+system CPU time over the timed epochs
	// (including their small evaluation pass): on a busy machine the ratio
	// Seconds/CPUSeconds shows how much of the machine the run got.
	CPUSeconds float64 `json:"cpu_seconds"`
	// SamplesPerSec is BatchSize·Steps/Seconds.
	SamplesPerSec float64 `json:"samples_per_sec"`
	Params        int64   `json:"params"`
	// PeakRSSBytes is the peak resident memory of the process while the
	// benchmark ran (Linux: VmHWM after resetting it; elsewhere the process'
	// lifetime peak), 0 if unknown.
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
}

// BenchTraining times training steps of model with optimizer on the first
// steps·batch examples of ds. It trains through Network.Fit for 1+epochs
// epochs of steps steps each; the first epoch (compilation, warm-up) is not
// timed, the others are, and their throughput is reported. Evaluation between
// epochs runs on a single batch and is not part of the timed steps.
func BenchTraining(backend backends.Backend, ds *models.Dataset, model, optimizer string, batch, steps, epochs int, seed int64, opts *models.Options) (*TrainBenchmark, error) {
	if ds == nil {
		return nil, errors.New("bench: no data set")
	}
	if batch < 1 {
		return nil, fmt.Errorf("bench: batch size must be ≥ 1, got %d", batch)
	}
	if steps < 1 {
		return nil, fmt.Errorf("bench: steps must be ≥ 1, got %d", steps)
	}
	if epochs < 1 {
		return nil, fmt.Errorf("bench: timed epochs must be ≥ 1, got %d", epochs)
	}
	if need := batch * steps; need > ds.Len() {
		return nil, fmt.Errorf("bench: %d steps of batch %d need %d examples, the data set has %d", steps, batch, need, ds.Len())
	}
	train := ds.Slice(ds.Name, 0, batch*steps)
	data := &Data{Train: train, Val: ds.Slice(ds.Name, 0, batch), ValSplit: "validation"}
	net, err := NewNetwork(backend, model, seed, opts)
	if err != nil {
		return nil, err
	}
	resetPeakRSS()
	var cpu []float64
	h, err := net.Fit(stdctx.Background(), data, Config{
		Model: model, Optimizer: optimizer, Epochs: 1 + epochs, BatchSize: batch, Seed: seed,
		EvalBatchSize: batch,
		OnEpoch:       func(*History) { cpu = append(cpu, cpuSeconds()) },
	})
	if err != nil {
		return nil, fmt.Errorf("bench %s with %s at batch %d: %w", model, optimizer, batch, err)
	}
	r := &TrainBenchmark{
		Model: model, Optimizer: h.Optimizer, Backend: h.Backend, BatchSize: batch,
		Steps: steps * epochs, FirstStepSeconds: h.CompileSeconds, Params: h.Params,
		PeakRSSBytes: peakRSS(),
	}
	for _, e := range h.Epochs[1:] {
		r.Seconds += e.Seconds
	}
	if len(cpu) == len(h.Epochs) {
		r.CPUSeconds = cpu[len(cpu)-1] - cpu[0]
	}
	r.SamplesPerSec = float64(batch*r.Steps) / r.Seconds
	return r, nil
}

// UpdateBenchmark is the measured cost of an optimizer's update alone, on a
// flat vector of parameters with a fixed gradient.
type UpdateBenchmark struct {
	Optimizer string `json:"optimizer"`
	Backend   string `json:"backend"`
	Params    int64  `json:"params"`
	Steps     int    `json:"steps"`
	// FirstStepSeconds covers graph building, compilation, state creation and
	// the first update.
	FirstStepSeconds float64 `json:"first_step_seconds"`
	// SecondsPerStep is the mean wall time of one timed update.
	SecondsPerStep float64 `json:"seconds_per_step"`
	ParamsPerSec   float64 `json:"params_per_sec"`
	// TrafficBytesPerStep is the memory traffic the rule needs at the least:
	// read parameter, gradient and every state slot, write parameter and every
	// state slot, 4 bytes each (float32).
	TrafficBytesPerStep int64 `json:"traffic_bytes_per_step"`
	// BytesPerSec is TrafficBytesPerStep/SecondsPerStep: the effective bandwidth.
	BytesPerSec float64 `json:"bytes_per_sec"`
	// StateBytes is the optimizer state the optimizer reports (StateBytes), and
	// MeasuredStateBytes the bytes of the state variables that exist after the
	// first step (their shapes).
	StateBytes         int64 `json:"state_bytes"`
	MeasuredStateBytes int64 `json:"measured_state_bytes"`
	// RSSGrowthBytes is the growth of resident memory across the first update
	// (after garbage collection on both sides): on the pure-Go backend, where
	// buffers live in the Go heap, it should match StateBytes.
	RSSGrowthBytes int64 `json:"rss_growth_bytes"`
	PeakRSSBytes   int64 `json:"peak_rss_bytes"`
}

// BenchUpdate times steps updates of the optimizer given by spec on params
// float32 parameters held in one variable, with a constant gradient kept on
// the device (so no host transfer is timed).
func BenchUpdate(backend backends.Backend, spec string, params int64, steps int) (*UpdateBenchmark, error) {
	if params < 1 {
		return nil, fmt.Errorf("bench update: parameter count must be ≥ 1, got %d", params)
	}
	if steps < 1 {
		return nil, fmt.Errorf("bench update: steps must be ≥ 1, got %d", steps)
	}
	opt, err := optimizers.Parse(spec)
	if err != nil {
		return nil, fmt.Errorf("bench update: %w", err)
	}
	n := int(params)
	p := make([]float32, n)
	g := make([]float32, n)
	for i := range p {
		p[i] = float32(i%1000) * 1e-3
		g[i] = float32(i%7-3) * 1e-2
	}
	ctx := context.New().Checked(false)
	pVar := ctx.In("model").VariableWithValue("params", tensors.FromFlatDataAndDimensions(p, n))
	gVar := ctx.In("bench").VariableWithValue("grad", tensors.FromFlatDataAndDimensions(g, n)).SetTrainable(false)
	p, g = nil, nil

	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, gr *Graph) *Node {
		param := pVar.ValueGraph(gr)
		opt.UpdateGraphWithGradients(ctx, []*Node{gVar.ValueGraph(gr)}, dtypes.Float32)
		return ReduceAllSum(Slice(param, AxisRange(0, 1)))
	})
	if err != nil {
		return nil, fmt.Errorf("bench update: building the graph: %w", err)
	}
	before := settledRSS()
	resetPeakRSS()
	start := time.Now()
	if _, err := execSafely(exec); err != nil {
		return nil, fmt.Errorf("bench update: first step: %w", err)
	}
	first := time.Since(start)
	growth := settledRSS() - before

	start = time.Now()
	for range steps {
		if _, err := execSafely(exec); err != nil {
			return nil, fmt.Errorf("bench update: %w", err)
		}
	}
	secs := time.Since(start).Seconds() / float64(steps)
	traffic := int64(4) * params * int64(3+2*opt.StateSlots())
	return &UpdateBenchmark{
		Optimizer: opt.String(), Backend: backend.Name(), Params: params, Steps: steps,
		FirstStepSeconds: first.Seconds(), SecondsPerStep: secs,
		ParamsPerSec: float64(params) / secs, TrafficBytesPerStep: traffic,
		BytesPerSec: float64(traffic) / secs,
		StateBytes:  opt.StateBytes(params, 4), MeasuredStateBytes: optimizers.MeasureStateBytes(ctx),
		RSSGrowthBytes: growth, PeakRSSBytes: peakRSS(),
	}, nil
}

// cpuSeconds returns the process' user+system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// resetPeakRSS resets the kernel's peak resident set size of this process
// (Linux ≥ 4.0); elsewhere it does nothing and peakRSS reports the lifetime peak.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS returns the peak resident set size in bytes: VmHWM from
// /proc/self/status, or getrusage's maxrss where /proc is missing.
func peakRSS() int64 {
	if v := procStatusKB("VmHWM:"); v > 0 {
		return v * 1024
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024 // Linux reports kilobytes
}

// settledRSS collects garbage, returns freed memory to the operating system
// and returns the resident set size in bytes (0 if unknown).
func settledRSS() int64 {
	runtime.GC()
	runtime.GC() // a second cycle empties the sync.Pools of reusable buffers
	debug.FreeOSMemory()
	return procStatusKB("VmRSS:") * 1024
}

// procStatusKB reads one "Key: N kB" line of /proc/self/status.
func procStatusKB(key string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), key); ok {
			fields := strings.Fields(rest)
			if len(fields) > 0 {
				v, _ := strconv.ParseInt(fields[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
