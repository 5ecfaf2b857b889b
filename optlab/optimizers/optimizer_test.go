package optimizers

import (
	"errors"
	"math"
	"os"
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
	gomlxopt "github.com/gomlx/gomlx/ml/train/optimizer"
)

// TestTrainer plugs optimizers into GoMLX's train.Trainer on a float32 linear
// regression and checks that they fit it, that the global step advances and that
// the state has the size StateBytes predicts.
func TestTrainer(t *testing.T) {
	backend := testBackend(t)
	const n, dim = 64, 3
	wTrue := []float32{1.5, -2, 0.5}
	x := make([][]float32, n)
	y := make([][]float32, n)
	for i := range x {
		x[i] = make([]float32, dim)
		var s float32
		for j := range x[i] {
			x[i][j] = float32(math.Sin(float64(i*dim+j) * 1.7))
			s += x[i][j] * wTrue[j]
		}
		y[i] = []float32{s}
	}
	modelFn := func(scope *model.Scope, _ any, inputs []*Node) []*Node {
		w := scope.WithInitializer(initializer.Zero).VariableWithShape("w", shapes.Make(dtypes.Float32, dim, 1))
		return []*Node{DotProduct(inputs[0], w.NodeValue(inputs[0].Graph()))}
	}
	for _, tc := range []struct {
		spec  string
		steps int
		ratio float32 // required final/initial loss
	}{
		{"sgd(lr=0.1)", 200, 1e-3},
		{"momentum(lr=0.05)", 200, 1e-3},
		{"adam(lr=0.05)", 300, 1e-3},
		{"rmsprop(lr=0.01)", 300, 1e-3},
		{"adamw(lr=0.05,schedule=cosine(steps=300,warmup=10))", 300, 1e-3},
		// Sign updates hover at a distance of about η around the minimum.
		{"lion(lr=0.02,schedule=cosine(steps=400))", 400, 1e-2},
		// Muon's step on a [3,1] matrix has norm η whatever the gradient's size.
		{"muon(lr=0.05,schedule=cosine(steps=400))", 400, 1e-2},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			opt := MustParse(tc.spec)
			store := model.NewStore()
			trainer := train.NewTrainer(backend, store, modelFn, loss.MeanSquaredError, opt, nil, nil)
			var first, last float32
			for k := 0; k < tc.steps; k++ {
				m, err := trainer.TrainStep(batchOf(x, y))
				if err != nil {
					t.Fatalf("step %d: %v", k, err)
				}
				loss := tensors.ToScalar[float32](m[0])
				if k == 0 {
					first = loss
				}
				last = loss
			}
			if !(last < tc.ratio*first) {
				t.Errorf("loss went from %g to %g in %d steps", first, last, tc.steps)
			}
			if got := trainer.GlobalStep(); got != int64(tc.steps) {
				t.Errorf("global step %d, want %d", got, tc.steps)
			}
			// Measured state: per-parameter buffers plus the int64 step counter.
			want := opt.StateBytes(dim, 4) + 8
			if got := MeasureStateBytes(store); got != want {
				t.Errorf("MeasureStateBytes = %d, want %d", got, want)
			}
			if lr, ok := BaseLearningRate(store); !ok || lr != float64(float32(opt.LearningRate())) {
				t.Errorf("BaseLearningRate = %g, %v; want %g", lr, ok, opt.LearningRate())
			}
			if err := SetBaseLearningRate(store, 0.5*opt.LearningRate()); err != nil {
				t.Fatal(err)
			}
			if lr, _ := BaseLearningRate(store); lr != float64(float32(0.5*opt.LearningRate())) {
				t.Errorf("after SetBaseLearningRate: %g", lr)
			}
			if err := opt.Clear(store.RootScope()); err != nil {
				t.Fatal(err)
			}
			if got := MeasureStateBytes(store); got != 0 {
				t.Errorf("after Clear: %d bytes of state", got)
			}
			if lr, ok := BaseLearningRate(store); ok {
				t.Errorf("after Clear: learning rate %g still set", lr)
			}
		})
	}
}

// TestSkipNonFinite feeds a NaN gradient on one step: with skip_nonfinite the
// parameters and every state buffer stay as they were; without it they turn NaN.
func TestSkipNonFinite(t *testing.T) {
	backend := testBackend(t)
	for _, skip := range []bool{true, false} {
		opt := MustParse("adam(lr=0.1)").WithSkipNonFinite(skip)
		store := model.NewStore()
		wVar := store.VariableWithValue("/w", []float64{1, -2})
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, scale *Node) *Node {
			g := scale.Graph()
			loss := Mul(scale, ReduceAllSum(Square(wVar.NodeValue(g))))
			opt.UpdateGraph(scope, g, loss)
			return loss
		})
		if err != nil {
			t.Fatal(err)
		}
		snapshot := func() map[string][]float64 {
			out := map[string][]float64{}
			for v := range store.IterVariables() {
				val := v.MustValue()
				switch val.DType() {
				case dtypes.Float64:
					out[v.Path()] = tensors.MustCopyFlatData[float64](val)
				case dtypes.Int64:
					out[v.Path()] = []float64{float64(tensors.ToScalar[int64](val))}
				}
			}
			return out
		}
		exec.MustExec(1.0)
		before := snapshot()
		exec.MustExec(math.NaN())
		after := snapshot()
		for name, vb := range before {
			va := after[name]
			changed := false
			for i := range vb {
				if va[i] != vb[i] {
					changed = true
				}
			}
			isGlobalStep := strings.HasSuffix(name, gomlxopt.GlobalStepVariableName) && !strings.HasPrefix(name, StateScope)
			switch {
			case isGlobalStep && !changed:
				t.Errorf("skip=%v: global step %s did not advance", skip, name)
			case skip && !isGlobalStep && changed:
				t.Errorf("skip=%v: %s changed from %v to %v on a non-finite step", skip, name, vb, va)
			}
		}
		w := tensors.MustCopyFlatData[float64](wVar.MustValue())
		if skip == math.IsNaN(w[0]) {
			t.Errorf("skip=%v: w = %v after a NaN gradient", skip, w)
		}
		// A finite step afterwards moves on normally.
		exec.MustExec(1.0)
		w = tensors.MustCopyFlatData[float64](wVar.MustValue())
		if skip && (math.IsNaN(w[0]) || w[0] == before["/w"][0]) {
			t.Errorf("skip=%v: w = %v after a finite step following a skipped one", skip, w)
		}
	}
}

func TestStateSlots(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		slots int
	}{
		{"sgd", 0}, {"sgd(momentum=0.9)", 1}, {"momentum", 1}, {"nesterov", 1},
		{"adagrad", 1}, {"adadelta", 2}, {"rmsprop", 1}, {"rmsprop(centered=true)", 2},
		{"rmsprop(momentum=0.9,centered=true)", 3}, {"adam", 2}, {"amsgrad", 3}, {"adamw", 2},
		{"adamax", 2}, {"nadam", 2}, {"radam", 2}, {"rprop", 2}, {"asgd", 1}, {"lion", 1},
		{"lamb", 2}, {"lars", 1}, {"muon", 1},
		{"adafactor", 1}, {"schedule_free_adamw", 3},
		{"adabelief", 2}, {"yogi", 2}, {"adan", 4}, {"ademamix", 3}, {"adopt", 2}, {"prodigy", 4},
		{"madgrad", 3}, {"shampoo", 0}, {"soap", 2},
		{"lookahead(base=sgd)", 1}, {"lookahead(base=adam)", 3}, {"sam(base=adam)", 2},
		{"cautious(base=lion)", 1}, {"ema(base=sgd(momentum=0.9))", 2},
		{"ema(base=lookahead(base=adamw))", 4},
	} {
		opt := MustParse(tc.spec)
		if got := opt.StateSlots(); got != tc.slots {
			t.Errorf("%s: StateSlots() = %d, want %d", tc.spec, got, tc.slots)
		}
		if got, want := opt.StateBytes(1_000_000, 4), int64(tc.slots)*4_000_000; got != want {
			t.Errorf("%s: StateBytes(1e6, 4) = %d, want %d", tc.spec, got, want)
		}
	}
}

func TestListAndRoundTrip(t *testing.T) {
	infos := List()
	if len(infos) < 32 {
		t.Fatalf("List() has %d optimizers and wrappers, want at least 32", len(infos))
	}
	for _, info := range infos {
		if info.Summary == "" || info.Equations == "" || len(info.Params) == 0 {
			t.Errorf("%s: incomplete Info %+v", info.Name, info)
		}
		spec := info.Name
		if info.Wrapper {
			spec += "(base=sgd)"
		}
		opt, err := Parse(spec)
		if err != nil {
			t.Fatalf("Parse(%q): %v", spec, err)
		}
		canonical := opt.String()
		again, err := Parse(canonical)
		if err != nil {
			t.Fatalf("Parse(%q): %v", canonical, err)
		}
		if again.String() != canonical {
			t.Errorf("round trip: %q → %q", canonical, again.String())
		}
		for _, p := range info.Params {
			if !strings.Contains(canonical, p.Key+"=") {
				t.Errorf("%s: canonical spec %q lacks %s", info.Name, canonical, p.Key)
			}
		}
	}
	for _, s := range ListSchedules() {
		if s.Name == "multistep" {
			continue // needs milestones
		}
		sch, err := ParseSchedule(s.Name)
		if err != nil {
			t.Fatalf("ParseSchedule(%q): %v", s.Name, err)
		}
		again, err := ParseSchedule(sch.String())
		if err != nil || again.String() != sch.String() {
			t.Errorf("schedule round trip %q → %v, %v", sch.String(), again, err)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec, want string
	}{
		{"adam", "adam(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false)"},
		{" Adam ( lr = 1e-3 , beta1=0.8 ) ", "adam(lr=0.001,b1=0.8,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false)"},
		{"adam(keras=true)", "adam(lr=0.001,b1=0.9,b2=0.999,eps=1e-07,weight_decay=0,amsgrad=false,bias_correction=true,keras=true)"},
		{"rmsprop(keras=true)", "rmsprop(lr=0.001,rho=0.9,eps=1e-07,weight_decay=0,momentum=0,centered=false,keras=true)"},
		{"rmsprop(alpha=0.95)", "rmsprop(lr=0.01,rho=0.95,eps=1e-08,weight_decay=0,momentum=0,centered=false,keras=false)"},
		{"sgd(lr=0.01,momentum=0.9,nesterov=true)", "sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=true,weight_decay=0)"},
		{"sgd(lr=.5,schedule=multistep(milestones=[3,7]),clip_norm=1,skip_nonfinite=true)",
			"sgd(lr=0.5,momentum=0,dampening=0,nesterov=false,weight_decay=0,schedule=multistep(milestones=[3,7],gamma=0.1),clip_norm=1,skip_nonfinite=true)"},
		{"adamw(schedule=constant)", "adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=false,bias_correction=true,keras=false,schedule=constant())"},
		{"sgd()", "sgd(lr=0.01,momentum=0,dampening=0,nesterov=false,weight_decay=0)"},
	} {
		opt, err := Parse(tc.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if got := opt.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.spec, got, tc.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		pos   int
		token string
		msg   string
	}{
		{"adamm(lr=1)", 0, "adamm", "unknown optimizer"},
		{"adam(lr=-1)", 8, "-1", "lr must be > 0"},
		{"adam(lr=0)", 8, "0", "lr must be > 0"},
		{"adam(lr=1e-3x)", 8, "1e-3x", "malformed number"},
		{"adam(lr=1..2)", 8, "1..2", "malformed number"},
		{"adam(lr=1e999)", 8, "1e999", "out of range"},
		{"adam(b1=1)", 8, "1", "b1 must be in [0, 1)"},
		{"adam(b2=-0.1)", 8, "-0.1", "b2 must be in [0, 1)"},
		{"adam(eps=0)", 9, "0", "eps must be > 0"},
		{"adam(weight_decay=-1)", 18, "-1", "weight_decay must be >= 0"},
		{"adam(foo=1)", 5, "foo", "unknown key for adam"},
		{"adam(lr=1,lr=2)", 10, "lr", "duplicate key"},
		{"adam(lr=1", 9, "end of spec", "missing ')'"},
		{"adam(lr 1)", 8, "1", "expected '='"},
		{"adam(amsgrad=yes)", 13, "yes", "amsgrad must be true or false"},
		{"adam(lr=true)", 8, "true", "lr must be a number"},
		{"adam) ", 4, ")", "unexpected text"},
		{"", 0, "end of spec", "expected a name"},
		{"sgd(nesterov=true)", 4, "nesterov", "needs momentum > 0"},
		{"sgd(schedule=cosinus(steps=3))", 13, "cosinus", "unknown schedule"},
		{"sgd(schedule=cosine(steps=10,warmup=10))", 29, "warmup", "must be smaller than steps"},
		{"sgd(schedule=step(step_size=2.5))", 28, "2.5", "must be an integer"},
		{"sgd(schedule=multistep(milestones=[5,3]))", 23, "milestones", "strictly increasing"},
		{"sgd(schedule=multistep)", 13, "multistep", "at least one"},
		{"sgd(clip_norm=-1)", 14, "-1", "clip_norm must be >= 0"},
		{"rprop(step_min=2,step_max=1)", 6, "step_min", "must not exceed step_max"},
		// The rules and wrappers of 2018–2024.
		{"adan(form=foo)", 10, "foo", "form must be one of paper, authors"},
		{"adabelief(eps=0)", 14, "0", "eps must be > 0"},
		{"yogi(initial_accumulator_value=-1)", 31, "-1", "initial_accumulator_value must be >= 0"},
		{"adan(b3=1)", 8, "1", "b3 must be in [0, 1)"},
		{"ademamix(alpha=-1)", 15, "-1", "alpha must be >= 0"},
		{"ademamix(alpha_warmup=2.5)", 22, "2.5", "must be an integer"},
		{"ademamix(b1=0,b3_warmup=10)", 14, "b3_warmup", "needs b1 > 0"},
		{"prodigy(d0=0)", 11, "0", "d0 must be > 0"},
		{"prodigy(growth=0.5)", 15, "0.5", "growth must be 0 (no limit) or >= 1"},
		{"madgrad(momentum=1)", 17, "1", "momentum must be in [0, 1)"},
		{"shampoo(block_size=0)", 19, "0", "block_size must be >= 1"},
		{"shampoo(precondition_frequency=1.5)", 31, "1.5", "must be an integer"},
		{"soap(shampoo_beta=1)", 18, "1", "shampoo_beta must be in [0, 1)"},
		{"soap(max_precond_dim=0)", 21, "0", "max_precond_dim must be >= 1"},
		{"lookahead", 0, "lookahead", "base is required"},
		{"lookahead(k=3)", 0, "lookahead", "base is required"},
		{"lookahead(base=1)", 15, "1", "base must be an optimizer spec"},
		{"lookahead(base=adamm)", 15, "adamm", "unknown optimizer"},
		{"lookahead(base=adam(lr=-1))", 23, "-1", "lr must be > 0"},
		{"lookahead(base=sgd,k=0)", 21, "0", "k must be >= 1"},
		{"lookahead(base=sgd,k=2.5)", 21, "2.5", "must be an integer"},
		{"lookahead(base=sgd,alpha=0)", 25, "0", "alpha must be in (0, 1]"},
		{"lookahead(base=sgd,schedule=cosine(steps=9))", 19, "schedule", "belongs to the base"},
		{"ema(base=sgd,clip_norm=1)", 13, "clip_norm", "belongs to the base"},
		{"ema(base=sgd,decay=1)", 19, "1", "decay must be in [0, 1)"},
		{"sam(base=sgd,rho=-1)", 17, "-1", "rho must be >= 0"},
		{"sam(base=lookahead(base=sam(base=sgd)))", 9, "lookahead", "second gradient"},
		{"cautious(base=lamb)", 14, "lamb", "p ← p − η·d"},
		{"cautious(base=sgd,eps=-1)", 22, "-1", "eps must be >= 0"},
		{"ema(base=lookahead(base=sgd,k=0))", 30, "0", "k must be >= 1"},
	} {
		_, err := Parse(tc.spec)
		var se *SpecError
		if !errors.As(err, &se) {
			t.Errorf("Parse(%q) = %v, want a *SpecError", tc.spec, err)
			continue
		}
		if se.Pos != tc.pos || se.Token != tc.token || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Parse(%q): got pos %d token %q msg %q; want pos %d token %q msg containing %q",
				tc.spec, se.Pos, se.Token, se.Msg, tc.pos, tc.token, tc.msg)
		}
	}
}

// TestScheduleValues checks the host-side Schedule.Value against the learning
// rates torch's schedulers reported in the goldens.
func TestScheduleValues(t *testing.T) {
	worst := 0.0
	for _, c := range loadGoldens(t, "torch_schedules.json") {
		if c.Schedule == "" {
			continue
		}
		s, err := ParseSchedule(c.Schedule)
		if err != nil {
			t.Fatalf("ParseSchedule(%q): %v", c.Schedule, err)
		}
		for k, want := range c.LRs {
			got := s.Value(c.BaseLR, k)
			e := math.Abs(got-want) / math.Max(math.Abs(want), 1e-12)
			worst = math.Max(worst, e)
			if e > 1e-12 {
				t.Errorf("%s: lr at k=%d is %.17g, torch %.17g", c.Schedule, k, got, want)
				break
			}
		}
	}
	t.Logf("max relative error of Schedule.Value: %.3g", worst)
}

// FuzzParse checks that no spec makes Parse panic, that errors are SpecErrors
// pointing inside the spec, and that accepted specs round-trip.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"adam", "adam(lr=1e-3,b1=0.9,b2=0.999,eps=1e-8)", "sgd(lr=0.01,momentum=0.9,nesterov=true)",
		"rmsprop(keras=true,centered=true)", "sgd(schedule=multistep(milestones=[1,2]),clip_norm=1)",
		"adamw(schedule=cosine(steps=10,warmup=2),skip_nonfinite=true)", "lion(lr=", "adam(lr=-1)", "((", "a=b",
		"sgd(schedule=onecycle(steps=100,anneal=linear))", "rprop(eta_minus=0.5)", "lars(trust_coefficient=1e-3)",
		"lookahead(base=adam(lr=0.001),k=5,alpha=0.5)", "sam(base=sgd(lr=0.1,momentum=0.9),rho=0.05,adaptive=true)",
		"cautious(base=lion(lr=0.0001))", "ema(base=adamw(lr=0.001,schedule=cosine(steps=1000)),decay=0.999)",
		"ema(base=lookahead(base=adam(schedule=cosine(steps=9))))", "cautious(base=lamb)",
		"adan(form=authors)", "soap(eigh=true,precondition_1d=true)", "shampoo(block_size=64)", "prodigy(growth=2)",
		"adabelief(form=authors,decoupled=true)", "yogi(initial_accumulator_value=1e-6,bias_correction=true)",
		"adan(b3=0.99,no_prox=true)", "ademamix(b3=0.9999,alpha=5,alpha_warmup=100,b3_warmup=100)",
		"adopt(clip=false,form=authors)", "prodigy(d0=1e-6,d_coef=0.5,safeguard_warmup=true)", "madgrad(momentum=0)",
		"shampoo(root=eigh,precondition_frequency=10)", "soap(shampoo_beta=0.95,max_precond_dim=0)",
		"lookahead(base=lookahead(base=sgd),k=0)", "sam(rho=-1)", "cautious(base=sam(base=adam))", "ema(decay=1)",
		"ema(base=adam,debias=true)", "sam(base=adam(lr=0.1),adaptive_eta=0.01)", "cautious(eps=0)", "lookahead(alpha=0)",
	} {
		f.Add(s)
	}
	// Every registered name, bare: a new optimizer or wrapper is fuzzed from
	// its first commit.
	for _, name := range Names() {
		f.Add(name)
		f.Add(name + "(lr=0.5)")
	}
	f.Fuzz(func(t *testing.T, spec string) {
		opt, err := Parse(spec)
		if err != nil {
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) returned %T %v, want *SpecError", spec, err, err)
			}
			if se.Pos < 0 || se.Pos > len(spec) || se.Msg == "" || se.Token == "" {
				t.Fatalf("Parse(%q): bad SpecError %+v", spec, se)
			}
			return
		}
		canonical := opt.String()
		again, err := Parse(canonical)
		if err != nil {
			t.Fatalf("canonical spec %q of %q does not parse: %v", canonical, spec, err)
		}
		if again.String() != canonical {
			t.Fatalf("round trip of %q: %q → %q", spec, canonical, again.String())
		}
		if math.IsNaN(opt.LearningRate()) || opt.LearningRate() <= 0 {
			t.Fatalf("%q: learning rate %g", spec, opt.LearningRate())
		}
	})
}

// TestLearningRateVariable checks that updates read the base rate from GoMLX's
// learning-rate variable (so a runner can lower it) and that the schedule is a
// function of GoMLX's global step.
func TestLearningRateVariable(t *testing.T) {
	backend := testBackend(t)
	for _, tc := range []struct {
		spec string
		// moves[k] is the expected displacement of update k+1 for a unit gradient,
		// with the base rate halved after the second update.
		moves []float64
	}{
		{"sgd(lr=0.25)", []float64{0.25, 0.25, 0.125, 0.125}},
		{"sgd(lr=0.25,schedule=exponential(gamma=0.5))", []float64{0.25, 0.125, 0.03125, 0.015625}},
	} {
		opt := MustParse(tc.spec)
		store := model.NewStore()
		wVar := store.VariableWithValue("/w", []float64{0})
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) {
			opt.UpdateGraph(scope, g, ReduceAllSum(wVar.NodeValue(g)))
		})
		if err != nil {
			t.Fatal(err)
		}
		prev := 0.0
		for k, want := range tc.moves {
			if k == 2 {
				if err := SetBaseLearningRate(store, 0.125); err != nil {
					t.Fatal(err)
				}
			}
			exec.MustCall()
			w := tensors.MustCopyFlatData[float64](wVar.MustValue())[0]
			if got := prev - w; math.Abs(got-want) > 1e-15 {
				t.Errorf("%s: update %d moved %g, want %g", tc.spec, k+1, got, want)
			}
			prev = w
		}
		if err := SetBaseLearningRate(store, -1); err == nil {
			t.Errorf("SetBaseLearningRate(-1): no error")
		}
	}
}

// TestPackageDocListsEveryOptimizer keeps the equation table of doc.go in step
// with the registry.
func TestPackageDocListsEveryOptimizer(t *testing.T) {
	data, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range List() {
		if !strings.Contains(string(data), "//\t"+info.Name+" ") {
			t.Errorf("doc.go has no equation line for %s", info.Name)
		}
	}
}

// TestAccumulateGradients uses the optimizer through the trainer's gradient
// accumulation (train.OptimizeWithGradients): two batches per update.
func TestAccumulateGradients(t *testing.T) {
	backend := testBackend(t)
	modelFn := func(scope *model.Scope, _ any, inputs []*Node) []*Node {
		w := scope.WithInitializer(initializer.Zero).VariableWithShape("w", shapes.Make(dtypes.Float32, 2, 1))
		return []*Node{DotProduct(inputs[0], w.NodeValue(inputs[0].Graph()))}
	}
	store := model.NewStore()
	trainer := train.NewTrainer(backend, store, modelFn, loss.MeanSquaredError, MustParse("adam(lr=0.05)"), nil, nil)
	if err := trainer.AccumulateGradients(2); err != nil {
		t.Fatal(err)
	}
	x := [][]float32{{1, 0}, {0, 1}, {1, 1}}
	y := [][]float32{{2}, {-1}, {1}}
	var first, last float32
	for k := 0; k < 400; k++ {
		m, err := trainer.TrainStep(batchOf(x, y))
		if err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		if k == 0 {
			first = tensors.ToScalar[float32](m[0])
		}
		last = tensors.ToScalar[float32](m[0])
	}
	if got := trainer.GlobalStep(); got != 200 {
		t.Errorf("global step %d after 400 batches accumulated by 2, want 200", got)
	}
	if !(last < 1e-3*first) {
		t.Errorf("loss went from %g to %g", first, last)
	}
}

// TestClipByGlobalNormAcrossVariables checks that clip_norm rescales the
// gradients of all variables together, as torch.nn.utils.clip_grad_norm_ does.
func TestClipByGlobalNormAcrossVariables(t *testing.T) {
	backend := testBackend(t)
	for _, tc := range []struct {
		spec   string
		da, db float64 // expected displacement of a and b
	}{
		// Gradients (3) and (4): global norm 5.
		{"sgd(lr=1,clip_norm=1)", 3 / (5 + 1e-6), 4 / (5 + 1e-6)},
		{"sgd(lr=1,clip_norm=10)", 3, 4},
		{"sgd(lr=1,clip_value=3.5)", 3, 3.5},
	} {
		store := model.NewStore()
		a := store.VariableWithValue("/a", []float64{0})
		b := store.VariableWithValue("/layer/b", []float64{0})
		opt := MustParse(tc.spec)
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) {
			loss := Add(MulScalar(ReduceAllSum(a.NodeValue(g)), 3.0), MulScalar(ReduceAllSum(b.NodeValue(g)), 4.0))
			opt.UpdateGraph(scope, g, loss)
		})
		if err != nil {
			t.Fatal(err)
		}
		exec.MustCall()
		ga := -tensors.MustCopyFlatData[float64](a.MustValue())[0]
		gb := -tensors.MustCopyFlatData[float64](b.MustValue())[0]
		if math.Abs(ga-tc.da) > 1e-15 || math.Abs(gb-tc.db) > 1e-15 {
			t.Errorf("%s: moved (%.17g, %.17g), want (%.17g, %.17g)", tc.spec, ga, gb, tc.da, tc.db)
		}
	}
}

// TestMixedRankState trains a linear model with a [3,1] kernel and a bias, and
// checks the state each rule keeps per kind of parameter (Muon and Adafactor
// treat matrices differently from vectors).
func TestMixedRankState(t *testing.T) {
	backend := testBackend(t)
	modelFn := func(scope *model.Scope, _ any, inputs []*Node) []*Node {
		g := inputs[0].Graph()
		w := scope.WithInitializer(initializer.Zero).VariableWithShape("w", shapes.Make(dtypes.Float32, 3, 1))
		b := scope.WithInitializer(initializer.Zero).VariableWithShape("b", shapes.Make(dtypes.Float32, 1))
		return []*Node{Add(DotProduct(inputs[0], w.NodeValue(g)), ExpandAxes(b.NodeValue(g), 0))}
	}
	x := [][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 1}, {1, -1, 0}}
	y := [][]float32{{1.5}, {-1.5}, {1}, {1.5}, {3.5}}
	for _, tc := range []struct {
		spec  string
		bytes int64 // float32 state + the int64 step counter + scalar state
	}{
		{"muon(lr=0.05,adam_lr=0.05,schedule=cosine(steps=300))", (3+2*1)*4 + 8}, // kernel: momentum; bias: AdamW's m and v
		{"adafactor(lr=0.1)", (3+1+1)*4 + 8},                                     // kernel: 3 row + 1 column sums; bias: v
		{"schedule_free_adamw(lr=0.05)", 3*(3+1)*4 + 8 + 4},                      // z, x, v for each + Σγ²
	} {
		store := model.NewStore()
		trainer := train.NewTrainer(backend, store, modelFn, loss.MeanSquaredError, MustParse(tc.spec), nil, nil)
		var first, last float32
		for k := 0; k < 300; k++ {
			m, err := trainer.TrainStep(batchOf(x, y))
			if err != nil {
				t.Fatalf("%s step %d: %v", tc.spec, k, err)
			}
			if k == 0 {
				first = tensors.ToScalar[float32](m[0])
			}
			last = tensors.ToScalar[float32](m[0])
		}
		if !(last < 0.05*first) {
			t.Errorf("%s: loss went from %g to %g", tc.spec, first, last)
		}
		if got := MeasureStateBytes(store); got != tc.bytes {
			t.Errorf("%s: MeasureStateBytes = %d, want %d", tc.spec, got, tc.bytes)
		}
	}
}

// batchOf returns a fresh training batch of inputs x and labels y: the trainer
// takes ownership of a batch's tensors and frees them after the step.
func batchOf(x, y [][]float32) train.Batch {
	return train.Batch{Inputs: []*tensors.Tensor{tensors.FromValue(x)}, Labels: []*tensors.Tensor{tensors.FromValue(y)}}
}
