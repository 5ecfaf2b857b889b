package models_test

// The whole-step conformance test: PyTorch 1.13 trained each model from
// committed initial weights for 10 steps with each optimizer, on the first
// 320 MNIST training images in file order, and recorded the loss, gradient
// statistics and variable statistics after every step
// (scripts/reference/gen_step_goldens.py; the hand-off note
// scripts/reference/STEP_CONFORMANCE.md has the schema and the tolerance
// rule). This test builds the same networks with optlab's models, loss and
// optimizers, loads the same weights with checkpoint.ImportWeights, feeds
// the same batches and compares.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"optlab.dev/optlab"
	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/safetensors"
)

const goldensDir = "testdata"

// stepStat is one statistic of a gradient or variable in the goldens.
type stepStat struct {
	Norm    float64   `json:"norm"`
	Sum     float64   `json:"sum"`
	Samples []float64 `json:"samples"`
	// Drift holds, for the norm, the sum and the largest element difference,
	// the running maxima over steps of |reference − run| for two other float32
	// runs: [rows reversed, float64].
	Drift struct {
		Norm []float64 `json:"norm"`
		Sum  []float64 `json:"sum"`
		Max  []float64 `json:"max"`
	} `json:"drift"`
}

type goldenStep struct {
	Loss      float64             `json:"loss"`
	LossDrift []float64           `json:"loss_drift"`
	Grads     map[string]stepStat `json:"grads"`
	Values    map[string]stepStat `json:"values"`
}

type goldenVar struct {
	Name      string `json:"name"`
	Shape     []int  `json:"shape"`
	Trainable bool   `json:"trainable"`
	Go        string `json:"go"`
	GoShape   []int  `json:"go_shape"`
	ToGo      string `json:"to_go"`
	Samples   []int  `json:"samples"`
}

type goldenCase struct {
	Model     string       `json:"model"`
	Optimizer string       `json:"optimizer"`
	Spec      string       `json:"spec"`
	Horizon   int          `json:"horizon"`
	Steps     []goldenStep `json:"steps"`
}

type goldens struct {
	Schema string `json:"schema"`
	Data   struct {
		Indices   []int     `json:"indices"`
		BatchSize int       `json:"batch_size"`
		Steps     int       `json:"steps"`
		XSums     []float64 `json:"x_sums"`
		Labels    []int32   `json:"labels"`
	} `json:"data"`
	Tolerance struct {
		K         float64 `json:"k"`
		LossRel   float64 `json:"loss_rel"`
		ValueRel  float64 `json:"value_rel"`
		UpdateRel float64 `json:"update_rel"`
		GradRel   float64 `json:"grad_rel"`
		// Exceptions, keyed "model/optimizer", set update_rel and shorten the
		// horizon of cases measured to need it (see STEP_CONFORMANCE.md).
		Exceptions map[string]struct {
			UpdateRel float64 `json:"update_rel"`
			Horizon   int     `json:"horizon"`
			Why       string  `json:"why"`
		} `json:"exceptions"`
	} `json:"tolerance"`
	Models map[string]struct {
		Init      string      `json:"init"`
		Variables []goldenVar `json:"variables"`
	} `json:"models"`
	Cases []goldenCase `json:"cases"`
}

// loadGoldens reads the committed goldens, skipping the test when they are
// missing (they are committed, so this only happens in a trimmed checkout).
func loadGoldens(t *testing.T) *goldens {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldensDir, "step_goldens.json"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("no step goldens in testdata/ (run /usr/bin/python3 scripts/reference/gen_step_goldens.py)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var g goldens
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("step_goldens.json: %v", err)
	}
	if g.Schema != "optlab.step_goldens/v1" {
		t.Fatalf("step_goldens.json has schema %q, want optlab.step_goldens/v1", g.Schema)
	}
	return &g
}

var (
	fixtureOnce sync.Once
	fixtureSet  *datasets.Set
	fixtureBE   compute.Backend
	fixtureErr  error
)

// fixtures loads MNIST and the backend once per test binary.
func fixtures(t *testing.T) (*datasets.Set, compute.Backend) {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureSet, fixtureErr = datasets.LoadMNIST("")
		if fixtureErr == nil {
			fixtureBE, fixtureErr = optlab.NewBackend("")
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	return fixtureSet, fixtureBE
}

// tolerance is the comparison rule of one case (see caseRule).
type tolerance struct {
	k, lossRel, valueRel, updateRel, gradRel float64
}

// checker applies the tolerance rule and keeps the failures and, for each
// kind of statistic, the worst ratio of difference to allowance.
type checker struct {
	// step1Loss is the largest relative difference of the loss at step 1.
	step1Loss float64
	tol       tolerance
	failures  []string
	worst     map[string]float64
	worstAt   map[string]string
}

func newChecker(tol tolerance) *checker {
	return &checker{tol: tol, worst: map[string]float64{}, worstAt: map[string]string{}}
}

// check records a failure when |got − want| > k·max(drift) + floor.
func (c *checker) check(kind, where string, got, want float64, drift []float64, floor float64) {
	allowed := c.tol.k*math.Max(drift[0], drift[1]) + floor
	diff := math.Abs(got - want)
	r := diff / (allowed + 1e-300)
	if r > c.worst[kind] || math.IsNaN(r) {
		c.worst[kind], c.worstAt[kind] = r, where
	}
	if !(diff <= allowed) {
		c.failures = append(c.failures, fmt.Sprintf("%s %s: go %.9g, torch %.9g, |Δ| %.3g > allowed %.3g", kind, where, got, want, diff, allowed))
	}
}

// flatStats returns the L2 norm, the sum and the L1 norm of v, reduced in float64.
func flatStats(v []float32) (norm, sum, l1 float64) {
	for _, x := range v {
		f := float64(x)
		norm += f * f
		sum += f
		l1 += math.Abs(f)
	}
	return math.Sqrt(norm), sum, l1
}

// torchOrder reorders a GoMLX-layout tensor to PyTorch's layout.
func torchOrder(v goldenVar, goValues []float32) ([]float32, error) {
	tn, err := checkpoint.TorchNameOf(v.Go, v.GoShape)
	if err != nil {
		return nil, err
	}
	if fmt.Sprint(tn.Shape) != fmt.Sprint(v.Shape) || tn.Name != v.Name {
		return nil, fmt.Errorf("TorchNameOf(%s, %v) = %s %v, the goldens say %s %v", v.Go, v.GoShape, tn.Name, tn.Shape, v.Name, v.Shape)
	}
	out := make([]float32, len(goValues))
	for g, p := range checkpoint.TorchIndex(v.GoShape, tn.Layout) {
		out[p] = goValues[g]
	}
	return out, nil
}

// replay runs one case of the goldens and checks every step with chk. With
// negate set to a PyTorch variable name, that variable's gradient is negated
// before the update (a deliberately broken step, which must fail).
func replay(t *testing.T, g *goldens, c goldenCase, chk *checker, negate string) {
	t.Helper()
	mnist, backend := fixtures(t)
	_, horizon := caseRule(g, c)
	mg, ok := g.Models[c.Model]
	if !ok {
		t.Fatalf("no model %q in the goldens", c.Model)
	}
	m, err := models.Get(c.Model)
	if err != nil {
		t.Fatal(err)
	}
	opt, err := optimizers.Parse(c.Spec)
	if err != nil {
		t.Fatalf("spec %q: %v", c.Spec, err)
	}
	goPath := map[string]string{} // PyTorch name → absolute GoMLX path
	negatePath := ""
	for _, v := range mg.Variables {
		goPath[v.Name] = "/model/" + v.Go
		if v.Name == negate {
			negatePath = goPath[v.Name]
		}
	}
	if negate != "" && negatePath == "" {
		t.Fatalf("no variable %q in %s", negate, c.Model)
	}

	store := model.NewStore()
	opts := models.Options{FastDense: true, NoDropout: true}
	var gradPaths []string // absolute GoMLX paths, in the order of the gradient outputs
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node {
		gr := x.Graph()
		store.SetTraining(gr, true)
		ce, _ := optlab.CrossEntropy(m.Build(scope.In("model"), x, opts), y)
		train.AddMainLoss(ReduceAllMean(ce))
		loss := train.TotalLoss(gr)
		grads := scope.BuildTrainableVariablesGradientsGraph(loss)
		gradPaths = nil
		for v := range scope.IterVariables() {
			if v.Trainable && v.InUseByGraph(gr) {
				gradPaths = append(gradPaths, v.Path())
			}
		}
		upd := append([]*Node(nil), grads...)
		for i, p := range gradPaths {
			if p == negatePath {
				upd[i] = Neg(upd[i])
			}
		}
		opt.UpdateGraphWithGradients(scope, upd, loss.DType())
		return append([]*Node{loss}, grads...)
	})
	if err != nil {
		t.Fatal(err)
	}
	bs := g.Data.BatchSize
	if _, err := exec.Compile(shapes.Make(dtypes.Float32, bs, 784), shapes.Make(dtypes.Int32, bs)); err != nil {
		t.Fatalf("building the step: %v", err)
	}
	initFile, err := safetensors.ReadFile(filepath.Join(goldensDir, mg.Init))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.ImportWeights(store, "/model", initFile); err != nil {
		t.Fatal(err)
	}
	init := map[string][]float32{} // PyTorch layout
	for _, v := range mg.Variables {
		it, err := initFile.Tensor(v.Name)
		if err != nil {
			t.Fatal(err)
		}
		if init[v.Name], err = safetensors.Values[float32](it); err != nil {
			t.Fatal(err)
		}
	}

	feat, lab := make([]float32, bs*784), make([]int32, bs)
	for s, st := range c.Steps {
		idx := g.Data.Indices[s*bs : (s+1)*bs]
		mnist.Train.Gather(idx, feat, lab)
		for i, l := range lab {
			if want := g.Data.Labels[s*bs+i]; l != want {
				t.Fatalf("batch %d, row %d: label %d, PyTorch fed %d", s+1, i, l, want)
			}
		}
		var xs float64
		for _, f := range feat {
			xs += float64(f)
		}
		if math.Abs(xs-g.Data.XSums[s]) > 1e-6*math.Abs(g.Data.XSums[s]) {
			t.Fatalf("batch %d: sum of x is %.10g, PyTorch fed %.10g: not the same data", s+1, xs, g.Data.XSums[s])
		}
		outs, err := exec.Exec(tensors.FromFlatDataAndDimensions(feat, bs, 784), tensors.FromFlatDataAndDimensions(lab, bs))
		if err != nil {
			t.Fatalf("step %d: %v", s+1, err)
		}
		where := fmt.Sprintf("%s/%s step %d", c.Model, c.Optimizer, s+1)
		loss := float64(tensors.MustCopyFlatData[float32](outs[0])[0])
		chk.check("loss", where, loss, st.Loss, st.LossDrift, chk.tol.lossRel*math.Abs(st.Loss))
		if s == 0 {
			chk.step1Loss = max(chk.step1Loss, math.Abs(loss-st.Loss)/math.Abs(st.Loss))
		}
		if s+1 > horizon {
			continue // beyond the case's horizon only the loss is compared
		}
		grads := map[string][]float32{}
		for i, p := range gradPaths {
			grads[p] = tensors.MustCopyFlatData[float32](outs[1+i])
		}
		for _, v := range mg.Variables {
			w := where + " " + v.Name
			if gs, ok := st.Grads[v.Name]; ok {
				gv, ok := grads[goPath[v.Name]]
				if !ok {
					t.Fatalf("%s: no gradient for %s", where, goPath[v.Name])
				}
				norm, sum, l1 := flatStats(gv)
				chk.check("grad.norm", w, norm, gs.Norm, gs.Drift.Norm, chk.tol.gradRel*norm)
				chk.check("grad.sum", w, sum, gs.Sum, gs.Drift.Sum, chk.tol.gradRel*l1)
			}
			vv := store.GetVariable(goPath[v.Name])
			if vv == nil {
				t.Fatalf("no variable %s", goPath[v.Name])
			}
			pt, err := torchOrder(v, tensors.MustCopyFlatData[float32](vv.MustValue()))
			if err != nil {
				t.Fatal(err)
			}
			moved := make([]float32, len(pt))
			for i := range pt {
				moved[i] = pt[i] - init[v.Name][i]
			}
			norm, sum, l1 := flatStats(pt)
			m2, _, m1 := flatStats(moved)
			vs := st.Values[v.Name]
			chk.check("value.norm", w, norm, vs.Norm, vs.Drift.Norm, chk.tol.updateRel*m2+chk.tol.valueRel*norm)
			chk.check("value.sum", w, sum, vs.Sum, vs.Drift.Sum, chk.tol.updateRel*m1+chk.tol.valueRel*l1)
			for k, ti := range v.Samples {
				want := vs.Samples[k]
				chk.check("value.sample", fmt.Sprintf("%s[%d]", w, ti), float64(pt[ti]), want, vs.Drift.Max,
					chk.tol.updateRel*math.Abs(want-float64(init[v.Name][ti]))+chk.tol.valueRel*math.Abs(want))
			}
		}
	}
}

// caseRule returns the tolerance and horizon of case c: the goldens' rule,
// with the update_rel and horizon of its entry in the exceptions, if any.
func caseRule(g *goldens, c goldenCase) (tolerance, int) {
	tl := g.Tolerance
	tol := tolerance{k: tl.K, lossRel: tl.LossRel, valueRel: tl.ValueRel, updateRel: tl.UpdateRel, gradRel: tl.GradRel}
	horizon := c.Horizon
	if e, ok := tl.Exceptions[c.Model+"/"+c.Optimizer]; ok {
		tol.updateRel = e.UpdateRel
		if e.Horizon > 0 {
			horizon = min(horizon, e.Horizon)
		}
	}
	return tol, horizon
}

// TestStepConformance replays every model × optimizer case of the goldens
// (mlp-small, mlp-bn, logreg, cnn-small × sgd, momentum, nesterov, adam,
// adamw, rmsprop, adagrad) on the pure-Go backend and checks the loss at every
// step and, up to each case's horizon, the gradients' norms and sums and the
// variables' norms, sums and 32 sampled elements.
func TestStepConformance(t *testing.T) {
	g := loadGoldens(t)
	worst := map[string]float64{}
	worstAt := map[string]string{}
	seen := map[string]bool{}
	step1Loss := 0.0
	for _, c := range g.Cases {
		seen[c.Model+"/"+c.Optimizer] = true
		t.Run(c.Model+"/"+c.Optimizer, func(t *testing.T) {
			tol, _ := caseRule(g, c)
			chk := newChecker(tol)
			replay(t, g, c, chk, "")
			for i, f := range chk.failures {
				if i == 10 {
					t.Errorf("... and %d more", len(chk.failures)-10)
					break
				}
				t.Error(f)
			}
			step1Loss = max(step1Loss, chk.step1Loss)
			for k, r := range chk.worst {
				if r > worst[k] {
					worst[k], worstAt[k] = r, chk.worstAt[k]
				}
			}
		})
	}
	for _, m := range []string{"mlp-small", "mlp-bn", "logreg", "cnn-small"} {
		for _, o := range []string{"sgd", "momentum", "nesterov", "adam", "adamw", "rmsprop", "adagrad"} {
			if !seen[m+"/"+o] {
				t.Errorf("the goldens have no case %s/%s", m, o)
			}
		}
	}
	kinds := make([]string, 0, len(worst))
	for k := range worst {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var b strings.Builder
	for _, k := range kinds {
		fmt.Fprintf(&b, "\n  %-12s %.3f of the allowance at %s", k, worst[k], worstAt[k])
	}
	t.Logf("largest differences, as fractions of their allowance:%s", b.String())
	t.Logf("largest relative difference of the loss at step 1: %.2g", step1Loss)
}

// TestStepConformanceCatchesFlippedGradient negates one gradient before the
// update (a sign error in a model's backward pass or in an optimizer) and
// checks that the comparison fails, and fails at the first step.
func TestStepConformanceCatchesFlippedGradient(t *testing.T) {
	g := loadGoldens(t)
	tests := []struct{ model, optimizer, negate string }{
		{"mlp-small", "sgd", "out.bias"},
		{"mlp-bn", "adam", "bn.weight"},
		{"logreg", "rmsprop", "out.weight"},
		{"cnn-small", "momentum", "conv1.bias"},
	}
	for _, tc := range tests {
		t.Run(tc.model+"/"+tc.optimizer+"/-"+tc.negate, func(t *testing.T) {
			var c *goldenCase
			for i := range g.Cases {
				if g.Cases[i].Model == tc.model && g.Cases[i].Optimizer == tc.optimizer {
					c = &g.Cases[i]
				}
			}
			if c == nil {
				t.Fatalf("no case %s/%s", tc.model, tc.optimizer)
			}
			short := *c
			short.Steps = c.Steps[:1]
			tol, _ := caseRule(g, *c)
			chk := newChecker(tol)
			replay(t, g, short, chk, tc.negate)
			if len(chk.failures) == 0 {
				t.Fatalf("negating the gradient of %s passed the comparison", tc.negate)
			}
			if !strings.Contains(chk.failures[0], tc.negate) {
				t.Errorf("first failure does not name %s: %s", tc.negate, chk.failures[0])
			}
			t.Logf("%d comparisons failed at step 1, e.g. %s", len(chk.failures), chk.failures[0])
		})
	}
}
