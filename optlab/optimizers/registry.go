package optimizers

import (
	"reflect"
	"runtime"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// families is the one table of named optimizers, in listing order: spec name,
// one-line summary, the implementation or paper followed, default
// configuration and typed constructor. Adding an optimizer adds a line here and
// a file with its config, defaults and constructor (whose doc comment holds the
// equations; run go generate).
var families []family

func init() {
	families = []family{
		register("sgd", "stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay",
			"torch.optim.SGD", DefaultSGDConfig, SGD).directional(),
		register("momentum", "SGD with heavy-ball momentum (sgd with momentum=0.9)",
			"torch.optim.SGD", DefaultMomentumConfig, Momentum).directional(),
		register("nesterov", "SGD with Nesterov momentum (sgd with momentum=0.9,nesterov=true)",
			"torch.optim.SGD", DefaultNesterovConfig, Nesterov).directional(),
		register("adagrad", "per-parameter rates shrinking with the sum of squared gradients",
			"torch.optim.Adagrad", DefaultAdagradConfig, Adagrad).directional(),
		register("adadelta", "Adagrad's successor with no global rate: ratio of running RMS of updates and gradients",
			"torch.optim.Adadelta", DefaultAdadeltaConfig, Adadelta).directional(),
		register("rmsprop", "divides the step by a running RMS of the gradients (plain or centered, optional momentum)",
			"torch.optim.RMSprop", DefaultRMSpropConfig, RMSprop).withKeras(kerasRMSprop).directional(),
		register("adam", "adaptive moments: momentum on the gradient, per-parameter scale from its second moment",
			"torch.optim.Adam", DefaultAdamConfig, Adam).withKeras(kerasAdam).directional(),
		register("amsgrad", "Adam that divides by the running maximum of the second moment (adam with amsgrad=true)",
			"torch.optim.Adam", DefaultAMSGradConfig, AMSGrad).withKeras(kerasAdam).directional(),
		register("adamw", "Adam with decoupled weight decay",
			"torch.optim.AdamW", DefaultAdamWConfig, AdamW).withKeras(kerasAdam).directional(),
		register("adamax", "Adam with the infinity norm in place of the second moment",
			"torch.optim.Adamax", DefaultAdamaxConfig, Adamax).directional(),
		register("nadam", "Adam with Nesterov momentum and a warming momentum schedule",
			"torch.optim.NAdam (≥ 2.0 / foreach form; see ScaleByNAdam)", DefaultNAdamConfig, NAdam).directional(),
		register("radam", "rectified Adam: plain momentum SGD until the variance estimate is trustworthy",
			"torch.optim.RAdam", DefaultRAdamConfig, RAdam).directional(),
		register("rprop", "resilient propagation: sign-based steps whose sizes grow or shrink with gradient agreement (full-batch)",
			"torch.optim.Rprop", DefaultRpropConfig, Rprop),
		register("asgd", "averaged SGD: decaying-rate SGD that also keeps a running average of the iterates",
			"torch.optim.ASGD", DefaultASGDConfig, ASGD),
		register("lion", "evolved sign momentum: the update is the sign of an interpolated momentum (Chen et al. 2023)",
			"Chen et al. 2023, Symbolic Discovery of Optimization Algorithms, Algorithm 2", DefaultLionConfig, Lion).directional(),
		register("lamb", "layer-wise adaptive Adam for large batches: Adam direction scaled by ‖p‖/‖update‖ (You et al. 2019)",
			"You et al. 2019, Large Batch Optimization for Deep Learning, Algorithm 2", DefaultLAMBConfig, LAMB),
		register("lars", "layer-wise adaptive rate scaling with momentum for large-batch SGD (You et al. 2017)",
			"You et al. 2017, Large Batch Training of Convolutional Networks, Algorithm 1", DefaultLARSConfig, LARS),
		register("muon", "momentum orthogonalized by Newton–Schulz for matrix parameters, AdamW for the others (Jordan et al. 2024)",
			"Jordan et al. 2024, Muon (modded-nanogpt reference implementation)", DefaultMuonConfig, Muon),
		register("schedule_free_adamw", "schedule-free AdamW: interpolates an SGD-like sequence and its average, no decay schedule needed (Defazio et al. 2024)",
			"Defazio et al. 2024, The Road Less Scheduled, Algorithm 1", DefaultScheduleFreeAdamWConfig, ScheduleFreeAdamW),
		register("adafactor", "factored second moments (row and column statistics for matrices), relative step sizes (Shazeer & Stern 2018)",
			"Shazeer & Stern 2018, Adafactor, Algorithms 4 and 5 (no momentum)", DefaultAdafactorConfig, Adafactor),
		register("adabelief", "Adam whose second moment tracks the gradient's deviation from its momentum, the belief (Zhuang et al. 2020)",
			"Zhuang et al. 2020, AdaBelief Optimizer, Algorithm 2 (arXiv 2010.07468 v2+)", DefaultAdaBeliefConfig, AdaBelief).directional(),
		register("yogi", "Adam whose second moment moves additively by sign(v − g²), so it cannot grow too fast (Zaheer et al. 2018)",
			"Zaheer et al. 2018, Adaptive Methods for Nonconvex Optimization, Algorithm 2", DefaultYogiConfig, Yogi).directional(),
		register("adan", "adaptive Nesterov momentum from gradient differences, with a proximal weight decay (Xie et al. 2022)",
			"Xie et al. 2022/2024, Adan, Algorithm 1 (arXiv 2208.06677 v4)", DefaultAdanConfig, Adan),
		register("ademamix", "Adam plus a slow momentum (β₃ ≈ 0.9999) mixed in with weight α, which remembers old gradients (Pagliardini et al. 2024)",
			"Pagliardini et al. 2024, The AdEMAMix Optimizer, Algorithm 1 and the Sec. 3 schedulers", DefaultAdEMAMixConfig, AdEMAMix).directional(),
		register("adopt", "Adam that normalizes by the previous second moment before the momentum: converges for any β₂ (Taniguchi et al. 2024)",
			"Taniguchi et al. 2024, ADOPT, Algorithm 2", DefaultADOPTConfig, ADOPT),
		register("prodigy", "learning-rate-free Adam: estimates the distance to the solution, d, and steps with η·d (Mishchenko & Defazio 2023)",
			"Mishchenko & Defazio 2023/2024, Prodigy, Algorithm 4 (Adam version)", DefaultProdigyConfig, Prodigy),
		register("madgrad", "momentumized dual averaging with cube-root AdaGrad scaling (Defazio & Jelassi 2021)",
			"Defazio & Jelassi 2021, MADGRAD, Algorithm 1", DefaultMADGRADConfig, MADGRAD),
		register("shampoo", "full-matrix preconditioning per block by L^(−1/4)·G·R^(−1/4) of the accumulated row and column statistics (Gupta et al. 2018)",
			"Gupta et al. 2018, Shampoo, Algorithms 1 and 2 (k = 1); blocks and refresh interval as Anil et al. 2020", DefaultShampooConfig, Shampoo),
		register("soap", "Adam run in the eigenbasis of Shampoo's preconditioners, refreshed every few steps (Vyas et al. 2024)",
			"Vyas et al. 2024, SOAP, Algorithm 3 with Algorithm 4 (power iteration + QR)", DefaultSOAPConfig, SOAP),
		register("lookahead", "wrapper: the base takes k fast steps, then the slow weights move α of the way to them (Zhang et al. 2019)",
			"Zhang et al. 2019, Lookahead Optimizer, Algorithm 1", DefaultLookaheadConfig, Lookahead),
		register("sam", "wrapper: sharpness-aware minimization, the base steps with the gradient at p + ρ·g/‖g‖ (two gradients per step; Foret et al. 2021)",
			"Foret et al. 2021, SAM, Algorithm 1; adaptive: Kwon et al. 2021, ASAM", DefaultSAMConfig, SAM),
		register("cautious", "wrapper: masks the base's update where its sign disagrees with the gradient's (Liang et al. 2024)",
			"Liang et al. 2024, Cautious Optimizers, Algorithm 1 (arXiv 2411.16085 v4)", DefaultCautiousConfig, Cautious),
		register("ema", "wrapper: keeps an exponential moving average of the weights for evaluation; training follows the base",
			"exponential moving average of the iterates (Polyak averaging with exponential weights; debias as optax.ema)", DefaultEMAConfig, EMA),
	}
}

// family is one named optimizer seen without its config type: the parser,
// With and the listings use it.
type family interface {
	name() string
	summary() string
	reference() string
	// constructor is the Go name of the typed constructor, e.g. "Adam".
	constructor() string
	// hasKeras reports whether keras=true changes the defaults.
	hasKeras() bool
	// isDirectional reports a chain p ← p − η·d (see directional).
	isDirectional() bool
	// config returns a fresh default configuration (Keras's defaults when keras).
	config(keras bool) configuration
	// clone returns a copy of a configuration of this family.
	clone(c configuration) configuration
	// build calls the typed constructor.
	build(c configuration) (*Optimizer, error)
}

// familyOf is the family of the optimizers configured by C (P is *C).
type familyOf[C any, P interface {
	*C
	configuration
}] struct {
	spec, sum, ref string
	defaults       func() C
	keras          func(*C)
	ctor           func(C) (*Optimizer, error)
	dir            bool
}

// register describes a named optimizer: its spec name, summary, reference,
// defaults and typed constructor.
func register[C any, P interface {
	*C
	configuration
}](name, summary, reference string, defaults func() C, ctor func(C) (*Optimizer, error)) *familyOf[C, P] {
	return &familyOf[C, P]{spec: name, sum: summary, ref: reference, defaults: defaults, ctor: ctor}
}

// withKeras sets the change keras=true makes to the defaults.
func (f *familyOf[C, P]) withKeras(k func(*C)) *familyOf[C, P] {
	f.keras = k
	return f
}

// directional marks a family whose chain is a direction d followed by the
// learning-rate scaling p ← p − η·d (and weight decay after d): the bases
// cautious accepts.
func (f *familyOf[C, P]) directional() *familyOf[C, P] {
	f.dir = true
	return f
}

func (f *familyOf[C, P]) isDirectional() bool { return f.dir }

func (f *familyOf[C, P]) name() string      { return f.spec }
func (f *familyOf[C, P]) summary() string   { return f.sum }
func (f *familyOf[C, P]) reference() string { return f.ref }
func (f *familyOf[C, P]) hasKeras() bool    { return f.keras != nil }

func (f *familyOf[C, P]) constructor() string {
	full := runtime.FuncForPC(reflect.ValueOf(f.ctor).Pointer()).Name()
	return full[strings.LastIndexByte(full, '.')+1:]
}

func (f *familyOf[C, P]) config(keras bool) configuration {
	c := f.defaults()
	if keras && f.keras != nil {
		f.keras(&c)
	}
	return P(&c)
}

func (f *familyOf[C, P]) clone(c configuration) configuration {
	cp := *c.(P)
	return P(&cp)
}

func (f *familyOf[C, P]) build(c configuration) (*Optimizer, error) { return f.ctor(*c.(P)) }

func findFamily(name string) family {
	for _, f := range families {
		if f.name() == name {
			return f
		}
	}
	return nil
}

// Info describes a named optimizer or schedule for listings and help text.
type Info struct {
	// Name is the spec name, e.g. "adam".
	Name string
	// Summary is a one-line description.
	Summary string
	// Equations is the update rule in plain notation, on one line. For an
	// optimizer it is the first code block of its constructor's doc comment
	// (generated into equations_gen.go by go generate).
	Equations string
	// Reference names the implementation or paper the rule follows.
	Reference string
	// Constructor is the typed Go constructor of an optimizer, e.g. "Adam"
	// (empty for schedules).
	Constructor string
	// Params lists the hyperparameters in canonical order.
	Params []ParamInfo
	// StateSlots is the number of per-parameter buffers the optimizer keeps with
	// its default hyperparameters (0 for schedules); for a wrapper, its own
	// (the base's come on top).
	StateSlots int
	// StateBytes1000x1000 is the state, in bytes, that the optimizer keeps
	// with its default hyperparameters for one 1000×1000 float32 matrix
	// (StateBytesFor): 4e6·StateSlots for elementwise rules, different for
	// those with factored or per-block state (adafactor, shampoo, soap).
	StateBytes1000x1000 int64
	// Wrapper reports an optimizer that wraps another, given as base=....
	Wrapper bool
	// Population reports an optimizer that can train as a member of a
	// population (NewPopulation accepts it: every transform is Stackable).
	Population bool
}

// ParamInfo describes one hyperparameter.
type ParamInfo struct {
	// Key is the spec key, e.g. "b1".
	Key string
	// Aliases are other keys accepted for it, e.g. "beta1".
	Aliases []string
	// Default is the default in spec syntax, with the Keras default noted when it differs.
	Default string
	// Doc says what the hyperparameter does.
	Doc string
}

// paramInfos describes the keys of a default configuration (and of the Keras
// defaults, when not nil).
func paramInfos(def, keras configuration) []ParamInfo {
	ps := def.params()
	var ks []param
	if keras != nil {
		ks = keras.params()
	}
	out := make([]ParamInfo, len(ps))
	for i, p := range ps {
		var k *param
		if ks != nil {
			k = &ks[i]
		}
		out[i] = ParamInfo{Key: p.key, Aliases: p.aliases, Default: defaultString(p, k), Doc: p.doc}
	}
	return out
}

// List returns every named optimizer with its hyperparameters, in a stable order.
func List() []Info {
	var out []Info
	for _, f := range families {
		var keras configuration
		if f.hasKeras() {
			keras = f.config(true)
		}
		slots, bytes, pop := 0, int64(0), false
		if o := exampleOf(f); o != nil {
			slots = o.StateSlots()
			bytes = o.StateBytesFor(shapes.Make(dtypes.Float32, 1000, 1000))
			_, err := NewPopulation(o)
			pop = err == nil
		}
		out = append(out, Info{Name: f.name(), Summary: f.summary(), Equations: equations[f.constructor()],
			Reference: f.reference(), Constructor: f.constructor(), Params: paramInfos(f.config(false), keras),
			StateSlots: slots, StateBytes1000x1000: bytes, Wrapper: isWrapper(f.config(false)), Population: pop})
	}
	return out
}

// exampleOf returns the optimizer of family f with its defaults; a wrapper
// wraps plain SGD (which keeps no state), so that its state is its own.
func exampleOf(f family) *Optimizer {
	cfg := f.config(false)
	if isWrapper(cfg) {
		bp, _ := findParam(cfg.params(), "base")
		sgd, err := SGD(DefaultSGDConfig())
		if err != nil {
			return nil
		}
		*bp.opt = sgd
	}
	o, err := f.build(cfg)
	if err != nil {
		return nil
	}
	return o
}

// ListSchedules returns every learning-rate schedule with its parameters.
func ListSchedules() []Info {
	var out []Info
	for _, d := range scheduleDefs() {
		out = append(out, Info{Name: d.name, Summary: d.summary, Equations: d.equation, Params: paramInfos(d.defaults(), nil)})
	}
	return out
}

// GeneralOptions describes the keys every optimizer spec accepts besides its own
// hyperparameters.
func GeneralOptions() []ParamInfo {
	out := []ParamInfo{{Key: "schedule", Default: "constant()", Doc: "learning-rate schedule, e.g. cosine(steps=1000,warmup=100)"}}
	var o options
	for _, p := range o.params() {
		out = append(out, ParamInfo{Key: p.key, Default: p.format(), Doc: p.doc})
	}
	return out
}

// Names returns the optimizer names, sorted.
func Names() []string {
	var out []string
	for _, f := range families {
		out = append(out, f.name())
	}
	sort.Strings(out)
	return out
}
