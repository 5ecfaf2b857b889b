package optimizers

import (
	"math"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like the equations.
)

// Schedule is a learning-rate schedule: the rate of update k+1 (k = 0, 1, ...
// updates taken so far, GoMLX's global step before the update) as a function of
// the base rate η₀ held in the learning-rate variable. Build one with
// ParseSchedule or as the schedule=... key of an optimizer spec. The formulas
// follow torch.optim.lr_scheduler where PyTorch has the schedule.
type Schedule struct {
	name string
	def  *schedDef
	vals values
}

// Name returns the schedule's name, e.g. "cosine".
func (s *Schedule) Name() string { return s.name }

// String returns the canonical spec of the schedule with all its parameters.
func (s *Schedule) String() string {
	var b strings.Builder
	b.WriteString(s.name)
	b.WriteByte('(')
	for i, p := range s.def.params {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.format(s.vals))
	}
	b.WriteByte(')')
	return b.String()
}

// Graph returns the learning rate for global step k given the base rate (both
// scalar nodes of the same float dtype).
func (s *Schedule) Graph(base, k *Node) *Node {
	return s.def.graph(s.vals, base, k)
}

// Value evaluates the schedule on the host in float64: the learning rate of
// update k+1 for base rate base. It mirrors Graph and serves plots and reports.
func (s *Schedule) Value(base float64, k int) float64 {
	return s.def.host(s.vals, base, float64(k))
}

// schedDef describes one schedule: its parameters, documentation and formulas
// (graph and host versions of the same equation).
type schedDef struct {
	name, summary, equation string
	params                  []paramDef
	check                   func(v values) (key, msg string)
	graph                   func(v values, base, k *Node) *Node
	host                    func(v values, base, k float64) float64
}

func scalarLike(x *Node, v float64) *Node { return Scalar(x.Graph(), x.DType(), v) }

// cosineFactor is (1 + cos(π·x))/2.
func cosineFactor(x *Node) *Node {
	return Div(Add(scalarLike(x, 1), Cos(Mul(scalarLike(x, math.Pi), x))), scalarLike(x, 2))
}

func hostCosineFactor(x float64) float64 { return (1 + math.Cos(math.Pi*x)) / 2 }

// schedules returns the definitions of every learning-rate schedule.
func schedules() []*schedDef {
	return []*schedDef{
		{
			name: "constant", summary: "constant learning rate",
			equation: "η_k = η₀",
			graph:    func(_ values, base, _ *Node) *Node { return base },
			host:     func(_ values, base, _ float64) float64 { return base },
		},
		{
			name: "step", summary: "multiply by gamma every step_size updates (torch StepLR)",
			equation: "η_k = η₀·γ^⌊k/step_size⌋",
			params: []paramDef{
				intParam("step_size", 1, "updates between decays", positive),
				floatParam("gamma", 0.1, "decay factor", unitOpenClosed),
			},
			graph: func(v values, base, k *Node) *Node {
				n := Floor(Div(k, scalarLike(k, v.num["step_size"])))
				return Mul(base, Pow(scalarLike(k, v.num["gamma"]), n))
			},
			host: func(v values, base, k float64) float64 {
				return base * math.Pow(v.num["gamma"], math.Floor(k/v.num["step_size"]))
			},
		},
		{
			name: "multistep", summary: "multiply by gamma at each milestone (torch MultiStepLR)",
			equation: "η_k = η₀·γ^|{m ∈ milestones : m ≤ k}|",
			params: []paramDef{
				listParam("milestones", "increasing update counts at which the rate decays"),
				floatParam("gamma", 0.1, "decay factor", unitOpenClosed),
			},
			check: func(v values) (string, string) {
				ms := v.list["milestones"]
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
			},
			graph: func(v values, base, k *Node) *Node {
				count := scalarLike(k, 0)
				for _, m := range v.list["milestones"] {
					count = Add(count, ConvertDType(GreaterOrEqual(k, scalarLike(k, m)), k.DType()))
				}
				return Mul(base, Pow(scalarLike(k, v.num["gamma"]), count))
			},
			host: func(v values, base, k float64) float64 {
				n := 0.0
				for _, m := range v.list["milestones"] {
					if k >= m {
						n++
					}
				}
				return base * math.Pow(v.num["gamma"], n)
			},
		},
		{
			name: "exponential", summary: "multiply by gamma every update (torch ExponentialLR)",
			equation: "η_k = η₀·γ^k",
			params:   []paramDef{floatParam("gamma", 0.99, "decay factor per update", unitOpenClosed)},
			graph: func(v values, base, k *Node) *Node {
				return Mul(base, Pow(scalarLike(k, v.num["gamma"]), k))
			},
			host: func(v values, base, k float64) float64 { return base * math.Pow(v.num["gamma"], k) },
		},
		{
			name: "inverse_time", summary: "inverse-time decay (Keras InverseTimeDecay)",
			equation: "η_k = η₀ / (1 + decay_rate·k/decay_steps), k/decay_steps floored when staircase",
			params: []paramDef{
				floatParam("decay_rate", 0.5, "decay rate", nonNegative),
				intParam("decay_steps", 1, "updates per unit of decay", positive),
				boolParam("staircase", false, "floor k/decay_steps"),
			},
			graph: func(v values, base, k *Node) *Node {
				x := Div(k, scalarLike(k, v.num["decay_steps"]))
				if v.num["staircase"] != 0 {
					x = Floor(x)
				}
				return Div(base, Add(scalarLike(k, 1), Mul(scalarLike(k, v.num["decay_rate"]), x)))
			},
			host: func(v values, base, k float64) float64 {
				x := k / v.num["decay_steps"]
				if v.num["staircase"] != 0 {
					x = math.Floor(x)
				}
				return base / (1 + v.num["decay_rate"]*x)
			},
		},
		{
			name: "polynomial", summary: "polynomial decay to end_lr over steps updates (torch PolynomialLR)",
			equation: "η_k = (η₀ − end_lr)·(1 − min(k, steps)/steps)^power + end_lr",
			params: []paramDef{
				intParam("steps", 1000, "updates to decay over", positive),
				floatParam("power", 1, "exponent", positive),
				floatParam("end_lr", 0, "final learning rate", nonNegative),
			},
			graph: func(v values, base, k *Node) *Node {
				steps := v.num["steps"]
				frac := Sub(scalarLike(k, 1), Div(Min(k, scalarLike(k, steps)), scalarLike(k, steps)))
				end := scalarLike(k, v.num["end_lr"])
				return Add(Mul(Sub(base, end), Pow(frac, scalarLike(k, v.num["power"]))), end)
			},
			host: func(v values, base, k float64) float64 {
				steps := v.num["steps"]
				return (base-v.num["end_lr"])*math.Pow(1-math.Min(k, steps)/steps, v.num["power"]) + v.num["end_lr"]
			},
		},
		{
			name: "cosine", summary: "linear warm-up from 0, then cosine decay to min_lr (torch CosineAnnealingLR without warm-up)",
			equation: "k < warmup: η_k = η₀·k/warmup;  else x = min(1, (k − warmup)/(steps − warmup)), " +
				"η_k = min_lr + (η₀ − min_lr)·(1 + cos(πx))/2",
			params: []paramDef{
				intParam("steps", 1000, "total updates, warm-up included", positive),
				intParam("warmup", 0, "warm-up updates", nonNegative),
				floatParam("min_lr", 0, "final learning rate", nonNegative),
			},
			check: func(v values) (string, string) {
				if v.num["warmup"] >= v.num["steps"] {
					return "warmup", "must be smaller than steps"
				}
				return "", ""
			},
			graph: func(v values, base, k *Node) *Node {
				steps, warm, minLR := v.num["steps"], v.num["warmup"], scalarLike(k, v.num["min_lr"])
				x := Min(Div(Sub(k, scalarLike(k, warm)), scalarLike(k, steps-warm)), scalarLike(k, 1))
				lr := Add(minLR, Mul(Sub(base, minLR), cosineFactor(x)))
				if warm > 0 {
					lr = Where(LessThan(k, scalarLike(k, warm)), Div(Mul(base, k), scalarLike(k, warm)), lr)
				}
				return lr
			},
			host: func(v values, base, k float64) float64 {
				steps, warm, minLR := v.num["steps"], v.num["warmup"], v.num["min_lr"]
				if k < warm {
					return base * k / warm
				}
				x := math.Min((k-warm)/(steps-warm), 1)
				return minLR + (base-minLR)*hostCosineFactor(x)
			},
		},
		{
			name: "cosine_restarts", summary: "cosine annealing with warm restarts (torch CosineAnnealingWarmRestarts)",
			equation: "period i lasts T_i = t0·t_mult^i updates; within it, at update j: " +
				"η_k = min_lr + (η₀ − min_lr)·(1 + cos(π·j/T_i))/2",
			params: []paramDef{
				intParam("t0", 100, "updates in the first period", positive),
				intParam("t_mult", 1, "growth factor of the period", positive),
				floatParam("min_lr", 0, "lowest learning rate", nonNegative),
			},
			graph: func(v values, base, k *Node) *Node {
				t0, tm, minLR := v.num["t0"], v.num["t_mult"], scalarLike(k, v.num["min_lr"])
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
			},
			host: func(v values, base, k float64) float64 {
				t0, tm, minLR := v.num["t0"], v.num["t_mult"], v.num["min_lr"]
				tCur, tI := k, t0
				for tCur >= tI {
					tCur -= tI
					tI *= tm
				}
				return minLR + (base-minLR)*hostCosineFactor(tCur/tI)
			},
		},
		{
			name: "linear", summary: "linear change of the factor from start_factor to end_factor over steps updates (torch LinearLR)",
			equation: "η_k = η₀·(start_factor + (end_factor − start_factor)·min(k, steps)/steps)",
			params: []paramDef{
				floatParam("start_factor", 1.0/3, "factor at update 1", positiveAtMostOne),
				floatParam("end_factor", 1, "factor after steps updates", unitClosed),
				intParam("steps", 5, "updates of the change", positive),
			},
			graph: linearGraph,
			host:  linearHost,
		},
		{
			name: "warmup", summary: "linear warm-up from start_factor·η₀ to η₀, then constant",
			equation: "η_k = η₀·(start_factor + (1 − start_factor)·min(k, steps)/steps)",
			params: []paramDef{
				intParam("steps", 100, "warm-up updates", positive),
				floatParam("start_factor", 0, "factor at update 1", unitClosed),
			},
			graph: func(v values, base, k *Node) *Node {
				return linearGraph(values{num: map[string]float64{"start_factor": v.num["start_factor"],
					"end_factor": 1, "steps": v.num["steps"]}}, base, k)
			},
			host: func(v values, base, k float64) float64 {
				return linearHost(values{num: map[string]float64{"start_factor": v.num["start_factor"],
					"end_factor": 1, "steps": v.num["steps"]}}, base, k)
			},
		},
		{
			name: "onecycle", summary: "one-cycle policy: rise from η₀/div_factor to η₀, then anneal to η₀/(div_factor·final_div_factor) (torch OneCycleLR, momentum not cycled)",
			equation: "e = pct_start·steps − 1;  k ≤ e: η_k = A(η₀/div, η₀, k/e);  " +
				"else η_k = A(η₀, η₀/(div·final_div), (k − e)/(steps − 1 − e));  A cosine: end + (start − end)(1 + cos(πx))/2, linear: start + (end − start)x",
			params: []paramDef{
				intParam("steps", 1000, "total updates", positive),
				floatParam("pct_start", 0.3, "fraction of the cycle spent rising", unitOpen),
				floatParam("div_factor", 25, "η₀ / initial rate", positive),
				floatParam("final_div_factor", 1e4, "initial rate / final rate", positive),
				enumParam("anneal", "cos", "annealing shape", "cos", "linear"),
			},
			check: func(v values) (string, string) {
				e := v.num["pct_start"]*v.num["steps"] - 1
				if e <= 0 || e >= v.num["steps"]-1 {
					return "pct_start", "leaves an empty phase for this number of steps"
				}
				return "", ""
			},
			graph: func(v values, base, k *Node) *Node {
				steps, e := v.num["steps"], v.num["pct_start"]*v.num["steps"]-1
				initial := Div(base, scalarLike(k, v.num["div_factor"]))
				final := Div(initial, scalarLike(k, v.num["final_div_factor"]))
				anneal := func(start, end, x *Node) *Node {
					if v.str["anneal"] == "linear" {
						return Add(start, Mul(Sub(end, start), x))
					}
					return Add(end, Mul(Sub(start, end), cosineFactor(x)))
				}
				up := anneal(initial, base, Div(k, scalarLike(k, e)))
				x := Min(Div(Sub(k, scalarLike(k, e)), scalarLike(k, steps-1-e)), scalarLike(k, 1))
				down := anneal(base, final, x)
				return Where(LessOrEqual(k, scalarLike(k, e)), up, down)
			},
			host: func(v values, base, k float64) float64 {
				steps, e := v.num["steps"], v.num["pct_start"]*v.num["steps"]-1
				initial := base / v.num["div_factor"]
				final := initial / v.num["final_div_factor"]
				anneal := func(start, end, x float64) float64 {
					if v.str["anneal"] == "linear" {
						return start + (end-start)*x
					}
					return end + (start-end)*hostCosineFactor(x)
				}
				if k <= e {
					return anneal(initial, base, k/e)
				}
				return anneal(base, final, math.Min((k-e)/(steps-1-e), 1))
			},
		},
	}
}

func linearGraph(v values, base, k *Node) *Node {
	s, e, n := v.num["start_factor"], v.num["end_factor"], v.num["steps"]
	f := Add(scalarLike(k, s), Mul(scalarLike(k, e-s), Div(Min(k, scalarLike(k, n)), scalarLike(k, n))))
	return Mul(base, f)
}

func linearHost(v values, base, k float64) float64 {
	s, e, n := v.num["start_factor"], v.num["end_factor"], v.num["steps"]
	return base * (s + (e-s)*math.Min(k, n)/n)
}
