package optimizers

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train"
	"github.com/gomlx/gomlx/ml/train/loss"
)

var (
	testQuad3 = problemDesc{Name: "quad3", Type: "quadratic", A: []float64{1, 4, 0.5}, B: []float64{0.3, -0.2, 0.1}, W0: []float64{1.5, -1, 2}}
	testRosen = problemDesc{Name: "rosenbrock", Type: "rosenbrock", W0: []float64{-1.2, 1}}
)

// sameTrajectory reports where two trajectories differ by a single bit, or "".
func sameTrajectory(a, b [][]float64) string {
	for k := range a {
		for i := range a[k] {
			if a[k][i] != b[k][i] && !(math.IsNaN(a[k][i]) && math.IsNaN(b[k][i])) {
				return "step " + formatFloat(float64(k)) + ": " + formatFloat(a[k][i]) + " vs " + formatFloat(b[k][i])
			}
		}
	}
	return ""
}

// TestLookaheadK1Alpha1IsBase checks that lookahead with k = 1 and α = 1, and
// sam with ρ = 0, reproduce their base bit for bit, for SGD with momentum,
// Adam and Lion, on a quadratic and on Rosenbrock's function.
func TestLookaheadK1Alpha1IsBase(t *testing.T) {
	backend := testBackend(t)
	for _, base := range []string{"sgd(lr=0.0005,momentum=0.9)", "adam(lr=0.05)", "lion(lr=0.01,weight_decay=0.1)",
		"adamw(lr=0.02,schedule=cosine(steps=30),clip_norm=5)"} {
		for _, p := range []problemDesc{testQuad3, testRosen} {
			want := runTrajectory(t, backend, MustParse(base), p.graph(), p.W0, 30)
			for _, spec := range []string{"lookahead(base=" + base + ",k=1,alpha=1)", "sam(base=" + base + ",rho=0)"} {
				got := runTrajectory(t, backend, MustParse(spec), p.graph(), p.W0, 30)
				if d := sameTrajectory(got, want); d != "" {
					t.Errorf("%s on %s differs from its base: %s", spec, p.Name, d)
				}
			}
		}
	}
	// With α < 1 it does differ (the check above is not vacuous).
	got := runTrajectory(t, backend, MustParse("lookahead(base=adam(lr=0.05),k=2,alpha=0.5)"), testQuad3.graph(), testQuad3.W0, 5)
	want := runTrajectory(t, backend, MustParse("adam(lr=0.05)"), testQuad3.graph(), testQuad3.W0, 5)
	if sameTrajectory(got, want) == "" {
		t.Errorf("lookahead(k=2, α=0.5) equals its base")
	}
}

// TestSAMNeedsTwoGradients checks that sam asks for two gradients and that
// the single-gradient entry points refuse it with a message saying what to
// call (UpdateGraph, UpdateGraphWithGradients).
func TestSAMNeedsTwoGradients(t *testing.T) {
	for spec, want := range map[string]int{"sam(base=adam)": 2, "ema(base=sam(base=sgd))": 2, "adam": 1, "lookahead(base=sgd)": 1} {
		if got := MustParse(spec).GradientsPerStep(); got != want {
			t.Errorf("%s: GradientsPerStep() = %d, want %d", spec, got, want)
		}
	}
	backend := testBackend(t)
	opt := MustParse("sam(base=adam(lr=1e-3))")
	store := model.NewStore()
	w := store.VariableWithValue("/w", []float64{1, 2})
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) {
		opt.UpdateGraph(scope, g, ReduceAllSum(Square(w.NodeValue(g))))
	})
	if err == nil {
		_, err = exec.Call()
	}
	if err == nil || !strings.Contains(err.Error(), "UpdateGraphWithLossFunc") {
		t.Errorf("sam through UpdateGraph: error %v, want one naming UpdateGraphWithLossFunc", err)
	}
	exec2, err := model.NewExec(backend, model.NewStore(), func(scope *model.Scope, g *Graph) {
		p := scope.VariableWithValue("p", []float32{1, 2}).NodeValue(g)
		opt.UpdateGraphWithGradients(scope, []*Node{MulScalar(p, 0.01)}, dtypes.Float32)
	})
	if err == nil {
		_, err = exec2.Call()
	}
	if err == nil || !strings.Contains(err.Error(), "second") {
		t.Errorf("sam through UpdateGraphWithGradients: error %v, want one about the second gradient", err)
	}
}

// TestSAMTrainsTwoVariables drives sam the way a runner does, with a loss
// function over two variables (a float32 kernel and bias), around SGD and
// Adam, and checks that the loss falls, that the non-trainable variables the
// loss function writes keep their first-pass values, and that the reported
// loss is the first pass's.
func TestSAMTrainsTwoVariables(t *testing.T) {
	backend := testBackend(t)
	x := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}, {1, -1, 0}}
	y := []float32{1.5, -1.5, 1, 1.5, 3.5}
	for _, spec := range []string{"sam(base=sgd(lr=0.1,momentum=0.5),rho=0.05)", "sam(base=adam(lr=0.05),rho=0.1,adaptive=true)"} {
		opt := MustParse(spec)
		store := model.NewStore()
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) (loss, calls *Node) {
			counter := scope.WithInitializer(initializer.Zero).VariableWithShape("calls", shapes.Make(dtypes.Float32)).SetTrainable(false)
			lossFn := func() *Node {
				w := scope.WithInitializer(initializer.Zero).VariableWithShape("w", shapes.Make(dtypes.Float32, 3)).NodeValue(g)
				b := scope.WithInitializer(initializer.Zero).VariableWithShape("b", shapes.Make(dtypes.Float32)).NodeValue(g)
				pred := Add(ReduceSum(Mul(Const(g, x), ExpandAxes(w, 0)), 1), b)
				c := counter.NodeValue(g)
				counter.SetNodeValue(OnePlus(c)) // each pass adds 1: the first pass's value must win
				return ReduceAllMean(Square(Sub(pred, Const(g, y))))
			}
			loss = opt.UpdateGraphWithLossFunc(scope, g, lossFn)
			return loss, counter.NodeValue(g)
		})
		if err != nil {
			t.Fatal(err)
		}
		var first, last float64
		for k := 0; k < 300; k++ {
			out, err := exec.Call()
			if err != nil {
				t.Fatalf("%s step %d: %v", spec, k, err)
			}
			last = float64(tensors.ToScalar[float32](out[0]))
			if k == 0 {
				first = last
			}
		}
		if !(last < 0.05*first) {
			t.Errorf("%s: loss went from %g to %g", spec, first, last)
		}
		calls := store.GetVariable("/calls")
		if c := tensors.ToScalar[float32](calls.MustValue()); c != 300 {
			t.Errorf("%s: the non-trainable counter reads %g after 300 steps, want 300 (first pass kept)", spec, c)
		}
	}
}

// TestWrapperValues checks String, Hyperparameters, Get and With of wrappers.
func TestWrapperValues(t *testing.T) {
	la := MustParse("lookahead(base=adam(lr=0.01,schedule=cosine(steps=100),clip_norm=1),k=3)")
	if want := "lookahead(base=adam(lr=0.01,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false,schedule=cosine(steps=100,warmup=0,min_lr=0),clip_norm=1),k=3,alpha=0.5)"; la.String() != want {
		t.Errorf("String() = %s\nwant %s", la, want)
	}
	if la.Family() != "lookahead" || la.Base().Family() != "adam" || la.LearningRate() != 0.01 || la.Schedule() == nil {
		t.Errorf("family %s base %v lr %g schedule %v", la.Family(), la.Base(), la.LearningRate(), la.Schedule())
	}
	var keys []string
	for _, h := range la.Hyperparameters() {
		keys = append(keys, h.Key)
	}
	if got := strings.Join(keys, ","); got != "base.lr,base.b1,base.b2,base.eps,base.weight_decay,base.amsgrad,base.bias_correction,base.keras,k,alpha" {
		t.Errorf("Hyperparameters: %s", got)
	}
	for key, want := range map[string]float64{"lr": 0.01, "base.lr": 0.01, "k": 3, "alpha": 0.5, "clip_norm": 1, "b2": 0.999} {
		if got, ok := la.Get(key); !ok || got != want {
			t.Errorf("Get(%q) = %g, %v; want %g", key, got, ok, want)
		}
	}
	la2, err := la.With("lr", 0.1)
	if err != nil || la2.LearningRate() != 0.1 || !strings.HasPrefix(la2.String(), "lookahead(base=adam(lr=0.1,") || !strings.HasSuffix(la2.String(), ",k=3,alpha=0.5)") {
		t.Errorf("With(lr) = %v, %v", la2, err)
	}
	if la3, err := la.With("k", 7); err != nil || !strings.HasSuffix(la3.String(), ",k=7,alpha=0.5)") {
		t.Errorf("With(k) = %v, %v", la3, err)
	}
	if _, err := la.With("k", 0); err == nil {
		t.Errorf("With(k, 0): no error")
	}
	if _, err := la.With("nonsense", 1); err == nil || !strings.Contains(err.Error(), "base.KEY") {
		t.Errorf("With(nonsense) = %v", err)
	}
	// cautious has eps of its own: eps is cautious's, base.eps the base's.
	c := MustParse("cautious(base=adam(eps=1e-6),eps=0.001)")
	if v, _ := c.Get("eps"); v != 0.001 {
		t.Errorf("cautious Get(eps) = %g", v)
	}
	if v, _ := c.Get("base.eps"); v != 1e-6 {
		t.Errorf("cautious Get(base.eps) = %g", v)
	}
	c2, err := c.With("base.eps", 1e-7)
	if err != nil || !strings.Contains(c2.String(), "eps=1e-07") || !strings.HasSuffix(c2.String(), ",eps=0.001)") {
		t.Errorf("With(base.eps) = %v, %v", c2, err)
	}
	// Options reach the base.
	e := MustParse("ema(base=sgd)").WithSkipNonFinite(true).WithSchedule(MustParseSchedule("cosine(steps=10)"))
	if !e.SkipNonFinite() || e.Schedule() == nil || !strings.Contains(e.String(), "schedule=cosine") || !strings.Contains(e.String(), "skip_nonfinite=true),decay=") {
		t.Errorf("ema with options: %s", e)
	}
	if again := MustParse(e.String()); again.String() != e.String() {
		t.Errorf("round trip %s → %s", e, again)
	}
}

// MustParseSchedule is ParseSchedule for valid specs.
func MustParseSchedule(s string) *Schedule {
	sch, err := ParseSchedule(s)
	if err != nil {
		panic(err)
	}
	return sch
}

// TestStateBytesFor trains a float32 model with a [5,3] kernel, a [7] vector,
// a scalar and a [2,3,4] tensor for a few steps and checks that StateBytesFor
// predicts the bytes of state the update creates (MeasureStateBytes, less the
// int64 step counter and each rule's scalar state).
func TestStateBytesFor(t *testing.T) {
	backend := testBackend(t)
	shs := []shapes.Shape{shapes.Make(dtypes.Float32, 5, 3), shapes.Make(dtypes.Float32, 7),
		shapes.Make(dtypes.Float32), shapes.Make(dtypes.Float32, 2, 3, 4)}
	for _, tc := range []struct {
		spec   string
		scalar int64 // bytes of scalar state besides the step counter
	}{
		{"adam", 0}, {"muon", 0}, {"adafactor", 0}, {"nadam", 4}, {"prodigy", 8}, {"adan", 0},
		{"shampoo(block_size=2,precondition_frequency=2)", 0}, {"shampoo(block_size=4)", 0},
		{"soap(precondition_1d=true,max_precond_dim=4,precondition_frequency=2)", 0},
		{"soap(eigh=true,precondition_frequency=1)", 0},
		{"lookahead(base=shampoo(block_size=3,precondition_frequency=3))", 0},
		{"ema(base=lookahead(base=adam))", 0}, {"cautious(base=nadam)", 4},
	} {
		opt := MustParse(tc.spec)
		store := model.NewStore()
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
			loss := ScalarZero(g, dtypes.Float32)
			for i, sh := range shs {
				v := scope.WithInitializer(initializer.RandomNormalFn(scope, 1)).VariableWithShape(string(rune('a'+i)), sh).NodeValue(g)
				loss = Add(loss, ReduceAllSum(Mul(Square(v), Scalar(g, dtypes.Float32, float64(i+1)))))
			}
			return opt.UpdateGraphWithLossFunc(scope, g, func() *Node { return loss })
		})
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 3; k++ {
			if _, err := exec.Call(); err != nil {
				t.Fatalf("%s: %v", tc.spec, err)
			}
		}
		if got, want := MeasureStateBytes(store), opt.StateBytesFor(shs...)+8+tc.scalar; got != want {
			t.Errorf("%s: MeasureStateBytes = %d, StateBytesFor + scalars = %d", tc.spec, got, want)
		}
	}
}

// TestNewRulesTrain fits a float32 linear model with GoMLX's trainer for
// each new rule and the single-gradient wrappers, and checks the loss falls.
func TestNewRulesTrain(t *testing.T) {
	backend := testBackend(t)
	modelFn := func(scope *model.Scope, _ any, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		w := scope.WithInitializer(initializer.Zero).VariableWithShape("w", shapes.Make(dtypes.Float32, 3, 2))
		b := scope.WithInitializer(initializer.Zero).VariableWithShape("b", shapes.Make(dtypes.Float32, 2))
		return []*Node{Add(DotProduct(inputs[0], w.NodeValue(g)), ExpandAxes(b.NodeValue(g), 0))}
	}
	x := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}, {1, -1, 0}, {0, 2, -1}}
	y := [][]float32{{1.5, 0}, {-1.5, 1}, {1, -1}, {1.5, 0.5}, {3.5, 0}, {-2, 3}}
	for _, spec := range []string{
		"adabelief(lr=0.05)", "yogi(lr=0.05)", "adan(lr=0.05,weight_decay=0)", "ademamix(lr=0.02,alpha=2)",
		"adopt(lr=0.05,clip=true)", "prodigy(d0=1e-3)", "madgrad(lr=0.05)", "shampoo(lr=0.3,precondition_frequency=5,eps=0.01)",
		"soap(lr=0.05,weight_decay=0,precondition_frequency=5,precondition_1d=true)",
		"lookahead(base=adam(lr=0.05))", "cautious(base=adam(lr=0.05))", "ema(base=adam(lr=0.05),decay=0.9)",
	} {
		store := model.NewStore()
		trainer := train.NewTrainer(backend, store, modelFn, loss.MeanSquaredError, MustParse(spec), nil, nil)
		var first, last float32
		for k := 0; k < 200; k++ {
			m, err := trainer.TrainStep(batchOf(x, y))
			if err != nil {
				t.Fatalf("%s step %d: %v", spec, k, err)
			}
			if k == 0 {
				first = tensors.ToScalar[float32](m[0])
			}
			last = tensors.ToScalar[float32](m[0])
		}
		if !(last < 0.1*first) {
			t.Errorf("%s: loss went from %g to %g in 200 steps", spec, first, last)
		}
	}
}

// TestSwapInAverage checks that ema's average can be swapped into the
// trainable variables and back.
func TestSwapInAverage(t *testing.T) {
	backend := testBackend(t)
	opt := MustParse("ema(base=sgd(lr=0.1),decay=0.5)")
	store := model.NewStore()
	w := store.VariableWithValue("/w", []float64{1})
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		return opt.UpdateGraphWithLossFunc(scope, g, func() *Node { return ReduceAllSum(w.NodeValue(g)) })
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := opt.SwapInAverage(store); err == nil {
		t.Errorf("SwapInAverage before any update: no error")
	}
	exec.MustCall()
	exec.MustCall() // w: 1 → 0.9 → 0.8; e: 1 → 0.95 → 0.875
	restore, err := opt.SwapInAverage(store)
	if err != nil {
		t.Fatal(err)
	}
	if got := tensors.MustCopyFlatData[float64](w.MustValue())[0]; math.Abs(got-0.875) > 1e-15 {
		t.Errorf("swapped-in weight %g, want 0.875", got)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if got := tensors.MustCopyFlatData[float64](w.MustValue())[0]; math.Abs(got-0.8) > 1e-15 {
		t.Errorf("restored weight %g, want 0.8", got)
	}
	if _, err := MustParse("adam").SwapInAverage(store); err == nil {
		t.Errorf("SwapInAverage of adam: no error")
	}
}
