package notebook

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

func newExplorer(t *testing.T, cfg ExplorerConfig) *Explorer {
	t.Helper()
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewExplorer(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestExplorerMeasuresThePredictedRate runs optlab's momentum optimizer on
// the ill-conditioned quadratic and checks that its path contracts at the
// rate the characteristic polynomial predicts: the derivation and the
// implementation agree.
func TestExplorerMeasuresThePredictedRate(t *testing.T) {
	for _, family := range []string{"momentum", "nesterov"} {
		e := newExplorer(t, ExplorerConfig{Optimizer: family, Functions: []ExplorerFunction{
			{Function: "ill-conditioned(kappa=20,angle=30)", LRMin: 1e-3, LRMax: 1, LR: 0.02, Momentum: 0.6, Steps: 200},
		}})
		for _, s := range []ExplorerState{e.Initial(), {LR: e.Initial().LR, Momentum: 0}, {LR: e.Initial().LR + 8, Momentum: 85}} {
			v, err := e.Render(s)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(v.Rate) || math.IsNaN(v.MeasuredRate) {
				t.Fatalf("%s: rate %v, measured %v: want both", v.Spec, v.Rate, v.MeasuredRate)
			}
			if math.Abs(v.MeasuredRate-v.Rate) > 0.01*v.Rate {
				t.Errorf("%s: measured rate %.4f, predicted %.4f", v.Spec, v.MeasuredRate, v.Rate)
			}
			if !strings.Contains(v.Text, "theory predicts") {
				t.Errorf("%s: text lacks the prediction: %s", v.Spec, v.Text)
			}
		}
	}
}

func TestExplorerStates(t *testing.T) {
	e := newExplorer(t, ExplorerConfig{})
	if got := e.Names(); len(got) != 2 || got[0] != "ill-conditioned" || got[1] != "rosenbrock" {
		t.Fatalf("functions %v", got)
	}
	// 3 decades at 12 positions each.
	if n := e.LRPositions(); n != 37 {
		t.Errorf("LRPositions() = %d, want 37", n)
	}
	for i, f := range DefaultExplorerFunctions() {
		lr, m := e.Values(e.Start(i))
		if math.Abs(math.Log10(lr/f.LR)) > 0.5/12 || m != f.Momentum {
			t.Errorf("Start(%d) gives lr %v momentum %v, want about %v and %v", i, lr, m, f.LR, f.Momentum)
		}
	}
	for _, tc := range []struct {
		s    ExplorerState
		spec string
	}{
		{ExplorerState{Function: 0, LR: 0, Momentum: 0}, "sgd(lr=0.001)"},
		{ExplorerState{Function: 0, LR: 36, Momentum: 99}, "momentum(lr=1,momentum=0.99)"},
		{ExplorerState{Function: 1, LR: 12, Momentum: 50}, "momentum(lr=0.0001,momentum=0.5)"},
		{ExplorerState{Function: 7, LR: -3, Momentum: 500}, "momentum(lr=1e-05,momentum=0.99)"}, // clamped
	} {
		if got := e.Spec(tc.s); got != tc.spec {
			t.Errorf("Spec(%+v) = %q, want %q", tc.s, got, tc.spec)
		}
	}
}

func TestExplorerRenderRedraws(t *testing.T) {
	e := newExplorer(t, ExplorerConfig{})
	png := func(s ExplorerState) []byte {
		v, err := e.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		b, err := v.Figure.PNG()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	start := e.Initial()
	a, again := png(start), png(start)
	if !bytes.Equal(a, again) {
		t.Error("the same state drew two different figures")
	}
	moved := start
	moved.Momentum += 30
	if bytes.Equal(a, png(moved)) {
		t.Error("moving the momentum slider did not change the figure")
	}
	// A learning rate far beyond the stability limit diverges and is drawn, not an error.
	v, err := e.Render(ExplorerState{Function: 0, LR: e.LRPositions() - 1, Momentum: 0})
	if err != nil {
		t.Fatal(err)
	}
	if v.Outcome.Diverged == "" && v.Outcome.Loss < 1 {
		t.Errorf("%s on the quadratic should blow up, got loss %v", v.Spec, v.Outcome.Loss)
	}
	if !(v.Rate > 1) {
		t.Errorf("%s: predicted rate %v, want > 1", v.Spec, v.Rate)
	}
	// Rosenbrock is not a quadratic: no prediction.
	r, err := e.Render(e.Start(1))
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(r.Rate) || strings.Contains(r.Text, "theory predicts") {
		t.Errorf("Rosenbrock got a predicted rate %v: %s", r.Rate, r.Text)
	}
}

func TestNewExplorerErrors(t *testing.T) {
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	ok := ExplorerFunction{Function: "rosenbrock", LRMin: 1e-5, LRMax: 1e-2, LR: 1e-3, Momentum: 0.9, Steps: 100}
	with := func(change func(f *ExplorerFunction)) []ExplorerFunction {
		f := ok
		change(&f)
		return []ExplorerFunction{f}
	}
	for _, tc := range []struct {
		name string
		cfg  ExplorerConfig
		want string
	}{
		{"unknown function", ExplorerConfig{Functions: with(func(f *ExplorerFunction) { f.Function = "rosenbrok" })}, `unknown test function "rosenbrok"`},
		{"empty range", ExplorerConfig{Functions: with(func(f *ExplorerFunction) { f.LRMax = f.LRMin })}, "learning-rate range"},
		{"start outside the range", ExplorerConfig{Functions: with(func(f *ExplorerFunction) { f.LR = 1 })}, "starting learning rate 1 is outside"},
		{"momentum 1", ExplorerConfig{Functions: with(func(f *ExplorerFunction) { f.Momentum = 1 })}, "starting momentum 1"},
		{"no steps", ExplorerConfig{Functions: with(func(f *ExplorerFunction) { f.Steps = 0 })}, "0 steps"},
		{"unknown optimizer", ExplorerConfig{Optimizer: "adam"}, `optimizer "adam"`},
		{"too fine a slider", ExplorerConfig{PerDecade: 1000}, "1000 learning-rate positions per decade"},
		{"too wide a range", ExplorerConfig{Functions: with(func(f *ExplorerFunction) { f.LRMin = 1e-300 })}, "too many decades"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewExplorer(b, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := NewExplorer(nil, ExplorerConfig{}); err == nil {
		t.Error("no error for a nil backend")
	}
}

// BenchmarkExplorerRender measures one redraw of the explorer (the optimizer's
// path, the two panels and the PNG) as a slider move triggers it, on the
// quadratic and on Rosenbrock.
func BenchmarkExplorerRender(b *testing.B) {
	backend, err := optlab.NewBackend("go")
	if err != nil {
		b.Fatal(err)
	}
	e, err := NewExplorer(backend, ExplorerConfig{})
	if err != nil {
		b.Fatal(err)
	}
	for _, fn := range []int{0, 1} {
		b.Run(e.Names()[fn], func(b *testing.B) {
			s := e.Start(fn)
			for i := 0; i < b.N; i++ {
				s.Momentum = 10 + i%80 // a new setting each time, as a slider gives
				v, err := e.Render(s)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := v.Figure.PNG(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
