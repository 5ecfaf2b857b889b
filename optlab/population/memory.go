package population

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/sysmem"
	"optlab.dev/optlab"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/plots"
)

// Memory is the estimated memory of a population run.
type Memory struct {
	Members int
	// Params is one member's number of trainable scalars.
	Params int64
	// ParamBytes, StateBytes and ActivationBytes are one member's weights (and
	// their gradients), its largest optimizer state and the values of one
	// training step or evaluation batch, whichever is larger. Activations are
	// counted as every intermediate value of the step's graph kept at once: an
	// upper bound, since backends free and reuse buffers as they go.
	ParamBytes, StateBytes, ActivationBytes int64
	// InputBytes is one step's batch of every member.
	InputBytes int64
	// Total is Members × (ParamBytes + StateBytes + ActivationBytes) + InputBytes.
	Total int64
}

// String reads, for example, "16 × (873 kB weights and gradients + 873 kB
// optimizer state + 2.2 MB activations) + 1.6 MB of inputs = 62 MB".
func (m Memory) String() string {
	b := func(v int64) string { return plots.FormatBytes(float64(v)) }
	return fmt.Sprintf("%d × (%s weights and gradients + %s optimizer state + %s activations) + %s of inputs = %s",
		m.Members, b(m.ParamBytes), b(m.StateBytes), b(m.ActivationBytes), b(m.InputBytes), b(m.Total))
}

// Estimate returns the memory a population of cfgs needs on examples of width
// features, without training: it builds one member's training step (at the
// batch size) and evaluation step (at the evaluation batch size) on a private
// pure-Go backend and measures their variables and intermediate values.
func Estimate(cfgs []optlab.Config, width int) (Memory, error) {
	p, err := newPlan(cfgs)
	if err != nil {
		return Memory{}, err
	}
	return p.estimate(width)
}

func (p *plan) estimate(width int) (Memory, error) {
	if width < 1 {
		return Memory{}, fmt.Errorf("population: estimate: width must be ≥ 1, got %d", width)
	}
	backend, err := optlab.NewBackend("go")
	if err != nil {
		return Memory{}, err
	}
	defer backend.Finalize()
	K := len(p.cfgs)
	batch := p.cfgs[0].BatchSize
	one := p.mopts
	one.Members = 1
	store := model.NewStore()
	if err := models.SeedMembers(store, []int64{0}); err != nil {
		return Memory{}, err
	}
	graphBytes := func(training bool, b int) (int64, error) {
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node {
			g := x.Graph()
			store.SetTraining(g, training)
			logits := p.model.Build(scope.In("model"), x, one)
			if !training {
				return []*Node{logits}
			}
			ce, _ := optlab.CrossEntropy(logits, y)
			return scope.BuildTrainableVariablesGradientsGraph(ReduceAllSum(ce))
		})
		if err != nil {
			return 0, err
		}
		g, err := exec.Compile(shapes.Make(dtypes.Float32, 1, b, width), shapes.Make(dtypes.Int32, 1, b))
		if err != nil {
			return 0, fmt.Errorf("population: estimating the memory of %s: %w", p.model.Name, err)
		}
		var n int64
		for _, node := range g.Nodes() {
			if node.NumOutputs() == 1 {
				n += int64(node.Shape().ByteSize())
			}
		}
		return n, nil
	}
	train, err := graphBytes(true, batch)
	if err != nil {
		return Memory{}, err
	}
	eval, err := graphBytes(false, p.evalBatch)
	if err != nil {
		return Memory{}, err
	}
	m := Memory{Members: K, Params: memberParams(store, 1), ActivationBytes: max(train, eval)}
	m.ParamBytes = 2 * 4 * m.Params
	for _, o := range p.opts {
		m.StateBytes = max(m.StateBytes, o.StateBytesFor(memberShapes(store, 1)...))
	}
	m.InputBytes = int64(K) * int64(batch) * int64(width+1) * 4
	m.Total = int64(K)*(m.ParamBytes+m.StateBytes+m.ActivationBytes) + m.InputBytes
	return m, nil
}

// checkMemory estimates the population's memory and compares it with the
// limit (see Options.MemoryLimit).
func checkMemory(backend compute.Backend, p *plan, width int, limit int64) error {
	source := "--memory-limit"
	if limit < 0 {
		return nil
	}
	if limit == 0 {
		if !optlab.IsPureGo(backend) && !strings.Contains(strings.ToLower(backend.Description()), "cpu") {
			return nil
		}
		avail, err := memAvailable()
		if err != nil {
			return nil // not Linux: nothing to compare with
		}
		limit, source = avail, "available (MemAvailable)"
		if cg := sysmem.Limit(); cg > 0 && cg < uint64(limit) {
			limit, source = int64(cg), "this process may use (its control group's limit)"
		}
	}
	m, err := p.estimate(width)
	if err != nil {
		return err
	}
	if m.Total > limit {
		return fmt.Errorf("population of %d members needs about %s (%s), more than the %s %s: use fewer members or a smaller batch",
			m.Members, plots.FormatBytes(float64(m.Total)), m, plots.FormatBytes(float64(limit)), source)
	}
	return nil
}

// memAvailable reads MemAvailable from /proc/meminfo, in bytes.
func memAvailable() (int64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "MemAvailable:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			kb, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: MemAvailable %q: %w", fields[0], err)
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo: no MemAvailable line")
}
