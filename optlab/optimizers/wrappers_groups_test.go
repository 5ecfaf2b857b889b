package optimizers

import (
	"math"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestWrapperGroups checks parameter groups inside a wrapper's base: the
// wrapper that reproduces its base (lookahead k=1 α=1, sam ρ=0, ema) does so
// bit for bit with groups too, each group's state is named under the
// wrapper's "base." prefix, and the spec, Groups, WithGroup and With see the
// base's groups.
func TestWrapperGroups(t *testing.T) {
	const base = "adamw(lr=0.1,weight_decay=0.5,group=biases(lr=0.02,weight_decay=0))"
	const steps = 15
	wantA, wantB := runTwoVars(t, MustParse(base), steps)
	for _, spec := range []string{
		"lookahead(base=" + base + ",k=1,alpha=1)",
		"sam(base=" + base + ",rho=0)",
		"ema(base=" + base + ")",
		"ema(base=lookahead(base=" + base + ",k=1,alpha=1))",
	} {
		opt := MustParse(spec)
		if again := MustParse(opt.String()); again.String() != opt.String() {
			t.Errorf("%s does not parse back: %s", opt, again)
		}
		if gs := opt.Groups(); len(gs) != 1 || gs[0].String() != "biases(lr=0.02,weight_decay=0)" {
			t.Errorf("%s: Groups() = %v", spec, gs)
		}
		a, b, store := runTwoVarsStore(t, opt, steps)
		if sameTrajectory([][]float64{a, b}, [][]float64{wantA, wantB}) != "" {
			t.Errorf("%s: weights %v biases %v, base alone %v %v", spec, a, b, wantA, wantB)
		}
		// Adam's moments of the grouped variable are the group's, inside the
		// wrappers' prefixes; the other variable's are the base's own.
		prefix := strings.Repeat("base.", strings.Count(spec, "base="))
		for _, path := range []string{
			StateScope + "/model/layer/biases~" + prefix + "group_biases.exp_avg",
			StateScope + "/model/layer/weights~" + prefix + "exp_avg",
		} {
			if store.GetVariable(path) == nil {
				t.Errorf("%s: no state variable %s", spec, path)
			}
		}
	}
	// With keeps the base's groups; WithGroup adds one to the base.
	la := MustParse("lookahead(base=adamw(weight_decay=0.5,group=biases(weight_decay=0)))")
	la2, err := la.With("weight_decay", 0.1)
	if err != nil || !strings.Contains(la2.String(), "weight_decay=0.1,amsgrad=false,bias_correction=true,keras=false,group=biases(weight_decay=0)),k=5") {
		t.Errorf("With(weight_decay) = %v, %v", la2, err)
	}
	la3, err := la.WithGroup("out", map[string]float64{"lr": 0.5})
	if err != nil || len(la3.Groups()) != 2 || !strings.Contains(la3.String(), "group=biases(weight_decay=0),group=out(lr=0.5)),k=5") {
		t.Errorf("WithGroup = %v, %v", la3, err)
	}
}

func TestWrapperGroupErrors(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"lookahead(base=adam,group=biases(lr=0.1))", "group belongs to the base optimizer: put it inside base=..."},
		{"cautious(base=adam(group=biases(lr=0.1)))", "must have no parameter groups (adam has 1)"},
		{"lookahead(base=adam,b1=0.5)", "unknown key for lookahead (valid: base, k, alpha; the base optimizer's keys go inside base=...)"},
	} {
		_, err := Parse(tc.spec)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.spec, err, tc.want)
		}
	}
	if _, err := MustParse("cautious(base=adam)").WithGroup("biases", map[string]float64{"lr": 0.1}); err == nil ||
		!strings.Contains(err.Error(), "must have no parameter groups") {
		t.Errorf("cautious WithGroup: %v", err)
	}
}

// TestWrapperArgs checks the canonical arguments of wrappers (which String
// prints and sweeps label trials with) and their Structure.
func TestWrapperArgs(t *testing.T) {
	o := MustParse("lookahead(base=adam(lr=0.01,clip_norm=1),k=7)")
	var got []string
	for _, a := range o.Args() {
		got = append(got, a.Key+"|"+a.Value+"|"+map[bool]string{true: "default", false: "set"}[a.Default])
	}
	want := []string{
		"base|adam(lr=0.01,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false,clip_norm=1)|set",
		"k|7|set", "alpha|0.5|default",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Args:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Enum keys are arguments, flagged default or not.
	for _, a := range MustParse("adabelief(form=authors)").Args() {
		if a.Key == "form" && (a.Value != "authors" || a.Default) {
			t.Errorf("adabelief form arg %+v", a)
		}
	}
	for _, tc := range []struct{ a, b string }{
		{"lookahead(base=adagrad)", "lookahead(base=adadelta)"},
		{"lookahead(base=adam)", "ema(base=adam)"},
		{"adabelief", "adabelief(form=authors)"},
		{"lookahead(base=adam)", "lookahead(base=adam(clip_norm=1))"},
	} {
		if sa, sb := MustParse(tc.a).Structure(), MustParse(tc.b).Structure(); sa == sb {
			t.Errorf("%s and %s share the structure %s", tc.a, tc.b, sa)
		}
	}
	if got := MustParse("lookahead(base=sgd(lr=0.1),k=3)").Structure(); got != "lookahead(base=sgd(nesterov=false))" {
		t.Errorf("Structure() = %s", got)
	}
}

// TestTelemetryNewRules checks the step sizes the newer adaptive rules report
// (AdaBelief's η/(√ŝ + ε) recomputed by hand over two steps), that a
// wrapper reports its base's, and sam's telemetry, which describes the
// gradient at the perturbed point.
func TestTelemetryNewRules(t *testing.T) {
	a, w0, b0 := []float64{1, 4, 9}, []float64{1, -2, 0.5}, []float64{0.3, -0.1}
	const eta, b1, b2, eps = 0.01, 0.9, 0.999, 1e-16
	p := append([]float64(nil), w0...)
	m, s := make([]float64, 3), make([]float64, 3)
	var want []float64
	for tt := 1; tt <= 2; tt++ {
		want = make([]float64, 3)
		upd := make([]float64, 3)
		for i := range p {
			g := a[i] * p[i]
			m[i] = b1*m[i] + (1-b1)*g
			s[i] = b2*s[i] + (1-b2)*(g-m[i])*(g-m[i]) + eps
			sHat := (s[i] + eps) / (1 - math.Pow(b2, float64(tt)))
			want[i] = eta / (math.Sqrt(sHat) + eps)
			upd[i] = -want[i] * m[i] / (1 - math.Pow(b1, float64(tt)))
		}
		for i := range p {
			p[i] += upd[i]
		}
	}
	_, _, _, _, ss := telemetryRun(t, MustParse("adabelief(lr=0.01)"), a, w0, b0)
	for i := range want {
		if math.Abs(ss[0][i]-want[i]) > 1e-12*want[i] {
			t.Errorf("adabelief step size %d = %v, want %v", i, ss[0][i], want[i])
		}
	}
	for _, spec := range []string{"yogi", "adan", "ademamix", "prodigy"} {
		if _, _, _, _, ss := telemetryRun(t, MustParse(spec), a, w0, b0); len(ss[0]) != 3 || len(ss[1]) != 2 {
			t.Errorf("%s reported step sizes %v", spec, ss)
		}
	}
	// lookahead before its first synchronisation (k = 5) is Adam, step sizes included.
	_, _, _, _, adam := telemetryRun(t, MustParse("adam(lr=0.01)"), a, w0, b0)
	_, _, _, _, la := telemetryRun(t, MustParse("lookahead(base=adam(lr=0.01))"), a, w0, b0)
	for i := range adam[0] {
		if la[0][i] != adam[0][i] {
			t.Errorf("lookahead(adam) step size %d = %v, adam %v", i, la[0][i], adam[0][i])
		}
	}

	// sam: one step of sam(sgd) from w0 on f = Σ ½·a·w², telemetry through
	// UpdateGraphWithLossFuncAndTelemetry (UpdateGraphWithTelemetry refuses it).
	const rho, lr = 0.05, 0.1
	store := model.NewStore()
	wVar := store.VariableWithValue("/model/l/weights", append([]float64(nil), w0...))
	opt := MustParse("sam(base=sgd(lr=0.1),rho=0.05)")
	exec, err := model.NewExec(testBackend(t), store, func(scope *model.Scope, g *Graph) []*Node {
		_, tel := opt.UpdateGraphWithLossFuncAndTelemetry(scope, g, func() *Node {
			return quadraticGraph(a, make([]float64, len(a)))(wVar.NodeValue(g))
		})
		return tel.Outputs()
	})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := exec.Call()
	if err != nil {
		t.Fatal(err)
	}
	g0 := make([]float64, 3)
	for i := range g0 {
		g0[i] = a[i] * w0[i]
	}
	n0 := norm(g0)
	gp := make([]float64, 3)
	for i := range gp {
		gp[i] = a[i] * (w0[i] + rho*g0[i]/n0)
	}
	if got := tensors.ToScalar[float64](outs[1]); math.Abs(got-norm(gp)) > 1e-12*norm(gp) {
		t.Errorf("sam gradient norm %v, want ‖∇f(p + e)‖ = %v (‖∇f(p)‖ = %v)", got, norm(gp), n0)
	}
	if got := tensors.ToScalar[float64](outs[3]); math.Abs(got-lr*norm(gp)) > 1e-12*lr*norm(gp) {
		t.Errorf("sam update norm %v, want %v", got, lr*norm(gp))
	}
	bad, err := model.NewExec(testBackend(t), model.NewStore(), func(scope *model.Scope, g *Graph) *Node {
		w := scope.VariableWithValue("w", []float64{1, 2}).NodeValue(g)
		opt.UpdateGraphWithTelemetry(scope, g, ReduceAllSum(Square(w)))
		return w
	})
	if err == nil {
		_, err = bad.Call()
	}
	if err == nil || !strings.Contains(err.Error(), "UpdateGraphWithLossFunc") {
		t.Errorf("UpdateGraphWithTelemetry with sam: %v", err)
	}
}
