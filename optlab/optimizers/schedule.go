package optimizers

import (
	"math"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// Schedule is a learning-rate schedule: the rate of update k+1 (k = 0, 1, ...
// updates taken so far, GoMLX's global step before the update) as a function of
// the base rate η₀ held in the learning-rate variable. Build one with
// ParseSchedule or as the schedule=... key of an optimizer spec. The formulas
// follow torch.optim.lr_scheduler where PyTorch has the schedule.
type Schedule struct {
	def *scheduleDef
	cfg scheduleConfig
}

// scheduleConfig is one schedule's typed configuration: its keys and its
// formula, on the graph and on the host (the same equation twice, once per
// arithmetic).
type scheduleConfig interface {
	configuration
	graph(base, k *Node) *Node
	host(base, k float64) float64
}

// scheduleDef is one named schedule: its name, documentation and defaults.
type scheduleDef struct {
	name, summary, equation string
	defaults                func() scheduleConfig
}

// Name returns the schedule's name, e.g. "cosine".
func (s *Schedule) Name() string { return s.def.name }

// String returns the canonical spec of the schedule with all its parameters.
func (s *Schedule) String() string {
	var b strings.Builder
	b.WriteString(s.def.name)
	b.WriteByte('(')
	for i, p := range s.cfg.params() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.format())
	}
	b.WriteByte(')')
	return b.String()
}

// Graph returns the learning rate for global step k given the base rate (both
// scalar nodes of the same float dtype).
func (s *Schedule) Graph(base, k *Node) *Node { return s.cfg.graph(base, k) }

// Value evaluates the schedule on the host in float64: the learning rate of
// update k+1 for base rate base. It mirrors Graph and serves plots and reports.
func (s *Schedule) Value(base float64, k int) float64 { return s.cfg.host(base, float64(k)) }

func scalarLike(x *Node, v float64) *Node { return Scalar(x.Graph(), x.DType(), v) }

// cosineFactor is (1 + cos(π·x))/2.
func cosineFactor(x *Node) *Node {
	return Div(Add(scalarLike(x, 1), Cos(Mul(scalarLike(x, math.Pi), x))), scalarLike(x, 2))
}

func hostCosineFactor(x float64) float64 { return (1 + math.Cos(math.Pi*x)) / 2 }

// scheduleDefs returns every learning-rate schedule, in listing order.
func scheduleDefs() []*scheduleDef {
	return []*scheduleDef{
		{name: "constant", summary: "constant learning rate", equation: "η_k = η₀",
			defaults: func() scheduleConfig { return &constantSchedule{} }},
		{name: "step", summary: "multiply by gamma every step_size updates (torch StepLR)",
			equation: "η_k = η₀·γ^⌊k/step_size⌋",
			defaults: func() scheduleConfig { return &stepSchedule{StepSize: 1, Gamma: 0.1} }},
		{name: "multistep", summary: "multiply by gamma at each milestone (torch MultiStepLR)",
			equation: "η_k = η₀·γ^|{m ∈ milestones : m ≤ k}|",
			defaults: func() scheduleConfig { return &multistepSchedule{Gamma: 0.1} }},
		{name: "exponential", summary: "multiply by gamma every update (torch ExponentialLR)",
			equation: "η_k = η₀·γ^k",
			defaults: func() scheduleConfig { return &exponentialSchedule{Gamma: 0.99} }},
		{name: "inverse_time", summary: "inverse-time decay (Keras InverseTimeDecay)",
			equation: "η_k = η₀ / (1 + decay_rate·k/decay_steps), k/decay_steps floored when staircase",
			defaults: func() scheduleConfig { return &inverseTimeSchedule{DecayRate: 0.5, DecaySteps: 1} }},
		{name: "polynomial", summary: "polynomial decay to end_lr over steps updates (torch PolynomialLR)",
			equation: "η_k = (η₀ − end_lr)·(1 − min(k, steps)/steps)^power + end_lr",
			defaults: func() scheduleConfig { return &polynomialSchedule{Steps: 1000, Power: 1} }},
		{name: "cosine", summary: "linear warm-up from 0, then cosine decay to min_lr (torch CosineAnnealingLR without warm-up)",
			equation: "k < warmup: η_k = η₀·k/warmup;  else x = min(1, (k − warmup)/(steps − warmup)), " +
				"η_k = min_lr + (η₀ − min_lr)·(1 + cos(πx))/2",
			defaults: func() scheduleConfig { return &cosineSchedule{Steps: 1000} }},
		{name: "cosine_restarts", summary: "cosine annealing with warm restarts (torch CosineAnnealingWarmRestarts)",
			equation: "period i lasts T_i = t0·t_mult^i updates; within it, at update j: " +
				"η_k = min_lr + (η₀ − min_lr)·(1 + cos(π·j/T_i))/2",
			defaults: func() scheduleConfig { return &cosineRestartsSchedule{T0: 100, TMult: 1} }},
		{name: "linear", summary: "linear change of the factor from start_factor to end_factor over steps updates (torch LinearLR)",
			equation: "η_k = η₀·(start_factor + (end_factor − start_factor)·min(k, steps)/steps)",
			defaults: func() scheduleConfig { return &linearSchedule{StartFactor: 1.0 / 3, EndFactor: 1, Steps: 5} }},
		{name: "warmup", summary: "linear warm-up from start_factor·η₀ to η₀, then constant",
			equation: "η_k = η₀·(start_factor + (1 − start_factor)·min(k, steps)/steps)",
			defaults: func() scheduleConfig { return &warmupSchedule{Steps: 100} }},
		{name: "onecycle", summary: "one-cycle policy: rise from η₀/div_factor to η₀, then anneal to η₀/(div_factor·final_div_factor) (torch OneCycleLR, momentum not cycled)",
			equation: "e = pct_start·steps − 1;  k ≤ e: η_k = A(η₀/div, η₀, k/e);  " +
				"else η_k = A(η₀, η₀/(div·final_div), (k − e)/(steps − 1 − e));  A cosine: end + (start − end)(1 + cos(πx))/2, linear: start + (end − start)x",
			defaults: func() scheduleConfig {
				return &onecycleSchedule{Steps: 1000, PctStart: 0.3, DivFactor: 25, FinalDivFactor: 1e4, Anneal: "cos"}
			}},
	}
}

func findSchedule(name string) *scheduleDef {
	for _, d := range scheduleDefs() {
		if d.name == name {
			return d
		}
	}
	return nil
}

// constantSchedule keeps the base rate.
type constantSchedule struct{}

func (*constantSchedule) params() []param              { return nil }
func (*constantSchedule) graph(base, _ *Node) *Node    { return base }
func (*constantSchedule) host(base, _ float64) float64 { return base }

// stepSchedule is torch's StepLR.
type stepSchedule struct {
	StepSize int
	Gamma    float64
}

func (c *stepSchedule) params() []param {
	return []param{
		intParam("step_size", &c.StepSize, "updates between decays", positive),
		floatParam("gamma", &c.Gamma, "decay factor", unitOpenClosed),
	}
}

func (c *stepSchedule) graph(base, k *Node) *Node {
	n := Floor(Div(k, scalarLike(k, float64(c.StepSize))))
	return Mul(base, Pow(scalarLike(k, c.Gamma), n))
}

func (c *stepSchedule) host(base, k float64) float64 {
	return base * math.Pow(c.Gamma, math.Floor(k/float64(c.StepSize)))
}

// multistepSchedule is torch's MultiStepLR. The milestones are checked with
// the rest of the configuration (check), so they stay floats until then.
type multistepSchedule struct {
	Milestones []float64
	Gamma      float64
}

func (c *multistepSchedule) params() []param {
	return []param{
		listParam("milestones", &c.Milestones, "increasing update counts at which the rate decays"),
		floatParam("gamma", &c.Gamma, "decay factor", unitOpenClosed),
	}
}

func (c *multistepSchedule) check() (string, string) {
	ms := c.Milestones
	if len(ms) == 0 {
		return "milestones", "must list at least one update count, e.g. [30,80]"
	}
	for i, m := range ms {
		if m < 1 || m != math.Trunc(m) || m > 1e15 {
			return "milestones", "must be positive integers"
		}
		if i > 0 && m <= ms[i-1] {
			return "milestones", "must be strictly increasing"
		}
	}
	return "", ""
}

func (c *multistepSchedule) graph(base, k *Node) *Node {
	count := scalarLike(k, 0)
	for _, m := range c.Milestones {
		count = Add(count, ConvertDType(GreaterOrEqual(k, scalarLike(k, m)), k.DType()))
	}
	return Mul(base, Pow(scalarLike(k, c.Gamma), count))
}

func (c *multistepSchedule) host(base, k float64) float64 {
	n := 0.0
	for _, m := range c.Milestones {
		if k >= m {
			n++
		}
	}
	return base * math.Pow(c.Gamma, n)
}

// exponentialSchedule is torch's ExponentialLR.
type exponentialSchedule struct{ Gamma float64 }

func (c *exponentialSchedule) params() []param {
	return []param{floatParam("gamma", &c.Gamma, "decay factor per update", unitOpenClosed)}
}

func (c *exponentialSchedule) graph(base, k *Node) *Node {
	return Mul(base, Pow(scalarLike(k, c.Gamma), k))
}

func (c *exponentialSchedule) host(base, k float64) float64 { return base * math.Pow(c.Gamma, k) }

// inverseTimeSchedule is Keras's InverseTimeDecay.
type inverseTimeSchedule struct {
	DecayRate  float64
	DecaySteps int
	Staircase  bool
}

func (c *inverseTimeSchedule) params() []param {
	return []param{
		floatParam("decay_rate", &c.DecayRate, "decay rate", nonNegative),
		intParam("decay_steps", &c.DecaySteps, "updates per unit of decay", positive),
		boolParam("staircase", &c.Staircase, "floor k/decay_steps"),
	}
}

func (c *inverseTimeSchedule) graph(base, k *Node) *Node {
	x := Div(k, scalarLike(k, float64(c.DecaySteps)))
	if c.Staircase {
		x = Floor(x)
	}
	return Div(base, Add(scalarLike(k, 1), Mul(scalarLike(k, c.DecayRate), x)))
}

func (c *inverseTimeSchedule) host(base, k float64) float64 {
	x := k / float64(c.DecaySteps)
	if c.Staircase {
		x = math.Floor(x)
	}
	return base / (1 + c.DecayRate*x)
}

// polynomialSchedule is torch's PolynomialLR with a final rate.
type polynomialSchedule struct {
	Steps        int
	Power, EndLR float64
}

func (c *polynomialSchedule) params() []param {
	return []param{
		intParam("steps", &c.Steps, "updates to decay over", positive),
		floatParam("power", &c.Power, "exponent", positive),
		floatParam("end_lr", &c.EndLR, "final learning rate", nonNegative),
	}
}

func (c *polynomialSchedule) graph(base, k *Node) *Node {
	steps := float64(c.Steps)
	frac := Sub(scalarLike(k, 1), Div(Min(k, scalarLike(k, steps)), scalarLike(k, steps)))
	end := scalarLike(k, c.EndLR)
	return Add(Mul(Sub(base, end), Pow(frac, scalarLike(k, c.Power))), end)
}

func (c *polynomialSchedule) host(base, k float64) float64 {
	steps := float64(c.Steps)
	return (base-c.EndLR)*math.Pow(1-math.Min(k, steps)/steps, c.Power) + c.EndLR
}

// cosineSchedule is a linear warm-up followed by torch's CosineAnnealingLR.
type cosineSchedule struct {
	Steps, Warmup int
	MinLR         float64
}

func (c *cosineSchedule) params() []param {
	return []param{
		intParam("steps", &c.Steps, "total updates, warm-up included", positive),
		intParam("warmup", &c.Warmup, "warm-up updates", nonNegative),
		floatParam("min_lr", &c.MinLR, "final learning rate", nonNegative),
	}
}

func (c *cosineSchedule) check() (string, string) {
	if c.Warmup >= c.Steps {
		return "warmup", "must be smaller than steps"
	}
	return "", ""
}

func (c *cosineSchedule) graph(base, k *Node) *Node {
	steps, warm, minLR := float64(c.Steps), float64(c.Warmup), scalarLike(k, c.MinLR)
	x := Min(Div(Sub(k, scalarLike(k, warm)), scalarLike(k, steps-warm)), scalarLike(k, 1))
	lr := Add(minLR, Mul(Sub(base, minLR), cosineFactor(x)))
	if warm > 0 {
		lr = Where(LessThan(k, scalarLike(k, warm)), Div(Mul(base, k), scalarLike(k, warm)), lr)
	}
	return lr
}

func (c *cosineSchedule) host(base, k float64) float64 {
	steps, warm, minLR := float64(c.Steps), float64(c.Warmup), c.MinLR
	if k < warm {
		return base * k / warm
	}
	x := math.Min((k-warm)/(steps-warm), 1)
	return minLR + (base-minLR)*hostCosineFactor(x)
}

// cosineRestartsSchedule is torch's CosineAnnealingWarmRestarts.
type cosineRestartsSchedule struct {
	T0, TMult int
	MinLR     float64
}

func (c *cosineRestartsSchedule) params() []param {
	return []param{
		intParam("t0", &c.T0, "updates in the first period", positive),
		intParam("t_mult", &c.TMult, "growth factor of the period", positive),
		floatParam("min_lr", &c.MinLR, "lowest learning rate", nonNegative),
	}
}

func (c *cosineRestartsSchedule) graph(base, k *Node) *Node {
	t0, tm, minLR := float64(c.T0), float64(c.TMult), scalarLike(k, c.MinLR)
	var tCur, tI *Node
	if tm == 1 {
		n := Floor(Div(k, scalarLike(k, t0)))
		tCur = Sub(k, Mul(n, scalarLike(k, t0)))
		tI = scalarLike(k, t0)
	} else {
		// n = ⌊log_tm(k(tm−1)/t0 + 1)⌋, corrected for round-off by
		// comparing k with the period's exact start t0(tm^n − 1)/(tm − 1).
		start := func(n *Node) *Node {
			return Div(Mul(scalarLike(k, t0), Sub(Pow(scalarLike(k, tm), n), scalarLike(k, 1))), scalarLike(k, tm-1))
		}
		n := Floor(Div(Log(Add(Div(Mul(k, scalarLike(k, tm-1)), scalarLike(k, t0)), scalarLike(k, 1))),
			scalarLike(k, math.Log(tm))))
		n = Where(LessOrEqual(start(Add(n, scalarLike(k, 1))), k), Add(n, scalarLike(k, 1)), n)
		n = Where(GreaterThan(start(n), k), Sub(n, scalarLike(k, 1)), n)
		tCur = Sub(k, start(n))
		tI = Mul(scalarLike(k, t0), Pow(scalarLike(k, tm), n))
	}
	return Add(minLR, Mul(Sub(base, minLR), cosineFactor(Div(tCur, tI))))
}

func (c *cosineRestartsSchedule) host(base, k float64) float64 {
	tm, minLR := float64(c.TMult), c.MinLR
	tCur, tI := k, float64(c.T0)
	for tCur >= tI {
		tCur -= tI
		tI *= tm
	}
	return minLR + (base-minLR)*hostCosineFactor(tCur/tI)
}

// linearSchedule is torch's LinearLR.
type linearSchedule struct {
	StartFactor, EndFactor float64
	Steps                  int
}

func (c *linearSchedule) params() []param {
	return []param{
		floatParam("start_factor", &c.StartFactor, "factor at update 1", unitOpenClosed),
		floatParam("end_factor", &c.EndFactor, "factor after steps updates", unitClosed),
		intParam("steps", &c.Steps, "updates of the change", positive),
	}
}

func (c *linearSchedule) graph(base, k *Node) *Node {
	s, e, n := c.StartFactor, c.EndFactor, float64(c.Steps)
	f := Add(scalarLike(k, s), Mul(scalarLike(k, e-s), Div(Min(k, scalarLike(k, n)), scalarLike(k, n))))
	return Mul(base, f)
}

func (c *linearSchedule) host(base, k float64) float64 {
	s, e, n := c.StartFactor, c.EndFactor, float64(c.Steps)
	return base * (s + (e-s)*math.Min(k, n)/n)
}

// warmupSchedule is a linear warm-up to the base rate: linearSchedule ending
// at factor 1.
type warmupSchedule struct {
	Steps       int
	StartFactor float64
}

func (c *warmupSchedule) params() []param {
	return []param{
		intParam("steps", &c.Steps, "warm-up updates", positive),
		floatParam("start_factor", &c.StartFactor, "factor at update 1", unitClosed),
	}
}

func (c *warmupSchedule) linear() *linearSchedule {
	return &linearSchedule{StartFactor: c.StartFactor, EndFactor: 1, Steps: c.Steps}
}

func (c *warmupSchedule) graph(base, k *Node) *Node    { return c.linear().graph(base, k) }
func (c *warmupSchedule) host(base, k float64) float64 { return c.linear().host(base, k) }

// onecycleSchedule is torch's OneCycleLR without momentum cycling.
type onecycleSchedule struct {
	Steps                               int
	PctStart, DivFactor, FinalDivFactor float64
	Anneal                              string
}

func (c *onecycleSchedule) params() []param {
	return []param{
		intParam("steps", &c.Steps, "total updates", positive),
		floatParam("pct_start", &c.PctStart, "fraction of the cycle spent rising", unitOpen),
		floatParam("div_factor", &c.DivFactor, "η₀ / initial rate", positive),
		floatParam("final_div_factor", &c.FinalDivFactor, "initial rate / final rate", positive),
		enumParam("anneal", &c.Anneal, "annealing shape", "cos", "linear"),
	}
}

func (c *onecycleSchedule) check() (string, string) {
	e := c.PctStart*float64(c.Steps) - 1
	if e <= 0 || e >= float64(c.Steps)-1 {
		return "pct_start", "leaves an empty phase for this number of steps"
	}
	return "", ""
}

func (c *onecycleSchedule) graph(base, k *Node) *Node {
	steps := float64(c.Steps)
	e := c.PctStart*steps - 1
	initial := Div(base, scalarLike(k, c.DivFactor))
	final := Div(initial, scalarLike(k, c.FinalDivFactor))
	anneal := func(start, end, x *Node) *Node {
		if c.Anneal == "linear" {
			return Add(start, Mul(Sub(end, start), x))
		}
		return Add(end, Mul(Sub(start, end), cosineFactor(x)))
	}
	up := anneal(initial, base, Div(k, scalarLike(k, e)))
	x := Min(Div(Sub(k, scalarLike(k, e)), scalarLike(k, steps-1-e)), scalarLike(k, 1))
	down := anneal(base, final, x)
	return Where(LessOrEqual(k, scalarLike(k, e)), up, down)
}

func (c *onecycleSchedule) host(base, k float64) float64 {
	steps := float64(c.Steps)
	e := c.PctStart*steps - 1
	initial := base / c.DivFactor
	final := initial / c.FinalDivFactor
	anneal := func(start, end, x float64) float64 {
		if c.Anneal == "linear" {
			return start + (end-start)*x
		}
		return end + (start-end)*hostCosineFactor(x)
	}
	if k <= e {
		return anneal(initial, base, k/e)
	}
	return anneal(base, final, math.Min((k-e)/(steps-1-e), 1))
}
