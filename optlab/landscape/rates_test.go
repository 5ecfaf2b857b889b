package landscape

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"optlab.dev/optlab/functions"
)

// TestMomentumRateClosedForms checks the predicted rates against the known
// closed forms on a quadratic with curvatures 1 and κ.
func TestMomentumRateClosedForms(t *testing.T) {
	const kappa = 20.0
	sk := math.Sqrt(kappa)
	for _, tc := range []struct {
		name         string
		family       string
		lr, beta     float64
		want         float64
		wantAtLeast1 bool
	}{
		{"gradient descent: max |1 − ηλ|", "momentum", 0.05, 0, 0.95, false},
		{"gradient descent at its best rate 2/(1+κ)", "sgd", 2 / (1 + kappa), 0, (kappa - 1) / (kappa + 1), false},
		{"gradient descent beyond 2/λmax diverges", "momentum", 0.11, 0, 1.2, true},
		{"heavy ball at Polyak's optimum", "momentum", 4 / ((sk + 1) * (sk + 1)), ((sk - 1) / (sk + 1)) * ((sk - 1) / (sk + 1)), (sk - 1) / (sk + 1), false},
		{"heavy ball, complex roots: √β", "momentum", 0.05, 0.9, math.Sqrt(0.9), false},
		{"Nesterov without momentum is gradient descent", "nesterov", 0.05, 0, 0.95, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MomentumRate(tc.family, tc.lr, tc.beta, 1, kappa)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("rate %v, want %v", got, tc.want)
			}
			if (got >= 1) != tc.wantAtLeast1 {
				t.Errorf("rate %v: converges = %v, want %v", got, got < 1, !tc.wantAtLeast1)
			}
		})
	}
	lr, beta, rate := OptimalHeavyBall(1, kappa)
	if got, _ := MomentumRate("momentum", lr, beta, 1, kappa); math.Abs(got-rate) > 1e-12 {
		t.Errorf("OptimalHeavyBall's rate %v does not match MomentumRate's %v", rate, got)
	}
	glr, grate := OptimalGD(1, kappa)
	if got, _ := MomentumRate("sgd", glr, 0, 1, kappa); math.Abs(got-grate) > 1e-12 {
		t.Errorf("OptimalGD's rate %v does not match MomentumRate's %v", grate, got)
	}
	// Optimal means optimal: nearby settings do no better.
	for _, d := range []float64{0.97, 1.03} {
		if got, _ := MomentumRate("momentum", lr*d, beta, 1, kappa); got < rate-1e-12 {
			t.Errorf("lr × %v gives rate %v below the optimum %v", d, got, rate)
		}
		if got, _ := MomentumRate("sgd", glr*d, 0, 1, kappa); got < grate-1e-12 {
			t.Errorf("GD lr × %v gives rate %v below the optimum %v", d, got, grate)
		}
	}
}

func TestMomentumRateRejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		family           string
		lr, beta, lo, hi float64
		want             string
	}{
		{"adam", 0.1, 0, 1, 10, `family "adam"`},
		{"momentum", 0, 0, 1, 10, "lr 0"},
		{"momentum", 0.1, 1, 1, 10, "momentum 1"},
		{"momentum", 0.1, 0.5, 0, 10, "curvatures [0, 10]"},
		{"momentum", 0.1, 0.5, 10, 1, "curvatures [10, 1]"},
		{"momentum", math.NaN(), 0.5, 1, 10, "lr NaN"},
	} {
		r, err := MomentumRate(tc.family, tc.lr, tc.beta, tc.lo, tc.hi)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !math.IsNaN(r) {
			t.Errorf("MomentumRate(%q, %v, %v, %v, %v) = %v, %v: want NaN and an error naming %q", tc.family, tc.lr, tc.beta, tc.lo, tc.hi, r, err, tc.want)
		}
	}
}

func TestCurvatures(t *testing.T) {
	for _, tc := range []struct {
		function string
		lo, hi   float64
		ok       bool
	}{
		{"ill-conditioned(kappa=20,angle=30)", 1, 20, true},
		{"ill-conditioned(kappa=100,angle=0)", 1, 100, true},
		{"rosenbrock", 0, 0, false},
	} {
		f, err := functions.Get(tc.function)
		if err != nil {
			t.Fatal(err)
		}
		lo, hi, ok := Curvatures(f)
		if ok != tc.ok || (ok && (math.Abs(lo-tc.lo) > 1e-9*tc.hi || math.Abs(hi-tc.hi) > 1e-9*tc.hi)) {
			t.Errorf("%s: curvatures %v, %v (quadratic %v), want %v, %v (%v)", tc.function, lo, hi, ok, tc.lo, tc.hi, tc.ok)
		}
	}
}

// TestRatesMatchTheory runs optlab's compiled optimizers on
// quadratics of two condition numbers at the optimal settings: the measured
// rates match the closed forms, and momentum's steps per digit grow like √κ
// while gradient descent's grow like κ.
func TestRatesMatchTheory(t *testing.T) {
	backend := goBackend(t)
	perDigit := map[string][]float64{}
	for _, kappa := range []float64{16, 64} {
		fn := "ill-conditioned(kappa=" + strings.TrimRight(strings.TrimRight(strconvF(kappa), "0"), ".") + ",angle=30)"
		lr, rate := OptimalGD(1, kappa)
		hlr, beta, hrate := OptimalHeavyBall(1, kappa)
		// Nesterov with the usual choice for strongly convex quadratics:
		// η = 1/λmax, β = (√κ − 1)/(√κ + 1).
		nbeta := (math.Sqrt(kappa) - 1) / (math.Sqrt(kappa) + 1)
		specs := mustSpecs(t, "sgd(lr="+strconvF(lr)+")", "sgd(lr="+strconvF(hlr)+",momentum="+strconvF(beta)+")",
			"nesterov(lr="+strconvF(1/kappa)+",momentum="+strconvF(nbeta)+")")
		res, err := Run(backend, Config{Function: fn, Optimizers: specs, Steps: 400})
		if err != nil {
			t.Fatal(err)
		}
		got, err := res.Rates()
		if err != nil {
			t.Fatal(err)
		}
		if tab := RateTable("rates", got).String(); !strings.Contains(tab, "measured ρ") || !strings.Contains(tab, "converges") {
			t.Errorf("rate table:\n%s", tab)
		}
		nrate, err := MomentumRate("nesterov", 1/kappa, nbeta, 1, kappa)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []float64{rate, hrate, nrate} {
			c := got[i]
			if c.Kappa < kappa*(1-1e-9) || c.Kappa > kappa*(1+1e-9) {
				t.Errorf("%s: κ %v, want %v", c.Spec, c.Kappa, kappa)
			}
			// At heavy ball's optimum the two roots coincide (a zero
			// discriminant, computed to rounding): ~1e-8 of noise.
			if math.Abs(c.Predicted-want) > 1e-6 {
				t.Errorf("%s: predicted %v, want %v", c.Spec, c.Predicted, want)
			}
			// A double root makes the distance shrink as k·ρᵏ, which a
			// short path measures a little above ρ (see MeasuredRate).
			if math.Abs(c.Measured-c.Predicted) > 0.03*c.Predicted {
				t.Errorf("%s on κ=%v: measured %.4f, predicted %.4f", c.Spec, kappa, c.Measured, c.Predicted)
			}
		}
		if a := RateAgreement(got); !(a < 0.03) {
			t.Errorf("rate agreement %v, want < 3%%", a)
		}
		meas, pred := got[0].Series("gd", 0)
		if len(meas.Y) != 401 || len(pred.Y) != 401 || math.Abs(meas.Y[0]-pred.Y[0]) > 1e-12*meas.Y[0] || !pred.Dashed || pred.Group != meas.Group {
			t.Errorf("series: %d measured and %d predicted points, starting at %v and %v", len(meas.Y), len(pred.Y), meas.Y[0], pred.Y[0])
		}
		// The predicted gap after 50 steps is gap₀·ρ¹⁰⁰; gradient descent at
		// its optimum has real roots and follows it closely.
		if r := meas.Y[50] / pred.Y[50]; r < 0.5 || r > 2 {
			t.Errorf("gd: measured gap after 50 steps is %.3g× the predicted one", r)
		}
		if nrate >= 1 {
			t.Errorf("nesterov: predicted rate %v", nrate)
		}
		perDigit["gd"] = append(perDigit["gd"], StepsPerDigit(got[0].Predicted))
		perDigit["hb"] = append(perDigit["hb"], StepsPerDigit(got[1].Predicted))
	}
	// κ × 4: GD needs about 4× the steps, heavy ball about 2×.
	if r := perDigit["gd"][1] / perDigit["gd"][0]; r < 3.8 || r > 4.2 {
		t.Errorf("GD steps per digit grew %.2f× for κ × 4, want ≈ 4", r)
	}
	if r := perDigit["hb"][1] / perDigit["hb"][0]; r < 1.8 || r > 2.3 {
		t.Errorf("heavy-ball steps per digit grew %.2f× for κ × 4, want ≈ 2", r)
	}
}

func TestRatesRefuses(t *testing.T) {
	backend := goBackend(t)
	rates := func(fn, spec string) error {
		res, err := Run(backend, Config{Function: fn, Optimizers: mustSpecs(t, spec), Steps: 10})
		if err != nil {
			t.Fatal(err)
		}
		_, err = res.Rates()
		return err
	}
	if err := rates("rosenbrock", "sgd(lr=0.001)"); err == nil || !strings.Contains(err.Error(), "not a quadratic") {
		t.Errorf("rosenbrock: %v", err)
	}
	for spec, want := range map[string]string{
		"adam(lr=0.1)":                           "family adam",
		"sgd(lr=0.1,momentum=0.5,dampening=0.5)": "dampening=0.5",
		"sgd(lr=0.1,schedule=cosine(steps=10))":  "schedule",
	} {
		if err := rates("ill-conditioned", spec); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %q", spec, err, want)
		}
	}
}

func TestMeasuredRateGeometric(t *testing.T) {
	// An exact geometric path (with an oscillating sign, as complex roots give).
	var params [][]float64
	for k := range 100 {
		d := math.Pow(0.9, float64(k)) * (1 + 0.3*math.Cos(float64(k)))
		params = append(params, []float64{1 + d, 2})
	}
	if r := MeasuredRate(params, [][2]float64{{1, 2}}); math.Abs(r-0.9) > 0.005 {
		t.Errorf("measured %v, want ≈ 0.9", r)
	}
	if r := MeasuredRate(params[:5], [][2]float64{{1, 2}}); !math.IsNaN(r) {
		t.Errorf("a 5-step path: %v, want NaN", r)
	}
	if r := MeasuredRate(params, nil); !math.IsNaN(r) {
		t.Errorf("no minimum: %v, want NaN", r)
	}
	if got := StepsPerDigit(0.1); math.Abs(got-1) > 1e-12 {
		t.Errorf("StepsPerDigit(0.1) = %v, want 1", got)
	}
	if got := StepsPerDigit(1); !math.IsInf(got, 1) {
		t.Errorf("StepsPerDigit(1) = %v, want +Inf", got)
	}
}

func strconvF(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
