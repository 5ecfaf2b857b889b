package diagnostics

import (
	stdctx "context"
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

// TestCompareSolutions trains two optimizers from two seeds and checks what a
// notebook relies on: one solution per optimizer and seed, values paired by
// seed, the line joining the first seed's two solutions (its ends are the
// solutions' own training losses), each random plane centred on its solution,
// and a resumed comparison keeping the seeds it was given.
func TestCompareSolutions(t *testing.T) {
	d := testData(t)
	data := &optlab.Data{Train: d.Train.Slice("train", 0, 200), Val: d.Val.Slice("val", 0, 100), Test: d.Test.Slice("test", 0, 100), ValSplit: d.ValSplit}
	specs, err := optlab.ParseSpecs("sgd(lr=0.1)", "adam(lr=1e-3)")
	if err != nil {
		t.Fatal(err)
	}
	specs[0].Label, specs[1].Label = "SGD", "Adam"
	var partial *Solutions
	cfg := SolutionsConfig{
		Train:      optlab.Config{Model: "mlp-small", Epochs: 1, BatchSize: 50},
		Optimizers: specs, Seeds: []int64{3, 4},
		Sharpness: SharpnessConfig{Hessian: HessianConfig{Examples: 100}, Eigen: EigenConfig{MaxIters: 15, Seed: 1}, TraceSamples: 2},
		Slices:    true, Slice: SliceConfig{Points: 5, Seed: 9}, Snapshots: 3,
		OnSeed: func(s *Solutions) error {
			if partial == nil {
				c := *s
				partial = &c
			}
			return nil
		},
	}
	res, err := CompareSolutions(stdctx.Background(), testBackend(t), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 4 || len(res.Seeds) != 2 || res.Seeds[0] != 3 {
		t.Fatalf("%d runs, seeds %v", len(res.Runs), res.Seeds)
	}
	for _, r := range res.Runs {
		if r.History.Seed != r.Seed || r.History.Label != r.Label {
			t.Errorf("run %s seed %d holds the history of %s seed %d", r.Label, r.Seed, r.History.Label, r.History.Seed)
		}
		if !(r.Sharpness.TopEigenvalue > 0) || r.Sharpness.Trace == 0 || r.Sharpness.Examples != 100 {
			t.Errorf("%s seed %d: sharpness %+v", r.Label, r.Seed, r.Sharpness)
		}
		if math.Abs(r.Gap()-(r.TrainAccuracy-r.History.TestAccuracy)) > 1e-15 {
			t.Errorf("gap %v", r.Gap())
		}
	}
	sgd, err := res.Values("SGD", Sharpest)
	if err != nil || len(sgd) != 2 {
		t.Fatalf("values: %v, %v", sgd, err)
	}
	if s, _ := res.Find("SGD", 4); sgd[1] != s.Sharpness.TopEigenvalue {
		t.Errorf("values are not in seed order: %v", sgd)
	}
	if _, err := res.Values("RMSprop", Sharpest); err == nil {
		t.Error("values of an unknown label: no error")
	}
	// The line runs from the first seed's SGD solution (t = 0) to its Adam
	// solution (t = 1), on the same 200 training examples as TrainLoss.
	l := res.Line
	a, _ := res.Find("SGD", 3)
	b, _ := res.Find("Adam", 3)
	if l == nil || len(l.T) != 5 || l.T[1] != 0 || l.T[3] != 1 || l.TestLoss == nil {
		t.Fatalf("line %+v", l)
	}
	if math.Abs(l.Loss[1]-a.TrainLoss) > 1e-5*a.TrainLoss || math.Abs(l.Loss[3]-b.TrainLoss) > 1e-5*b.TrainLoss {
		t.Errorf("line ends %v, %v; solutions' training losses %v, %v", l.Loss[1], l.Loss[3], a.TrainLoss, b.TrainLoss)
	}
	if l.FromName != "SGD" || l.ToName != "Adam" {
		t.Errorf("line named %s → %s", l.FromName, l.ToName)
	}
	// Each random plane is centred on its own solution.
	for i, p := range res.Planes {
		s, _ := res.Find(res.Labels[i], 3)
		if p.D1 != nil || p.Label != res.Labels[i] || math.Abs(p.Loss[2][2]-s.TrainLoss) > 1e-5*s.TrainLoss {
			t.Errorf("plane %d (%s): centre %v, solution %v", i, p.Label, p.Loss[2][2], s.TrainLoss)
		}
		if _, err := p.MeanRise(0.5); err != nil {
			t.Error(err)
		}
	}
	if len(res.Trajectories) != 2 || res.Trajectories[1].Kind != "pca" || len(res.Trajectories[1].PathX) < 3 {
		t.Errorf("trajectories %d", len(res.Trajectories))
	}
	for _, fig := range []func() error{
		func() error { f, err := res.Figure(); _ = f; return err },
		func() error { _, err := res.PlanesFigure(false); return err },
		func() error { _, err := res.PlanesFigure(true); return err },
	} {
		if err := fig(); err != nil {
			t.Errorf("figure: %v", err)
		}
	}
	// Resuming from the first seed trains only the second.
	if partial == nil || len(partial.Seeds) != 1 {
		t.Fatalf("OnSeed after the first seed saw %+v", partial)
	}
	cfg.OnSeed, cfg.Resume = nil, partial
	again, err := CompareSolutions(stdctx.Background(), testBackend(t), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Runs) != 4 || again.Runs[0].History != partial.Runs[0].History || again.Line != partial.Line {
		t.Error("resume retrained the first seed")
	}
	if again.Runs[2].Sharpness.TopEigenvalue != res.Runs[2].Sharpness.TopEigenvalue {
		t.Errorf("resumed seed 4: sharpness %v, first time %v", again.Runs[2].Sharpness.TopEigenvalue, res.Runs[2].Sharpness.TopEigenvalue)
	}
}

func TestCompareSolutionsRefusesBadConfigs(t *testing.T) {
	d := testData(t)
	specs, err := optlab.ParseSpecs("sgd(lr=0.1)", "adam(lr=1e-3)")
	if err != nil {
		t.Fatal(err)
	}
	twice := []optlab.Spec{specs[0], specs[0]}
	base := optlab.Config{Model: "logreg", Epochs: 1, BatchSize: 50}
	for _, c := range []struct {
		name string
		cfg  SolutionsConfig
		want string
	}{
		{"no optimizer", SolutionsConfig{Train: base, Seeds: []int64{1}}, "no optimizer"},
		{"no seed", SolutionsConfig{Train: base, Optimizers: specs}, "no seed"},
		{"slices of one solution", SolutionsConfig{Train: base, Optimizers: specs[:1], Seeds: []int64{1}, Slices: true}, "two solutions"},
		{"one label twice", SolutionsConfig{Train: base, Optimizers: twice, Seeds: []int64{1}}, "labelled"},
		{"a grid too fine", SolutionsConfig{Train: base, Optimizers: specs, Seeds: []int64{1}, Slices: true, Slice: SliceConfig{Points: 500}}, "points"},
		{"resume of other optimizers", SolutionsConfig{Train: base, Optimizers: specs, Seeds: []int64{1}, Resume: &Solutions{Labels: []string{"x"}}}, "resume"},
	} {
		_, err := CompareSolutions(stdctx.Background(), testBackend(t), d, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
}

func TestMeanRise(t *testing.T) {
	axis := []float64{-1, -0.5, 0, 0.5, 1}
	p := &Plane{X: axis, Y: axis}
	for _, b := range axis {
		row := make([]float64, len(axis))
		for j, a := range axis {
			row[j] = 1 + a*a + b*b
		}
		p.Loss = append(p.Loss, row)
	}
	// Within radius 0.5: the origin (rise 0) and four points at distance 0.5
	// (rise 0.25 each).
	if got, err := p.MeanRise(0.5); err != nil || math.Abs(got-0.2) > 1e-12 {
		t.Errorf("MeanRise(0.5) = %v, %v; want 0.2", got, err)
	}
	// Radius 0.75 adds the four diagonal points (rise 0.5).
	if got, _ := p.MeanRise(0.75); math.Abs(got-(4*0.25+4*0.5)/9) > 1e-12 {
		t.Errorf("MeanRise(0.75) = %v", got)
	}
	if _, err := p.MeanRise(0); err == nil {
		t.Error("radius 0: no error")
	}
	if _, err := (&Plane{}).MeanRise(1); err == nil {
		t.Error("empty plane: no error")
	}
}
