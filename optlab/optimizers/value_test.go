package optimizers_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/optimizers/internal/gendoc"
)

// TestFamily checks the spec name of parsed, constructed and custom optimizers.
func TestFamily(t *testing.T) {
	custom, err := optimizers.New("mine", 0.1, optimizers.ScaleByLearningRate{})
	if err != nil {
		t.Fatal(err)
	}
	adamw, err := optimizers.AdamW(optimizers.DefaultAdamWConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opt  *optimizers.Optimizer
		want string
	}{
		{optimizers.MustParse("adam"), "adam"},
		{optimizers.MustParse("adamw(lr=1)"), "adamw"},
		{optimizers.MustParse("momentum(momentum=0)"), "momentum"},
		{optimizers.MustParse("schedule_free_adamw"), "schedule_free_adamw"},
		{adamw, "adamw"},
		{custom, "mine"},
	} {
		if got := tc.opt.Family(); got != tc.want {
			t.Errorf("%s: Family() = %q, want %q", tc.opt, got, tc.want)
		}
	}
}

// TestConstructorsMatchParse builds every named optimizer from its typed
// constructor and default config and compares it with the parsed name.
func TestConstructorsMatchParse(t *testing.T) {
	ctors := map[string]func() (*optimizers.Optimizer, error){
		"sgd":      func() (*optimizers.Optimizer, error) { return optimizers.SGD(optimizers.DefaultSGDConfig()) },
		"momentum": func() (*optimizers.Optimizer, error) { return optimizers.Momentum(optimizers.DefaultMomentumConfig()) },
		"nesterov": func() (*optimizers.Optimizer, error) { return optimizers.Nesterov(optimizers.DefaultNesterovConfig()) },
		"adagrad":  func() (*optimizers.Optimizer, error) { return optimizers.Adagrad(optimizers.DefaultAdagradConfig()) },
		"adadelta": func() (*optimizers.Optimizer, error) { return optimizers.Adadelta(optimizers.DefaultAdadeltaConfig()) },
		"rmsprop":  func() (*optimizers.Optimizer, error) { return optimizers.RMSprop(optimizers.DefaultRMSpropConfig()) },
		"adam":     func() (*optimizers.Optimizer, error) { return optimizers.Adam(optimizers.DefaultAdamConfig()) },
		"amsgrad":  func() (*optimizers.Optimizer, error) { return optimizers.AMSGrad(optimizers.DefaultAMSGradConfig()) },
		"adamw":    func() (*optimizers.Optimizer, error) { return optimizers.AdamW(optimizers.DefaultAdamWConfig()) },
		"adamax":   func() (*optimizers.Optimizer, error) { return optimizers.Adamax(optimizers.DefaultAdamaxConfig()) },
		"nadam":    func() (*optimizers.Optimizer, error) { return optimizers.NAdam(optimizers.DefaultNAdamConfig()) },
		"radam":    func() (*optimizers.Optimizer, error) { return optimizers.RAdam(optimizers.DefaultRAdamConfig()) },
		"rprop":    func() (*optimizers.Optimizer, error) { return optimizers.Rprop(optimizers.DefaultRpropConfig()) },
		"asgd":     func() (*optimizers.Optimizer, error) { return optimizers.ASGD(optimizers.DefaultASGDConfig()) },
		"lion":     func() (*optimizers.Optimizer, error) { return optimizers.Lion(optimizers.DefaultLionConfig()) },
		"lamb":     func() (*optimizers.Optimizer, error) { return optimizers.LAMB(optimizers.DefaultLAMBConfig()) },
		"lars":     func() (*optimizers.Optimizer, error) { return optimizers.LARS(optimizers.DefaultLARSConfig()) },
		"muon":     func() (*optimizers.Optimizer, error) { return optimizers.Muon(optimizers.DefaultMuonConfig()) },
		"schedule_free_adamw": func() (*optimizers.Optimizer, error) {
			return optimizers.ScheduleFreeAdamW(optimizers.DefaultScheduleFreeAdamWConfig())
		},
		"adafactor": func() (*optimizers.Optimizer, error) {
			return optimizers.Adafactor(optimizers.DefaultAdafactorConfig())
		},
		"adabelief": func() (*optimizers.Optimizer, error) {
			return optimizers.AdaBelief(optimizers.DefaultAdaBeliefConfig())
		},
		"yogi":     func() (*optimizers.Optimizer, error) { return optimizers.Yogi(optimizers.DefaultYogiConfig()) },
		"adan":     func() (*optimizers.Optimizer, error) { return optimizers.Adan(optimizers.DefaultAdanConfig()) },
		"ademamix": func() (*optimizers.Optimizer, error) { return optimizers.AdEMAMix(optimizers.DefaultAdEMAMixConfig()) },
		"adopt":    func() (*optimizers.Optimizer, error) { return optimizers.ADOPT(optimizers.DefaultADOPTConfig()) },
		"prodigy":  func() (*optimizers.Optimizer, error) { return optimizers.Prodigy(optimizers.DefaultProdigyConfig()) },
		"madgrad":  func() (*optimizers.Optimizer, error) { return optimizers.MADGRAD(optimizers.DefaultMADGRADConfig()) },
		"shampoo":  func() (*optimizers.Optimizer, error) { return optimizers.Shampoo(optimizers.DefaultShampooConfig()) },
		"soap":     func() (*optimizers.Optimizer, error) { return optimizers.SOAP(optimizers.DefaultSOAPConfig()) },
		// Wrappers around the base "sgd" (the spec is name(base=sgd)).
		"lookahead": func() (*optimizers.Optimizer, error) {
			c := optimizers.DefaultLookaheadConfig()
			c.Base = optimizers.MustParse("sgd")
			return optimizers.Lookahead(c)
		},
		"sam": func() (*optimizers.Optimizer, error) {
			c := optimizers.DefaultSAMConfig()
			c.Base = optimizers.MustParse("sgd")
			return optimizers.SAM(c)
		},
		"cautious": func() (*optimizers.Optimizer, error) {
			c := optimizers.DefaultCautiousConfig()
			c.Base = optimizers.MustParse("sgd")
			return optimizers.Cautious(c)
		},
		"ema": func() (*optimizers.Optimizer, error) {
			c := optimizers.DefaultEMAConfig()
			c.Base = optimizers.MustParse("sgd")
			return optimizers.EMA(c)
		},
	}
	for _, info := range optimizers.List() {
		ctor, ok := ctors[info.Name]
		if !ok {
			t.Errorf("%s: no typed constructor in this test", info.Name)
			continue
		}
		opt, err := ctor()
		if err != nil {
			t.Fatalf("%s: %v", info.Name, err)
		}
		spec := info.Name
		if info.Wrapper {
			spec += "(base=sgd)"
		}
		if got, want := opt.String(), optimizers.MustParse(spec).String(); got != want {
			t.Errorf("%s: constructor gives %q, Parse %q", info.Name, got, want)
		}
		if info.Constructor == "" || !strings.EqualFold(info.Constructor, strings.ReplaceAll(info.Name, "_", "")) {
			t.Errorf("%s: constructor %q", info.Name, info.Constructor)
		}
	}
	if len(ctors) != len(optimizers.List()) {
		t.Errorf("%d constructors tested, %d optimizers listed", len(ctors), len(optimizers.List()))
	}
	// Zero values are taken as given, not defaulted: the zero config is invalid.
	var pe *optimizers.ParamError
	if _, err := optimizers.Adam(optimizers.AdamConfig{}); !errors.As(err, &pe) || pe.Key != "lr" || pe.Name != "adam" {
		t.Errorf("Adam(AdamConfig{}) = %v, want a *ParamError for lr", err)
	}
	// A wrapper without a base is an error naming the key.
	if _, err := optimizers.Lookahead(optimizers.DefaultLookaheadConfig()); !errors.As(err, &pe) || pe.Key != "base" || pe.Name != "lookahead" {
		t.Errorf("Lookahead without a base = %v, want a *ParamError for base", err)
	}
}

func TestHyperparameters(t *testing.T) {
	custom, err := optimizers.New("mine", 0.5, optimizers.ScaleByLearningRate{})
	if err != nil {
		t.Fatal(err)
	}
	custom2, err := custom.With("lr", 0.25)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opt  *optimizers.Optimizer
		want string // key=value/default,... with * marking booleans
	}{
		{optimizers.MustParse("adam(lr=0.01,b1=0.8)"),
			"lr=0.01/0.001,b1=0.8/0.9,b2=0.999/0.999,eps=1e-08/1e-08,weight_decay=0/0,amsgrad=0/0*,bias_correction=1/1*,keras=0/0*"},
		{optimizers.MustParse("rmsprop(keras=true,rho=0.95)"),
			"lr=0.001/0.001,rho=0.95/0.9,eps=1e-07/1e-07,weight_decay=0/0,momentum=0/0,centered=0/0*,keras=1/0*"},
		{optimizers.MustParse("momentum(schedule=cosine(steps=10),clip_norm=1)"),
			"lr=0.01/0.01,momentum=0.9/0.9,dampening=0/0,nesterov=0/0*,weight_decay=0/0"},
		{optimizers.MustParse("muon(ns_steps=3)"),
			"lr=0.02/0.02,momentum=0.95/0.95,nesterov=1/1*,ns_steps=3/5,weight_decay=0/0,adam_lr=0.0003/0.0003,b1=0.9/0.9,b2=0.999/0.999,eps=1e-08/1e-08"},
		{custom, "lr=0.5/0.5"},
		{custom2, "lr=0.25/0.5"},
	} {
		var parts []string
		for _, h := range tc.opt.Hyperparameters() {
			s := h.Key + "=" + fmtG(h.Value) + "/" + fmtG(h.Default)
			if h.Bool {
				s += "*"
			}
			if h.Doc == "" {
				t.Errorf("%s: %s has no doc", tc.opt, h.Key)
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, ","); got != tc.want {
			t.Errorf("%s: Hyperparameters\n got %s\nwant %s", tc.opt, got, tc.want)
		}
	}
}

func TestGet(t *testing.T) {
	opt := optimizers.MustParse("adam(lr=0.01,amsgrad=true,clip_value=2)")
	for _, tc := range []struct {
		key  string
		want float64
		ok   bool
	}{
		{"lr", 0.01, true}, {"learning_rate", 0.01, true}, {"beta2", 0.999, true}, {"amsgrad", 1, true},
		{"keras", 0, true}, {"clip_value", 2, true}, {"clip_norm", 0, true}, {"skip_nonfinite", 0, true},
		{"momentum", 0, false}, {"schedule", 0, false},
	} {
		got, ok := opt.Get(tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Get(%q) = %g, %v; want %g, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestWith(t *testing.T) {
	custom, err := optimizers.New("mine", 0.5, optimizers.TraceMomentum{Momentum: 0.9}, optimizers.ScaleByLearningRate{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		opt   *optimizers.Optimizer
		key   string
		value float64
		want  string // the new String, or a fragment of the error
		err   bool
	}{
		{optimizers.MustParse("adam"), "lr", 0.1,
			"adam(lr=0.1,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false)", false},
		{optimizers.MustParse("adam(b1=0.8,schedule=exponential(gamma=0.5))"), "learning_rate", 0.2,
			"adam(lr=0.2,b1=0.8,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false,schedule=exponential(gamma=0.5))", false},
		{optimizers.MustParse("sgd(skip_nonfinite=true)"), "momentum", 0.9,
			"sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=false,weight_decay=0,skip_nonfinite=true)", false},
		{optimizers.MustParse("sgd(momentum=0.9)"), "nesterov", 1,
			"sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=true,weight_decay=0)", false},
		{optimizers.MustParse("rmsprop"), "keras", 1,
			"rmsprop(lr=0.01,rho=0.99,eps=1e-08,weight_decay=0,momentum=0,centered=false,keras=true)", false},
		{optimizers.MustParse("adamw"), "clip_norm", 1,
			"adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=false,bias_correction=true,keras=false,clip_norm=1)", false},
		{optimizers.MustParse("adamw(clip_norm=1)"), "clip_value", 0.5,
			"adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=false,bias_correction=true,keras=false,clip_norm=1,clip_value=0.5)", false},
		{optimizers.MustParse("adamw(clip_norm=1)"), "clip_norm", 0,
			"adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=false,bias_correction=true,keras=false)", false},
		{optimizers.MustParse("muon"), "ns_steps", 3,
			"muon(lr=0.02,momentum=0.95,nesterov=true,ns_steps=3,weight_decay=0,adam_lr=0.0003,b1=0.9,b2=0.999,eps=1e-08)", false},
		{custom, "lr", 0.25, "mine(lr=0.25)", false},
		{custom, "clip_norm", 2, "mine(lr=0.5,clip_norm=2)", false},

		{optimizers.MustParse("adam"), "b1", 1.5, "adam: b1=1.5 must be in [0, 1)", true},
		{optimizers.MustParse("adam"), "lr", 0, "adam: lr=0 must be > 0", true},
		{optimizers.MustParse("adam"), "eps", -1, "eps=-1 must be > 0", true},
		{optimizers.MustParse("adam"), "amsgrad", 2, "amsgrad=2 must be true or false", true},
		{optimizers.MustParse("muon"), "ns_steps", 2.5, "ns_steps=2.5 must be an integer", true},
		{optimizers.MustParse("muon"), "ns_steps", 51, "ns_steps=51 must be in [1, 50]", true},
		{optimizers.MustParse("sgd"), "nesterov", 1, "nesterov=true needs momentum > 0", true},
		{optimizers.MustParse("rprop"), "step_min", 100, "step_min=100 must not exceed step_max", true},
		{optimizers.MustParse("sgd"), "clip_norm", -1, "clip_norm=-1 must be >= 0", true},
		{optimizers.MustParse("adam"), "foo", 1, `adam has no hyperparameter "foo" (valid: lr, b1, b2, eps, weight_decay, amsgrad, bias_correction, keras, clip_norm, clip_value, skip_nonfinite)`, true},
		{optimizers.MustParse("adam"), "schedule", 1, `no hyperparameter "schedule"`, true},
		{custom, "lr", -1, "mine: lr=-1 must be > 0", true},
		{custom, "momentum", 0.5, `mine has no hyperparameter "momentum" (valid: lr, clip_norm, clip_value, skip_nonfinite)`, true},
	} {
		before := tc.opt.String()
		got, err := tc.opt.With(tc.key, tc.value)
		if tc.opt.String() != before {
			t.Errorf("With changed its receiver: %q → %q", before, tc.opt.String())
		}
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s.With(%q, %g) = %v, %v; want an error containing %q", before, tc.key, tc.value, got, err, tc.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s.With(%q, %g): %v", before, tc.key, tc.value, err)
			continue
		}
		if got.String() != tc.want {
			t.Errorf("%s.With(%q, %g) = %q, want %q", before, tc.key, tc.value, got, tc.want)
		}
		if v, ok := got.Get(tc.key); !ok || v != tc.value {
			t.Errorf("%s.With(%q, %g).Get = %g, %v", before, tc.key, tc.value, v, ok)
		}
		if got.Family() != tc.opt.Family() {
			continue
		}
		if tc.opt != custom {
			again, err := optimizers.Parse(got.String())
			if err != nil || again.String() != got.String() {
				t.Errorf("Parse(%q) = %v, %v", got, again, err)
			}
			if again.StateSlots() != got.StateSlots() {
				t.Errorf("%q: chain rebuilt with %d slots, parsed %d", got, got.StateSlots(), again.StateSlots())
			}
		}
	}
}

// TestClipIsAChainHead checks that clipping is part of the chain.
func TestClipIsAChainHead(t *testing.T) {
	opt := optimizers.MustParse("sgd(momentum=0.9,clip_norm=2,clip_value=1)")
	ts := opt.Transforms()
	if len(ts) != 5 {
		t.Fatalf("Transforms() = %#v", ts)
	}
	if v, ok := ts[0].(optimizers.ClipByValue); !ok || v.C != 1 {
		t.Errorf("Transforms()[0] = %#v, want ClipByValue{1}", ts[0])
	}
	if n, ok := ts[1].(optimizers.ClipByGlobalNorm); !ok || n.Max != 2 {
		t.Errorf("Transforms()[1] = %#v, want ClipByGlobalNorm{2}", ts[1])
	}
	if len(optimizers.MustParse("sgd").Transforms()) != 3 {
		t.Errorf("no clipping: %#v", optimizers.MustParse("sgd").Transforms())
	}
}

// TestGeneratedFilesUpToDate fails when equations_gen.go or the table of
// doc.go differ from what go generate would write.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files, err := gendoc.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(".", name))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s is stale: run go generate in optlab/optimizers", name)
		}
	}
	for _, info := range optimizers.List() {
		if info.Equations == "" {
			t.Errorf("%s: no equations (doc comment of %s)", info.Name, info.Constructor)
		}
	}
}

func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
