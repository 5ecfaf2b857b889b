package optimizers

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// popLoss is the test problem of the population tests, for one member's
// parameters w1 [2,3] and w2 [3] (or K members' stacked along axis 0, when
// the result is a [K] vector): a quadratic with a quartic term, so that the
// gradients change from step to step and reach every transform.
func popLoss(w1, w2 *Node, stacked bool) *Node {
	g := w1.Graph()
	a1 := Const(g, [][]float64{{1, 2, 0.5}, {3, 0.25, 1.5}})
	b1 := Const(g, [][]float64{{0.3, -0.2, 0.1}, {-0.4, 0.5, 0.05}})
	a2 := Const(g, []float64{0.7, 4, 1})
	if stacked {
		a1, b1, a2 = ExpandAxes(a1, 0), ExpandAxes(b1, 0), ExpandAxes(a2, 0)
	}
	term := func(w, a, b *Node) *Node {
		t := Add(Mul(Scalar(g, w.DType(), 0.5), Mul(a, Square(w))), Mul(Scalar(g, w.DType(), 0.1), Square(Square(w))))
		if b != nil {
			t = Add(t, Mul(b, w))
		}
		return t
	}
	if !stacked {
		return Add(ReduceAllSum(term(w1, a1, b1)), ReduceAllSum(term(w2, a2, nil)))
	}
	return Add(ReduceSum(term(w1, a1, b1), 1, 2), ReduceSum(term(w2, a2, nil), 1))
}

// memberStart returns member k's initial parameters.
func memberStart(k int) (w1 [][]float64, w2 []float64) {
	f := float64(k)
	return [][]float64{{1 + 0.1*f, -0.5, 0.3 - 0.2*f}, {-1.2, 0.8 + 0.05*f, 0.1}}, []float64{0.5, -0.3 * (1 + f), 1}
}

// sequentialRun runs steps updates of opt on member k's problem alone and
// returns w1 and w2 (flattened) after each step.
func sequentialRun(t *testing.T, backend compute.Backend, opt *Optimizer, k, steps int) [][]float64 {
	t.Helper()
	store := model.NewStore()
	a, b := memberStart(k)
	w1 := store.VariableWithValue("/model/w1", a)
	w2 := store.VariableWithValue("/model/w2", b)
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		loss := popLoss(w1.NodeValue(g), w2.NodeValue(g), false)
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for range steps {
		if _, err := exec.Call(); err != nil {
			t.Fatalf("%s member %d: %v", opt, k, err)
		}
		row := tensors.MustCopyFlatData[float64](w1.MustValue())
		out = append(out, append(row, tensors.MustCopyFlatData[float64](w2.MustValue())...))
	}
	return out
}

// populationRun runs steps population updates and returns each step's
// stacked parameters, per member: out[step][k] is member k's w1 and w2.
// active, when not nil, gives the members' active flags at each step.
func populationRun(t *testing.T, backend compute.Backend, p *Population, steps int, active func(step int) []bool) ([][][]float64, *model.Store, error) {
	t.Helper()
	K := p.Len()
	store := model.NewStore()
	var s1 [][][]float64
	var s2 [][]float64
	for k := range K {
		a, b := memberStart(k)
		s1, s2 = append(s1, a), append(s2, b)
	}
	w1 := store.VariableWithValue("/model/w1", s1)
	w2 := store.VariableWithValue("/model/w2", s2)
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, act *Node) *Node {
		g := act.Graph()
		losses := popLoss(w1.NodeValue(g), w2.NodeValue(g), true)
		p.UpdateGraph(scope, g, losses, act)
		return losses
	})
	if err != nil {
		return nil, nil, err
	}
	var out [][][]float64
	for step := range steps {
		act := make([]bool, K)
		for k := range act {
			act[k] = true
		}
		if active != nil {
			act = active(step)
		}
		if _, err := exec.Call(act); err != nil {
			return nil, nil, err
		}
		f1 := tensors.MustCopyFlatData[float64](w1.MustValue())
		f2 := tensors.MustCopyFlatData[float64](w2.MustValue())
		n1, n2 := len(f1)/K, len(f2)/K
		rows := make([][]float64, K)
		for k := range K {
			rows[k] = append(append([]float64(nil), f1[k*n1:(k+1)*n1]...), f2[k*n2:(k+1)*n2]...)
		}
		out = append(out, rows)
	}
	return out, store, nil
}

// variedMembers returns K copies of base whose numeric hyperparameters all
// differ (where the family's constraints allow: each key takes its default
// scaled up, scaled down, or small integers; zero defaults take 0 for the
// first member so that mixtures with "off" are covered).
func variedMembers(t *testing.T, base *Optimizer, K int) []*Optimizer {
	t.Helper()
	out := make([]*Optimizer, K)
	for k := range K {
		o := base
		for _, h := range base.Hyperparameters() {
			if h.Bool || k == 0 {
				continue
			}
			f := float64(k)
			var candidates []float64
			if h.Value == 0 {
				candidates = []float64{0.02 * f, f}
			} else {
				candidates = []float64{h.Value * (1 + 0.15*f), h.Value * (1 - 0.15*f), h.Value + f}
			}
			for _, v := range candidates {
				if n, err := o.With(h.Key, v); err == nil {
					o = n
					break
				}
			}
		}
		out[k] = o
	}
	return out
}

func maxRelDiff(a, b []float64) float64 {
	worst := 0.0
	for i := range a {
		d := math.Abs(a[i]-b[i]) / math.Max(1, math.Abs(b[i]))
		if d > worst || math.IsNaN(d) {
			worst = d
		}
	}
	return worst
}

// TestPopulationMatchesSequential runs every optimizer that can train as a
// population with three members whose hyperparameters all differ (and with
// different schedules, clipping thresholds), and checks that each member's
// trajectory is the one its own optimizer follows alone, in float64.
func TestPopulationMatchesSequential(t *testing.T) {
	backend := testBackend(t)
	const K, steps = 3, 6
	cosine := func(spec string) *Schedule {
		s, err := ParseSchedule(spec)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	type variant struct {
		name  string
		apply func(k int, o *Optimizer) *Optimizer
	}
	variants := []variant{
		{"plain", func(_ int, o *Optimizer) *Optimizer { return o }},
		{"schedules", func(k int, o *Optimizer) *Optimizer {
			switch k {
			case 1:
				return o.WithSchedule(cosine("cosine(steps=8,warmup=2)"))
			case 2:
				return o.WithSchedule(cosine("step(step_size=2,gamma=0.5)"))
			}
			return o
		}},
		{"skip_nonfinite", func(_ int, o *Optimizer) *Optimizer { return o.WithSkipNonFinite(true) }}, // per-member counters
		{"shared-schedule-and-clipping", func(k int, o *Optimizer) *Optimizer {
			o = o.WithSchedule(cosine("onecycle(steps=10)"))
			o, _ = o.With("clip_norm", 0.5+0.5*float64(k))
			o, _ = o.With("clip_value", 0.3+0.2*float64(k))
			return o
		}},
	}
	checked := 0
	alone := map[string]bool{"muon": true, "adafactor": true, "shampoo": true, "soap": true}
	type baseCase struct {
		name string
		base *Optimizer
	}
	var bases []baseCase
	for _, f := range families {
		base := exampleOf(f)
		if base == nil {
			t.Fatalf("%s: no example", f.name())
		}
		if _, err := NewPopulation(base); err != nil {
			if !alone[f.name()] && !isWrapper(f.config(false)) {
				t.Errorf("%s: %v", f.name(), err)
			}
			continue
		}
		if alone[f.name()] || isWrapper(f.config(false)) {
			t.Errorf("%s trains as a population: update the test", f.name())
		}
		bases = append(bases, baseCase{f.name(), base})
	}
	// The other forms and switches of the newer rules, whose branches the
	// defaults leave out.
	for _, spec := range []string{
		"adabelief(decoupled=true,weight_decay=0.01)", "adabelief(form=authors)", "yogi(bias_correction=true,initial_accumulator_value=1e-6)",
		"adan(form=authors)", "adan(no_prox=true)", "ademamix(alpha_warmup=3,b3_warmup=4)",
		"adopt(clip=true,decoupled=true,weight_decay=0.01,form=authors)", "prodigy(bias_correction=true,safeguard_warmup=true,growth=2)",
	} {
		bases = append(bases, baseCase{spec, MustParse(spec)})
	}
	for _, bc := range bases {
		base := bc.base
		for _, v := range variants {
			t.Run(bc.name+"/"+v.name, func(t *testing.T) {
				ms := variedMembers(t, base, K)
				for k := range ms {
					ms[k] = v.apply(k, ms[k])
				}
				p, err := NewPopulation(ms...)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := populationRun(t, backend, p, steps, nil)
				if err != nil {
					t.Fatal(err)
				}
				for k, o := range ms {
					want := sequentialRun(t, backend, o, k, steps)
					for step := range steps {
						if d := maxRelDiff(got[step][k], want[step]); d > 1e-12 {
							t.Fatalf("member %d (%s) step %d: population %v, alone %v (rel diff %.3g)", k, o, step+1, got[step][k], want[step], d)
						}
					}
				}
				if len(p.Varying()) == 0 {
					t.Errorf("the members do not differ: %v", ms)
				}
			})
			checked++
		}
	}
	if checked < 33*len(variants) {
		t.Errorf("only %d population cases ran", checked)
	}
}

// TestPopulationFreeze: a member whose active flag is false keeps its
// parameters and state; the others move on as if alone.
func TestPopulationFreeze(t *testing.T) {
	backend := testBackend(t)
	ms := []*Optimizer{MustParse("adam(lr=0.1)"), MustParse("adam(lr=0.05)"), MustParse("adam(lr=0.01)")}
	p, err := NewPopulation(ms...)
	if err != nil {
		t.Fatal(err)
	}
	const steps = 5
	got, store, err := populationRun(t, backend, p, steps, func(step int) []bool { return []bool{true, step < 2, true} })
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{0, 2} {
		want := sequentialRun(t, backend, ms[k], k, steps)
		if d := maxRelDiff(got[steps-1][k], want[steps-1]); d > 1e-12 {
			t.Errorf("member %d: %v, alone %v", k, got[steps-1][k], want[steps-1])
		}
	}
	want1 := sequentialRun(t, backend, ms[1], 1, 2)
	for step := 1; step < steps; step++ {
		if d := maxRelDiff(got[step][1], want1[1]); d > 0 {
			t.Errorf("frozen member moved at step %d: %v, frozen at %v", step+1, got[step][1], want1[1])
		}
	}
	// The members step in lockstep: one counter (the frozen member's writes
	// are masked, whatever its counter says).
	counts := tensors.MustCopyFlatData[int64](store.GetVariable(model.JoinPath(StateScope, "step")).MustValue())
	if fmt.Sprint(counts) != "[5]" {
		t.Errorf("step counter %v, want [5]", counts)
	}
}

// TestPopulationSkipNonFinite: with skip_nonfinite, a member whose gradient
// is not finite skips the step alone.
func TestPopulationSkipNonFinite(t *testing.T) {
	backend := testBackend(t)
	ms := []*Optimizer{MustParse("sgd(lr=0.1,skip_nonfinite=true)"), MustParse("sgd(lr=0.2,skip_nonfinite=true)")}
	p, err := NewPopulation(ms...)
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	w := store.VariableWithValue("/model/w", [][]float64{{1, 2}, {3, 4}})
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		wv := w.NodeValue(g)
		// Member 1's loss is log(w − 10): NaN, with NaN gradients.
		losses := Concatenate([]*Node{
			Reshape(ReduceAllSum(Square(Slice(wv, AxisElem(0)))), 1),
			Reshape(ReduceAllSum(Log(AddScalar(Slice(wv, AxisElem(1)), -10))), 1)}, 0)
		p.UpdateGraph(scope, g, losses, nil)
		return losses
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.Call(); err != nil {
		t.Fatal(err)
	}
	got := tensors.MustCopyFlatData[float64](w.MustValue())
	want := []float64{1 - 0.1*2, 2 - 0.1*4, 3, 4}
	if maxRelDiff(got, want) > 1e-15 {
		t.Errorf("after one step: %v, want %v", got, want)
	}
	// The skipped member's step counter stays: its next update is its first.
	counts := tensors.MustCopyFlatData[int64](store.GetVariable(model.JoinPath(StateScope, "step")).MustValue())
	if fmt.Sprint(counts) != "[1 0]" {
		t.Errorf("step counters %v, want [1 0]", counts)
	}
}

// TestNewPopulationErrors: members must share a structure, and every
// transform must be stackable; errors name what differs.
func TestNewPopulationErrors(t *testing.T) {
	heavy, _ := New("heavy", 0.1, TraceMomentum{Momentum: 0.9}, ScaleByLearningRate{})
	heavier, _ := New("heavy", 0.1, TraceMomentum{Momentum: 0.5}, ScaleByLearningRate{})
	for _, tc := range []struct {
		name    string
		members []*Optimizer
		want    string
	}{
		{"none", nil, "at least one member"},
		{"nil member", []*Optimizer{MustParse("sgd"), nil}, "member 1 has no optimizer"},
		{"families", []*Optimizer{MustParse("sgd"), MustParse("adam")}, "member 0 is sgd(nesterov=false), member 1 is adam("},
		{"booleans", []*Optimizer{MustParse("adam"), MustParse("adam(amsgrad=true)")}, "amsgrad=true"},
		{"clipping on and off", []*Optimizer{MustParse("adam(clip_norm=1)"), MustParse("adam")}, "clip_norm"},
		{"not stackable", []*Optimizer{MustParse("muon")}, "MuonUpdate does not support stacked members"},
		{"wrapper", []*Optimizer{MustParse("lookahead(base=adam)")}, "wrappers (lookahead, sam, cautious, ema) do not train as a population"},
		{"forms", []*Optimizer{MustParse("adabelief"), MustParse("adabelief(form=authors)")}, "form=authors"},
		{"custom transforms", []*Optimizer{heavy, heavier}, "equal transforms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPopulation(tc.members...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewPopulation(heavy, heavy.WithSchedule(nil)); err != nil {
		t.Errorf("equal custom optimizers: %v", err)
	}
}

// constMomentum reads its momentum as a constant: a transform that has not
// adopted Step.Hyper.
type constMomentum struct{ Momentum float64 }

func (constMomentum) Slots() int      { return 0 }
func (constMomentum) Stackable() bool { return true }
func (c constMomentum) Apply(s *Step, u []*Node) []*Node {
	return mapEach(u, func(_ int, x *Node) *Node { return Mul(s.Const(c.Momentum), x) })
}

// TestPopulationRefusesConstantReads: a varying hyperparameter that the
// update reads as a constant fails the build with an error naming it.
func TestPopulationRefusesConstantReads(t *testing.T) {
	backend := testBackend(t)
	a, b := MustParse("sgd(momentum=0.9)"), MustParse("sgd(momentum=0.5)")
	for _, o := range []*Optimizer{a, b} {
		o.body = []Transform{constMomentum{o.cfg.(*SGDConfig).Momentum}, ScaleByLearningRate{}}
	}
	p, err := NewPopulation(a, b)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = populationRun(t, backend, p, 1, nil)
	if err == nil || !strings.Contains(err.Error(), "momentum differs between members but the sgd update reads it as a constant") {
		t.Fatalf("got %v", err)
	}
}

// TestPopulationLearningRates reads and changes the members' base rates.
func TestPopulationLearningRates(t *testing.T) {
	backend := testBackend(t)
	p, err := NewPopulation(MustParse("sgd(lr=0.1)"), MustParse("sgd(lr=0.2)"))
	if err != nil {
		t.Fatal(err)
	}
	_, store, err := populationRun(t, backend, p, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	lrs, ok := p.BaseLearningRates(store)
	if !ok || fmt.Sprint(lrs) != "[0.1 0.2]" {
		t.Fatalf("BaseLearningRates = %v, %v", lrs, ok)
	}
	if err := p.SetBaseLearningRates(store, []float64{0.05, 0.2}); err != nil {
		t.Fatal(err)
	}
	if lrs, _ := p.BaseLearningRates(store); fmt.Sprint(lrs) != "[0.05 0.2]" {
		t.Errorf("after SetBaseLearningRates: %v", lrs)
	}
	for _, bad := range [][]float64{{0.1}, {0.1, -1}, {math.Inf(1), 0.1}} {
		if err := p.SetBaseLearningRates(store, bad); err == nil {
			t.Errorf("SetBaseLearningRates(%v) accepted", bad)
		}
	}
}
