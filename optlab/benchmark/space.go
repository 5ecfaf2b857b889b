package benchmark

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"optlab.dev/optlab/optimizers"
)

// Dim is one dimension of a search space: the hyperparameter Key (as
// optimizers.Optimizer.With takes it) drawn from [Min, Max], uniformly or, with
// Log, uniformly in its logarithm. With OneMinus, 1 − value is drawn from
// [Min, Max] instead (for momentum-like coefficients close to 1, as AlgoPerf's
// baselines draw one_minus_beta1).
type Dim struct {
	Key      string
	Min, Max float64
	Log      bool
	OneMinus bool
}

// String reads like "lr ∈ [1e-05, 0.1] log" or "1−b1 ∈ [0.01, 0.5] log".
func (d Dim) String() string {
	k := d.Key
	if d.OneMinus {
		k = "1−" + d.Key
	}
	s := fmt.Sprintf("%s ∈ [%g, %g]", k, d.Min, d.Max)
	if d.Log {
		s += " log"
	}
	return s
}

// value maps u ∈ [0, 1) to the dimension's value.
func (d Dim) value(u float64) float64 {
	var v float64
	if d.Log {
		v = math.Exp(math.Log(d.Min) + u*(math.Log(d.Max)-math.Log(d.Min)))
	} else {
		v = d.Min + u*(d.Max-d.Min)
	}
	// Three significant digits of the drawn quantity (1 − value included),
	// then the subtraction's rounding noise removed.
	v = roundSig(v, 3)
	if d.OneMinus {
		v = roundSig(1-v, 12)
	}
	return v
}

// roundSig rounds v to n significant digits, so that sampled specs read well
// in tables and stay stable through their decimal form.
func roundSig(v float64, n int) float64 {
	r, err := strconv.ParseFloat(strconv.FormatFloat(v, 'g', n, 64), 64)
	if err != nil {
		return v
	}
	return r
}

// SearchSpace is an optimizer family's external-tuning search space: the base
// optimizer and the dimensions drawn for each trial (the other
// hyperparameters keep the base's values).
type SearchSpace struct {
	// Name is the submission's name: the family ("adam").
	Name string
	// Base is the optimizer the points start from (its spec, e.g. "adam").
	Base string
	Dims []Dim
	// Note says where the ranges come from.
	Note string
}

// String describes the space in one line.
func (s SearchSpace) String() string {
	var ds []string
	for _, d := range s.Dims {
		ds = append(ds, d.String())
	}
	return fmt.Sprintf("%s: %s; %s", s.Name, s.Base, strings.Join(ds, ", "))
}

// searchSpaces are the hand-chosen spaces of the commonly tuned families,
// modelled on AlgoPerf's baseline search spaces (reference_algorithms/
// paper_baselines/*/tuning_search_space.json: AdamW's learning rate in
// [1e-4, 1e-2] and 1 − β₁ in [0.02, 0.5], log-uniform, β₂ fixed at 0.999,
// weight decay in [5e-3, 1]; Nesterov's 1 − μ in [5e-3, 0.3]): learning
// rates over two decades where each family works, momentum-like
// coefficients as 1 − β on a log scale, second-moment decays fixed at their
// defaults. AlgoPerf's baselines also tune a warm-up and a decay schedule;
// these spaces keep the rate constant. Every other family gets its learning
// rate over two decades around its default (see Space).
func searchSpaces() []SearchSpace {
	lrSGD := Dim{Key: "lr", Min: 1e-3, Max: 0.3, Log: true}
	lrAdam := Dim{Key: "lr", Min: 1e-4, Max: 1e-2, Log: true}
	mom := Dim{Key: "momentum", Min: 5e-3, Max: 0.3, Log: true, OneMinus: true}
	b1 := Dim{Key: "b1", Min: 0.02, Max: 0.5, Log: true, OneMinus: true}
	wd := Dim{Key: "weight_decay", Min: 5e-3, Max: 1, Log: true}
	adamNote := "AlgoPerf's AdamW space without weight decay: lr and 1−β₁ log-uniform, β₂ = 0.999"
	return []SearchSpace{
		{Name: "sgd", Base: "sgd", Dims: []Dim{lrSGD}, Note: "plain SGD: the learning rate over 2.5 decades"},
		{Name: "momentum", Base: "momentum", Dims: []Dim{lrSGD, mom}, Note: "heavy ball: learning rate and 1−μ log-uniform (1−μ as AlgoPerf's Nesterov space)"},
		{Name: "nesterov", Base: "nesterov", Dims: []Dim{lrSGD, mom}, Note: "Nesterov momentum: learning rate and 1−μ log-uniform (1−μ as AlgoPerf's space)"},
		{Name: "adagrad", Base: "adagrad", Dims: []Dim{{Key: "lr", Min: 1e-3, Max: 0.3, Log: true}}, Note: "the learning rate over 2.5 decades"},
		{Name: "rmsprop", Base: "rmsprop", Dims: []Dim{lrAdam, {Key: "rho", Min: 1e-3, Max: 0.1, Log: true, OneMinus: true}},
			Note: "learning rate over two decades, 1−ρ log-uniform"},
		{Name: "adam", Base: "adam", Dims: []Dim{lrAdam, b1}, Note: adamNote},
		{Name: "amsgrad", Base: "amsgrad", Dims: []Dim{lrAdam, b1}, Note: adamNote},
		{Name: "adamax", Base: "adamax", Dims: []Dim{lrAdam, b1}, Note: adamNote},
		{Name: "nadam", Base: "nadam", Dims: []Dim{lrAdam, b1}, Note: adamNote},
		{Name: "radam", Base: "radam", Dims: []Dim{lrAdam, b1}, Note: adamNote},
		{Name: "adamw", Base: "adamw", Dims: []Dim{lrAdam, b1, wd}, Note: "AlgoPerf's AdamW space: lr, 1−β₁ and decoupled weight decay log-uniform, β₂ = 0.999"},
		{Name: "lion", Base: "lion", Dims: []Dim{{Key: "lr", Min: 1e-5, Max: 1e-3, Log: true}, b1},
			Note: "Lion's rates are 3–10× smaller than AdamW's (Chen et al. 2023): two decades a decade below Adam's; 1−β₁ log-uniform"},
	}
}

// Space returns the search space of an optimizer family: a hand-chosen one
// (searchSpaces) or, for any other registered family, its learning rate
// log-uniform over two decades centred on its default. Wrappers (lookahead,
// sam, ema, cautious: a base optimizer's spec is part of theirs) have none.
func Space(family string) (SearchSpace, error) {
	for _, s := range searchSpaces() {
		if s.Name == family {
			return s, nil
		}
	}
	if w, err := optimizers.Parse(family + "(base=sgd)"); err == nil && w.Base() != nil {
		return SearchSpace{}, fmt.Errorf("no search space for %q: it wraps another optimizer (%s(base=...)); external tuning searches optimizer families, run a wrapper as a spec with the self-tuning ruleset", family, family)
	}
	opt, err := optimizers.Parse(family)
	if err != nil || opt.Family() != family {
		return SearchSpace{}, fmt.Errorf("no search space for %q: name an optimizer family (valid: %s)", family, strings.Join(optimizers.Names(), ", "))
	}
	lr := opt.LearningRate()
	return SearchSpace{Name: family, Base: family, Dims: []Dim{{Key: "lr", Min: lr / 10, Max: lr * 10, Log: true}},
		Note: "the learning rate over two decades centred on the default"}, nil
}

// SearchSpaces returns the search space of every registered optimizer
// family but the wrappers, sorted by name.
func SearchSpaces() []SearchSpace {
	var out []SearchSpace
	for _, name := range optimizers.Names() {
		if s, err := Space(name); err == nil {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Point returns the optimizer at point u (one value in [0, 1) per dimension).
func (s SearchSpace) Point(u []float64) (*optimizers.Optimizer, error) {
	if len(u) != len(s.Dims) {
		return nil, fmt.Errorf("search space %s: point has %d coordinates for %d dimensions", s.Name, len(u), len(s.Dims))
	}
	opt, err := optimizers.Parse(s.Base)
	if err != nil {
		return nil, fmt.Errorf("search space %s: %w", s.Name, err)
	}
	for i, d := range s.Dims {
		if opt, err = opt.With(d.Key, d.value(u[i])); err != nil {
			return nil, fmt.Errorf("search space %s: %w", s.Name, err)
		}
	}
	return opt, nil
}

// Sample returns the optimizer of trial index (0-based) in study study of the
// quasi-random search: point index+1 of the Halton sequence in len(Dims)
// dimensions (bases 2, 3, 5, …), shifted modulo 1 by a random vector drawn
// from the study's number (a Cranley–Patterson rotation), so that each study
// is its own low-discrepancy sequence and a larger budget extends a smaller
// one trial by trial (Bousquet et al. 2017 argue for quasi-random search in
// hyperparameter tuning; AlgoPerf draws its trials that way).
func (s SearchSpace) Sample(study, index int) (*optimizers.Optimizer, error) {
	return s.Point(studyPoint(len(s.Dims), study, index))
}

// studyPoint is point index of study's rotated Halton sequence in d dimensions.
func studyPoint(d, study, index int) []float64 {
	r := rand.New(rand.NewPCG(uint64(study)+1, 0x5f3759df))
	u := make([]float64, d)
	for i := range u {
		u[i] = math.Mod(halton(index+1, primes[i%len(primes)])+r.Float64(), 1)
	}
	return u
}

// primes are the Halton sequence's bases, one per dimension.
var primes = []int{2, 3, 5, 7, 11, 13, 17, 19, 23, 29}

// halton returns the i-th element (i ≥ 1) of the van der Corput sequence in
// base b: i's digits in base b mirrored about the radix point.
func halton(i, b int) float64 {
	f, x := 1.0, 0.0
	for i > 0 {
		f /= float64(b)
		x += f * float64(i%b)
		i /= b
	}
	return x
}
