package bench

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

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// TrainResult is the measured throughput of training steps of one model,
// optimizer and batch size, taken through the same code path as optlab.Train.
type TrainResult struct {
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

// Training times training steps of model with opt on the first steps·batch
// examples of ds. It trains through optlab.Network.Fit for 1+epochs epochs of
// steps steps each; the first epoch (compilation, warm-up) is not timed, the
// others are, and their throughput is reported. Evaluation between epochs runs
// on a single batch and is not part of the timed steps.
func Training(backend compute.Backend, ds *datasets.Dataset, model string, opt *optimizers.Optimizer, batch, steps, epochs int, seed int64, opts *models.Options) (*TrainResult, error) {
	if ds == nil {
		return nil, errors.New("bench: no data set")
	}
	if opt == nil {
		return nil, errors.New("bench: no optimizer given")
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
	data := &optlab.Data{Train: train, Val: ds.Slice(ds.Name, 0, batch), ValSplit: "validation"}
	net, err := optlab.NewNetwork(backend, model, seed, opts)
	if err != nil {
		return nil, err
	}
	resetPeakRSS()
	var cpu []float64
	h, err := net.Fit(stdctx.Background(), data, optlab.Config{
		Model: model, Optimizer: opt, Epochs: 1 + epochs, BatchSize: batch, Seed: seed,
		EvalBatchSize: batch,
		OnEpoch:       func(*optlab.History) { cpu = append(cpu, cpuSeconds()) },
	})
	if err != nil {
		return nil, fmt.Errorf("bench %s with %s at batch %d: %w", model, opt, batch, err)
	}
	r := &TrainResult{
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

// UpdateResult is the measured cost of an optimizer's update alone, on one
// variable of parameters (a flat vector, or a matrix of Shape) with a fixed
// gradient.
type UpdateResult struct {
	Optimizer string `json:"optimizer"`
	Backend   string `json:"backend"`
	Params    int64  `json:"params"`
	// Shape is the variable's shape (one dimension, Params, for a flat vector).
	Shape []int `json:"shape"`
	Steps int   `json:"steps"`
	// FirstStepSeconds covers graph building, compilation, state creation and
	// the first update.
	FirstStepSeconds float64 `json:"first_step_seconds"`
	// SecondsPerStep is the mean wall time of one timed update.
	SecondsPerStep float64 `json:"seconds_per_step"`
	ParamsPerSec   float64 `json:"params_per_sec"`
	// TrafficBytesPerStep is the memory traffic the rule needs at the least:
	// read parameter, gradient and all its state, write parameter and all its
	// state, 4 bytes a float32; an optimizer that takes a second gradient
	// (sam) also reads parameter and gradient to write the perturbed point
	// and reads the second gradient.
	TrafficBytesPerStep int64 `json:"traffic_bytes_per_step"`
	// BytesPerSec is TrafficBytesPerStep/SecondsPerStep: the effective bandwidth.
	BytesPerSec float64 `json:"bytes_per_sec"`
	// StateBytes is the optimizer state the optimizer reports for the
	// variable (StateBytesFor its shape), and MeasuredStateBytes the bytes of
	// the state variables that exist after the first step (their shapes; it
	// also counts scalar state such as the step counter).
	StateBytes         int64 `json:"state_bytes"`
	MeasuredStateBytes int64 `json:"measured_state_bytes"`
	// RSSGrowthBytes is the growth of resident memory across the first update
	// (after garbage collection on both sides): on the pure-Go backend, where
	// buffers live in the Go heap, it should match StateBytes.
	RSSGrowthBytes int64 `json:"rss_growth_bytes"`
	PeakRSSBytes   int64 `json:"peak_rss_bytes"`
}

// Update times steps updates of opt on params float32 parameters held in one
// variable, with a constant gradient kept on the device (so no host transfer is
// timed). An optimizer that needs a second gradient per step (sam) is driven
// by the loss Σ g·p + 0.005‖p‖², whose gradient g + 0.01p depends on the
// parameters, so that both gradients and the perturbation are timed.
func Update(backend compute.Backend, opt *optimizers.Optimizer, params int64, steps int) (*UpdateResult, error) {
	if params < 1 {
		return nil, fmt.Errorf("bench update: parameter count must be ≥ 1, got %d", params)
	}
	return UpdateShaped(backend, opt, []int{int(params)}, steps)
}

// UpdateShaped is Update on one float32 variable of the given shape: rules
// that precondition matrices (shampoo, soap) keep state that depends on the
// shape, and a flat vector is their worst case (shampoo: full-matrix
// statistics per block).
func UpdateShaped(backend compute.Backend, opt *optimizers.Optimizer, dims []int, steps int) (*UpdateResult, error) {
	params := int64(1)
	if len(dims) == 0 {
		return nil, errors.New("bench update: empty shape")
	}
	for _, d := range dims {
		if d < 1 {
			return nil, fmt.Errorf("bench update: shape %v: every dimension must be ≥ 1", dims)
		}
		if params > 1e10/int64(d) {
			return nil, fmt.Errorf("bench update: shape %v has more than 1e10 parameters", dims)
		}
		params *= int64(d)
	}
	if steps < 1 {
		return nil, fmt.Errorf("bench update: steps must be ≥ 1, got %d", steps)
	}
	if opt == nil {
		return nil, errors.New("bench update: no optimizer given")
	}
	n := int(params)
	p := make([]float32, n)
	g := make([]float32, n)
	for i := range p {
		p[i] = float32(i%1000) * 1e-3
		g[i] = float32(i%7-3) * 1e-2
	}
	store := model.NewStore()
	pVar := store.VariableWithValue("/model/params", tensors.FromFlatDataAndDimensions(p, dims...))
	gVar := store.VariableWithValue("/bench/grad", tensors.FromFlatDataAndDimensions(g, dims...)).SetTrainable(false)
	p, g = nil, nil

	exec, err := model.NewExec(backend, store, func(scope *model.Scope, gr *Graph) *Node {
		param := pVar.NodeValue(gr)
		if opt.GradientsPerStep() > 1 {
			opt.UpdateGraphWithLossFunc(scope, gr, func() *Node {
				x := pVar.NodeValue(gr)
				return Add(ReduceAllSum(Mul(gVar.NodeValue(gr), x)), MulScalar(ReduceAllSum(Square(x)), 0.005))
			})
		} else {
			opt.UpdateGraphWithGradients(scope, []*Node{gVar.NodeValue(gr)}, dtypes.Float32)
		}
		return ReduceAllSum(Slice(Reshape(param, -1), AxisRange(0, 1)))
	})
	if err != nil {
		return nil, fmt.Errorf("bench update: building the graph: %w", err)
	}
	before := settledRSS()
	resetPeakRSS()
	start := time.Now()
	if _, err := graphexec.Call(exec); err != nil {
		return nil, fmt.Errorf("bench update: first step: %w", err)
	}
	first := time.Since(start)
	growth := settledRSS() - before

	start = time.Now()
	for range steps {
		if _, err := graphexec.Call(exec); err != nil {
			return nil, fmt.Errorf("bench update: %w", err)
		}
	}
	secs := time.Since(start).Seconds() / float64(steps)
	state := opt.StateBytesFor(shapes.Make(dtypes.Float32, dims...))
	traffic := 4*params*int64(3+4*(opt.GradientsPerStep()-1)) + 2*state
	return &UpdateResult{
		Optimizer: opt.String(), Backend: backend.Name(), Params: params, Shape: append([]int(nil), dims...), Steps: steps,
		FirstStepSeconds: first.Seconds(), SecondsPerStep: secs,
		ParamsPerSec: float64(params) / secs, TrafficBytesPerStep: traffic,
		BytesPerSec: float64(traffic) / secs,
		StateBytes:  state, MeasuredStateBytes: optimizers.MeasureStateBytes(store),
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
