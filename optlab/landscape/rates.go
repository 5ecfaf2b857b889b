package landscape

import (
	"fmt"
	"math"

	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// Rates of convergence on quadratics, in closed form, and the rate a path
// actually shows. On f(w) = ½ wᵀHw an optimizer whose update is linear in w
// (gradient descent, heavy-ball and Nesterov momentum) moves each eigen-
// coordinate of H independently; along an eigenvector with curvature λ the
// coordinate x_k obeys a two-term recurrence whose characteristic polynomial
// is z² − bz + c, and the distance to the minimum shrinks asymptotically by
// the largest root modulus over the curvatures. The notebooks put these
// predictions next to MeasuredRate's measurement of a traced path.

// Curvatures returns the smallest and largest eigenvalue of f's Hessian when
// f is a quadratic (ok false otherwise): the differences of its analytic
// gradient along the axes, which for a quadratic are the same at every point
// (two base points are checked).
func Curvatures(f functions.TestFunction) (lo, hi float64, ok bool) {
	h, ok := quadraticHessian(f)
	if !ok {
		return 0, 0, false
	}
	lo, hi = eigen2(h)
	return lo, hi, true
}

// quadraticHessian returns f's Hessian when f is a quadratic.
func quadraticHessian(f functions.TestFunction) ([2][2]float64, bool) {
	if f.Gradient == nil {
		return [2][2]float64{}, false
	}
	hessAt := func(x, y float64) [2][2]float64 {
		gx, gy := f.Gradient(x, y)
		ax, ay := f.Gradient(x+1, y)
		bx, by := f.Gradient(x, y+1)
		return [2][2]float64{{ax - gx, bx - gx}, {ay - gy, by - gy}}
	}
	h, h2 := hessAt(0, 0), hessAt(1.7, -2.3)
	for i := range 2 {
		for j := range 2 {
			if math.Abs(h[i][j]-h2[i][j]) > 1e-9*(1+math.Abs(h[i][j])) {
				return h, false
			}
		}
	}
	return h, true
}

// eigen2 returns the eigenvalues of a symmetric 2×2 matrix, smaller first.
func eigen2(h [2][2]float64) (lo, hi float64) {
	mean := (h[0][0] + h[1][1]) / 2
	r := math.Hypot((h[0][0]-h[1][1])/2, (h[0][1]+h[1][0])/2)
	return mean - r, mean + r
}

// MomentumRate returns the asymptotic rate per step (the factor by which the
// distance to the minimum shrinks) of heavy-ball momentum (family
// "momentum": PyTorch's SGD momentum, v ← βv + g, w ← w − ηv) or Nesterov
// momentum (family "nesterov": w ← w − η(g + βv)) with learning rate lr and
// momentum beta, on a quadratic whose curvatures lie in [lo, hi]: the largest
// root modulus of z² − (1 + β − ηλ)z + β (heavy ball) or
// z² − (1 + β)(1 − ηλ)z + β(1 − ηλ) (Nesterov) over λ ∈ {lo, hi}. With
// beta = 0 both are gradient descent, max |1 − ηλ|. A rate ≥ 1 means the
// iteration does not converge. The extreme curvatures decide it: the root
// modulus of either polynomial is a quasi-convex function of λ.
func MomentumRate(family string, lr, beta, lo, hi float64) (float64, error) {
	if family != "momentum" && family != "nesterov" && family != "sgd" {
		return math.NaN(), fmt.Errorf("momentum rate: family %q: want momentum, nesterov or sgd", family)
	}
	if !(lr > 0) || !(beta >= 0 && beta < 1) || !(lo > 0 && lo <= hi) || math.IsInf(hi, 0) {
		return math.NaN(), fmt.Errorf("momentum rate: lr %v, momentum %v, curvatures [%v, %v]: want lr > 0, 0 ≤ momentum < 1, 0 < lo ≤ hi < ∞", lr, beta, lo, hi)
	}
	rate := 0.0
	for _, lambda := range []float64{lo, hi} {
		b, c := 1+beta-lr*lambda, beta
		if family == "nesterov" {
			b, c = (1+beta)*(1-lr*lambda), beta*(1-lr*lambda)
		}
		rate = math.Max(rate, maxRootModulus(b, c))
	}
	return rate, nil
}

// maxRootModulus returns the largest |z| over the roots of z² − bz + c.
func maxRootModulus(b, c float64) float64 {
	disc := b*b - 4*c
	if disc < 0 {
		return math.Sqrt(c) // complex pair: |z|² = c
	}
	s := math.Sqrt(disc)
	return math.Max(math.Abs((b+s)/2), math.Abs((b-s)/2))
}

// OptimalGD returns the learning rate that minimises gradient descent's rate
// on a quadratic with curvatures lo ≤ hi, η = 2/(lo + hi), and that rate,
// (κ − 1)/(κ + 1) with κ = hi/lo.
func OptimalGD(lo, hi float64) (lr, rate float64) {
	return 2 / (lo + hi), (hi - lo) / (hi + lo)
}

// OptimalHeavyBall returns the learning rate and momentum that minimise the
// heavy-ball rate on a quadratic with curvatures lo ≤ hi (Polyak, 1964):
// η = 4/(√hi + √lo)², β = ((√κ − 1)/(√κ + 1))², and that rate,
// (√κ − 1)/(√κ + 1) = √β.
func OptimalHeavyBall(lo, hi float64) (lr, beta, rate float64) {
	sl, sh := math.Sqrt(lo), math.Sqrt(hi)
	lr = 4 / ((sh + sl) * (sh + sl))
	rate = (sh - sl) / (sh + sl)
	return lr, rate * rate, rate
}

// MeasuredRate estimates the per-step contraction of the distance from a
// traced path to the nearest of minima: the slope of a least-squares line
// through log(distance) over the second half of the path that is still well
// above rounding level (a line, not two end points, because with complex
// roots the distance oscillates around its trend). Where the two roots
// coincide (heavy ball at its optimal setting) the distance shrinks as k·ρᵏ,
// and a short path measures slightly more than ρ: by about a factor
// e^(1/k) over steps near k. It returns NaN when there
// is no minimum, the path is too short or does not come down from its start.
func MeasuredRate(params [][]float64, minima [][2]float64) float64 {
	if len(minima) == 0 || len(params) < 3 {
		return math.NaN()
	}
	dist := make([]float64, len(params))
	for k, p := range params {
		if len(p) < 2 {
			return math.NaN()
		}
		dist[k] = math.Inf(1)
		for _, m := range minima {
			dist[k] = math.Min(dist[k], math.Hypot(p[0]-m[0], p[1]-m[1]))
		}
		if math.IsNaN(dist[k]) {
			return math.NaN()
		}
	}
	if !(dist[0] > 0) || math.IsInf(dist[0], 0) {
		return math.NaN()
	}
	end := len(dist) - 1
	for end > 0 && !(dist[end] > 1e-10*dist[0]) {
		end--
	}
	start := end / 2
	if end-start < 8 {
		return math.NaN()
	}
	var sx, sy, sxx, sxy, n float64
	for k := start; k <= end; k++ {
		if !(dist[k] > 0) || math.IsInf(dist[k], 0) {
			continue
		}
		x, y := float64(k), math.Log(dist[k])
		sx, sy, sxx, sxy, n = sx+x, sy+y, sxx+x*x, sxy+x*y, n+1
	}
	if n < 8 {
		return math.NaN()
	}
	return math.Exp((n*sxy - sx*sy) / (n*sxx - sx*sx))
}

// Rate is an Outcome's measured contraction rate (MeasuredRate of its path
// toward f's minima); NaN when the path diverged.
func (o Outcome) Rate(f functions.TestFunction) float64 {
	if o.Diverged != "" || o.Trace == nil {
		return math.NaN()
	}
	return MeasuredRate(o.Trace.Params, f.Minima)
}

// RateCheck is one optimizer's rate of convergence on a quadratic: what the
// characteristic polynomial predicts and what its path shows.
type RateCheck struct {
	// Spec is the optimizer's label.
	Spec string
	// Lo and Hi are the quadratic's extreme curvatures, Kappa = Hi/Lo.
	Lo, Hi, Kappa float64
	// Predicted is MomentumRate for the optimizer's learning rate and
	// momentum; Measured is its path's MeasuredRate.
	Predicted, Measured float64
	// Outcome is the run itself (its path, loss and steps to tolerance).
	Outcome Outcome
}

// StepsPerDigit returns the number of steps a rate needs to shrink the
// distance to the minimum tenfold, ln 10 / −ln ρ (+Inf for ρ ≥ 1).
func StepsPerDigit(rate float64) float64 {
	if !(rate < 1) {
		return math.Inf(1)
	}
	return math.Ln10 / -math.Log(rate)
}

// Rates returns, for each run of r, the rate its learning rate and momentum
// predict next to the rate its path shows. It fails if r's function is not a
// quadratic or a run's optimizer has no closed-form rate (families sgd,
// momentum and nesterov without dampening, weight decay or schedule).
func (r *Result) Rates() ([]RateCheck, error) {
	lo, hi, ok := Curvatures(r.Function)
	if !ok {
		return nil, fmt.Errorf("rates: %s is not a quadratic: no closed-form rate", r.Function.Name)
	}
	out := make([]RateCheck, len(r.Runs))
	for i, run := range r.Runs {
		if run.Trace == nil {
			return nil, fmt.Errorf("rates: %s has no trajectory", run.Spec)
		}
		opt, err := optimizers.Parse(run.Trace.Optimizer)
		if err != nil {
			return nil, fmt.Errorf("rates: %s: %w", run.Spec, err)
		}
		kind, beta, err := linearMomentum(opt)
		if err != nil {
			return nil, fmt.Errorf("rates: %s: %w", run.Spec, err)
		}
		pred, err := MomentumRate(kind, opt.LearningRate(), beta, lo, hi)
		if err != nil {
			return nil, fmt.Errorf("rates: %s: %w", run.Spec, err)
		}
		out[i] = RateCheck{Spec: run.Spec, Lo: lo, Hi: hi, Kappa: hi / lo, Predicted: pred, Measured: run.Rate(r.Function), Outcome: run}
	}
	return out, nil
}

// RateTable shows rate checks side by side: predicted and measured rate,
// the steps per digit each implies, and the first step within the
// tolerance of the minimum (−1: not reached).
func RateTable(title string, checks []RateCheck) *plots.Table {
	t := plots.NewTable(title, "optimizer", "κ", "predicted ρ", "measured ρ", "steps per digit (predicted)", "first step within tolerance", "result")
	for _, c := range checks {
		result := "converges"
		switch {
		case c.Outcome.Diverged != "":
			result = "diverged"
		case c.Predicted >= 1:
			result = "does not converge"
		}
		_ = t.AddRow(c.Spec, c.Kappa, c.Predicted, c.Measured, StepsPerDigit(c.Predicted), c.Outcome.StepsToTol, result)
	}
	return t
}

// linearMomentum returns the kind ("momentum" for heavy ball, "nesterov") and
// momentum of an optimizer whose update is linear in the gradient with a
// closed-form rate: sgd, momentum or nesterov without dampening, weight decay
// or schedule.
func linearMomentum(o *optimizers.Optimizer) (kind string, beta float64, err error) {
	switch o.Family() {
	case "sgd", "momentum", "nesterov":
	default:
		return "", 0, fmt.Errorf("family %s has no closed-form rate (sgd, momentum or nesterov)", o.Family())
	}
	for _, key := range []string{"dampening", "weight_decay"} {
		if v, ok := o.Get(key); ok && v != 0 {
			return "", 0, fmt.Errorf("%s=%g: the closed-form rate assumes 0", key, v)
		}
	}
	if o.Schedule() != nil {
		return "", 0, fmt.Errorf("schedule %s: the closed-form rate assumes a constant learning rate", o.Schedule())
	}
	beta, _ = o.Get("momentum")
	kind = "momentum"
	if n, ok := o.Get("nesterov"); ok && n != 0 {
		kind = "nesterov"
	}
	return kind, beta, nil
}

// Series returns the run's loss above the minimum against the step and, dashed
// beside it, what the predicted rate gives from the same start: gap₀·ρ^(2k),
// as the loss of a quadratic shrinks with the squared distance. Values are
// floored at 1e-300 so that a log axis can show a path that lands exactly on
// the minimum; steps after a divergence are not drawn.
func (c RateCheck) Series(name string, floor float64) (measured, predicted plots.Series) {
	measured = plots.Series{Name: name, Group: name}
	predicted = plots.Series{Name: name + " (predicted)", Group: name, Dashed: true}
	if c.Outcome.Trace == nil {
		return measured, predicted
	}
	loss := c.Outcome.Trace.Loss
	for k, l := range loss {
		measured.X = append(measured.X, float64(k))
		measured.Y = append(measured.Y, math.Max(l-floor, 1e-300))
	}
	if len(loss) > 0 && c.Predicted < 1 {
		gap0 := loss[0] - floor
		for k := range loss {
			predicted.X = append(predicted.X, float64(k))
			predicted.Y = append(predicted.Y, math.Max(gap0*math.Pow(c.Predicted, 2*float64(k)), 1e-300))
		}
	}
	return measured, predicted
}

// RateAgreement returns the largest relative difference between measured
// and predicted rate, |measured − predicted| / predicted, over the checks
// that converge and whose rate could be measured (NaN if none): how well a
// set of runs confirms the closed forms.
func RateAgreement(checks []RateCheck) float64 {
	worst := math.NaN()
	for _, c := range checks {
		if !(c.Predicted < 1) || math.IsNaN(c.Measured) || c.Outcome.Diverged != "" {
			continue
		}
		d := math.Abs(c.Measured-c.Predicted) / c.Predicted
		if math.IsNaN(worst) || d > worst {
			worst = d
		}
	}
	return worst
}
