package optimizers

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

func TestGroupSpecs(t *testing.T) {
	for _, tc := range []struct {
		spec, canonical string
	}{
		{"adamw(lr=1e-3,weight_decay=0.05,group=biases(weight_decay=0),group=BN(weight_decay=0))",
			"adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.05,amsgrad=false,bias_correction=true,keras=false,group=biases(weight_decay=0),group=bn(weight_decay=0))"},
		// Keys in canonical order and under their canonical names; aliases accepted.
		{"sgd(lr=0.1,clip_norm=1,group=out(weight_decay=0.1,learning_rate=0.01))",
			"sgd(lr=0.1,momentum=0,dampening=0,nesterov=false,weight_decay=0,clip_norm=1,group=out(lr=0.01,weight_decay=0.1))"},
		{"sgd(lr=0.1,group=dense1(nesterov=true,momentum=0.9))",
			"sgd(lr=0.1,momentum=0,dampening=0,nesterov=false,weight_decay=0,group=dense1(momentum=0.9,nesterov=true))"},
	} {
		o, err := Parse(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if o.String() != tc.canonical {
			t.Errorf("%s:\n got %s\nwant %s", tc.spec, o.String(), tc.canonical)
		}
		again := MustParse(o.String())
		if again.String() != o.String() {
			t.Errorf("%s does not parse back to itself: %s", o, again)
		}
	}
	// A spec without groups keeps its canonical string (and so its sweep trial IDs).
	if got, want := MustParse("adamw(lr=1e-3)").String(), "adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=false,bias_correction=true,keras=false)"; got != want {
		t.Errorf("no groups: got %s, want %s", got, want)
	}
}

func TestGroupSpecErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"adamw(group=biases)", `"biases": group must be NAME(key=value,...)`},
		{"adamw(group=biases())", `group "biases" sets no hyperparameter`},
		{"adamw(group=biases(wd=0))", `group biases: unknown key "wd" (valid: lr, b1, b2, eps, weight_decay, amsgrad, bias_correction)`},
		{"adamw(group=biases(weight_decay=-1))", "weight_decay=-1 must be >= 0"},
		{"adamw(group=biases(keras=true))", `unknown key "keras"`},
		{"adamw(group=biases(weight_decay=0),group=biases(lr=1))", `group "biases" given twice`},
		{"adamw(group=biases(weight_decay=0,weight_decay=1))", `key "weight_decay" given twice`},
		{"adamw(group=biases(weight_decay=cosine(steps=1)))", "must be a number or true/false"},
		{"adamw(group=biases(b1=1.5))", "b1=1.5 must be in [0, 1)"},
	} {
		_, err := Parse(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.spec, err, tc.want)
		}
	}
}

func TestWithGroup(t *testing.T) {
	o := MustParse("adamw(lr=1e-3,weight_decay=0.05)")
	g, err := o.WithGroup("Biases", map[string]float64{"weight_decay": 0, "learning_rate": 1e-4})
	if err != nil {
		t.Fatal(err)
	}
	if want := "adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.05,amsgrad=false,bias_correction=true,keras=false,group=biases(lr=0.0001,weight_decay=0))"; g.String() != want {
		t.Errorf("got %s, want %s", g, want)
	}
	if len(o.Groups()) != 0 {
		t.Errorf("WithGroup changed its receiver")
	}
	// With changes the base and keeps the groups' own values.
	h, err := g.With("weight_decay", 0.1)
	if err != nil {
		t.Fatal(err)
	}
	if gs := h.Groups(); len(gs) != 1 || gs[0].Set[1] != (Setting{Key: "weight_decay", Value: 0}) {
		t.Errorf("With lost the group: %v", gs)
	}
	for _, bad := range []struct {
		match string
		set   map[string]float64
		want  string
	}{
		{"*/biases", map[string]float64{"lr": 1}, "must be a name"},
		{"1st", map[string]float64{"lr": 1}, "must be a name"},
		{"biases", nil, "sets no hyperparameter"},
		{"biases", map[string]float64{"lr": 0}, "lr=0 must be > 0"},
	} {
		if _, err := o.WithGroup(bad.match, bad.set); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("WithGroup(%q, %v): got %v, want an error containing %q", bad.match, bad.set, err, bad.want)
		}
	}
	// A New optimizer's groups can set lr only.
	mine, _ := New("mine", 0.1, ScaleByLearningRate{})
	if _, err := mine.WithGroup("biases", map[string]float64{"momentum": 0.9}); err == nil || !strings.Contains(err.Error(), `unknown key "momentum" (valid: lr)`) {
		t.Errorf("New optimizer group: %v", err)
	}
}

// runTwoVars runs steps updates of opt on f(a, b) = Σ ½·(a − 1)² + Σ (b + 2)²·k
// with variables /model/layer/weights (a) and /model/layer/biases (b), and
// returns their final values (and the store). The update is built from a loss
// function, as a runner builds it, so that sam can take its second gradient.
func runTwoVars(t *testing.T, opt *Optimizer, steps int) (a, b []float64) {
	a, b, _ = runTwoVarsStore(t, opt, steps)
	return a, b
}

func runTwoVarsStore(t *testing.T, opt *Optimizer, steps int) (a, b []float64, store *model.Store) {
	t.Helper()
	store = model.NewStore()
	aVar := store.VariableWithValue("/model/layer/weights", []float64{0.5, -1, 2})
	bVar := store.VariableWithValue("/model/layer/biases", []float64{1, -3})
	exec, err := model.NewExec(testBackend(t), store, func(scope *model.Scope, g *Graph) *Node {
		scope.Store().SetTraining(g, true)
		return opt.UpdateGraphWithLossFunc(scope, g, func() *Node {
			a, b := aVar.NodeValue(g), bVar.NodeValue(g)
			return Add(ReduceAllSum(MulScalar(Square(AddScalar(a, -1)), 0.5)), ReduceAllSum(MulScalar(Square(AddScalar(b, 2)), 3)))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < steps; k++ {
		if _, err := exec.Call(); err != nil {
			t.Fatalf("%s: step %d: %v", opt, k+1, err)
		}
	}
	return tensors.MustCopyFlatData[float64](aVar.MustValue()), tensors.MustCopyFlatData[float64](bVar.MustValue()), store
}

// runOneVar is runTwoVars with only the variable at path, starting from w0 and
// weighted as in runTwoVars.
func runOneVar(t *testing.T, opt *Optimizer, path string, w0 []float64, target, weight float64, steps int) []float64 {
	t.Helper()
	store := model.NewStore()
	v := store.VariableWithValue(path, w0)
	exec, err := model.NewExec(testBackend(t), store, func(scope *model.Scope, g *Graph) *Node {
		scope.Store().SetTraining(g, true)
		loss := ReduceAllSum(MulScalar(Square(AddScalar(v.NodeValue(g), -target)), weight))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < steps; k++ {
		if _, err := exec.Call(); err != nil {
			t.Fatalf("%s: step %d: %v", opt, k+1, err)
		}
	}
	return tensors.MustCopyFlatData[float64](v.MustValue())
}

// TestGroupsUpdateAsSeparateOptimizers checks that a group's variables move
// exactly as they would under an optimizer built with the group's values, and
// the others as under the base optimizer: the two variables' losses are
// separable, so each can be trained alone as a reference.
func TestGroupsUpdateAsSeparateOptimizers(t *testing.T) {
	for _, tc := range []struct{ grouped, weights, biases string }{
		{"adamw(lr=0.1,weight_decay=0.5,group=biases(lr=0.02,weight_decay=0))", "adamw(lr=0.1,weight_decay=0.5)", "adamw(lr=0.02,weight_decay=0)"},
		{"sgd(lr=0.05,momentum=0.9,group=biases(momentum=0))", "sgd(lr=0.05,momentum=0.9)", "sgd(lr=0.05)"},
		// Scalar state (NAdam's product of momentum coefficients) kept per group.
		{"nadam(lr=0.05,b1=0.9,group=biases(b1=0.5))", "nadam(lr=0.05,b1=0.9)", "nadam(lr=0.05,b1=0.5)"},
		// A schedule scales every group's rate; the group keeps its ratio.
		{"adam(lr=0.1,schedule=cosine(steps=20),group=layer(lr=0.05))", "adam(lr=0.05,schedule=cosine(steps=20))", "adam(lr=0.05,schedule=cosine(steps=20))"},
	} {
		t.Run(tc.grouped, func(t *testing.T) {
			const steps = 20
			a, b := runTwoVars(t, MustParse(tc.grouped), steps)
			wantA := runOneVar(t, MustParse(tc.weights), "/model/layer/weights", []float64{0.5, -1, 2}, 1, 0.5, steps)
			wantB := runOneVar(t, MustParse(tc.biases), "/model/layer/biases", []float64{1, -3}, -2, 3, steps)
			for i := range a {
				if math.Abs(a[i]-wantA[i]) > 1e-12*(1+math.Abs(wantA[i])) {
					t.Errorf("weights[%d] = %v, want %v", i, a[i], wantA[i])
				}
			}
			for i := range b {
				if math.Abs(b[i]-wantB[i]) > 1e-12*(1+math.Abs(wantB[i])) {
					t.Errorf("biases[%d] = %v, want %v", i, b[i], wantB[i])
				}
			}
		})
	}
}

func TestGroupMatchingNothingIsAnError(t *testing.T) {
	store := model.NewStore()
	v := store.VariableWithValue("/model/layer/weights", []float64{1})
	opt := MustParse("adam(group=bias(weight_decay=0))")
	exec, err := model.NewExec(testBackend(t), store, func(scope *model.Scope, g *Graph) *Node {
		loss := ReduceAllSum(Square(v.NodeValue(g)))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exec.Call()
	if err == nil || !strings.Contains(err.Error(), `group pattern "bias" matches no trainable variable (variables: /model/layer/weights)`) {
		t.Errorf("got %v", err)
	}
}

func TestGroupsAreNotPopulations(t *testing.T) {
	_, err := NewPopulation(MustParse("adam"), MustParse("adam(group=biases(lr=0.1))"))
	if err == nil || !strings.Contains(err.Error(), "population member 1, adam(") || !strings.Contains(err.Error(), "parameter groups do not train as a population") {
		t.Errorf("got %v", err)
	}
}
