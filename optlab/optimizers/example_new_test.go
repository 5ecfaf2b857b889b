package optimizers_test

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab/optimizers"
)

// Compose an optimizer of your own from the package's transforms, and train it
// like any other: here clipped heavy-ball momentum with a cosine schedule, on
// the ill-conditioned quadratic f(w) = ½(w₀² + 10·w₁²).
func ExampleNew() {
	opt, err := optimizers.New("clipped_heavy_ball", 0.05,
		optimizers.ClipByGlobalNorm{Max: 5},
		optimizers.Chain(optimizers.TraceMomentum{Momentum: 0.9}, optimizers.ScaleByLearningRate{}))
	if err != nil {
		panic(err)
	}
	schedule, err := optimizers.ParseSchedule("cosine(steps=100)")
	if err != nil {
		panic(err)
	}
	opt = opt.WithSchedule(schedule)
	fmt.Println(opt)
	fmt.Println("state buffers per parameter:", opt.StateSlots())

	backend, err := compute.NewWithConfig("go")
	if err != nil {
		panic(err)
	}
	store := model.NewStore()
	w := store.VariableWithValue("/w", []float64{3, -2})
	step, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		wv := w.NodeValue(g)
		loss := ReduceAllSum(Mul(Const(g, []float64{0.5, 5}), Square(wv)))
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		panic(err)
	}
	for k := 1; k <= 100; k++ {
		loss, err := step.Call1()
		if err != nil {
			panic(err)
		}
		if k == 1 || k%25 == 0 {
			fmt.Printf("step %3d: loss before the update %.3g\n", k, tensors.ToScalar[float64](loss))
		}
	}
	// Output:
	// clipped_heavy_ball(lr=0.05,schedule=cosine(steps=100,warmup=0,min_lr=0))
	// state buffers per parameter: 1
	// step   1: loss before the update 24.5
	// step  25: loss before the update 0.143
	// step  50: loss before the update 0.0238
	// step  75: loss before the update 0.00026
	// step 100: loss before the update 0.00017
}

// A typed constructor takes its optimizer's config; start from the defaults.
func ExampleAdam() {
	c := optimizers.DefaultAdamConfig()
	c.LR, c.B2 = 3e-4, 0.98
	opt, err := optimizers.Adam(c)
	if err != nil {
		panic(err)
	}
	fmt.Println(opt)
	_, err = optimizers.Adam(optimizers.AdamConfig{LR: 1e-3}) // zero fields are taken as given
	fmt.Println(err)
	// Output:
	// adam(lr=0.0003,b1=0.9,b2=0.98,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false)
	// optimizers: adam: eps=0 must be > 0
}

// With returns a validated copy with one value changed: no spec surgery.
func ExampleOptimizer_With() {
	opt := optimizers.MustParse("sgd(momentum=0.9,schedule=cosine(steps=100))")
	for _, lr := range []float64{0.01, 0.1} {
		o, err := opt.With("lr", lr)
		if err != nil {
			panic(err)
		}
		fmt.Println(o)
	}
	_, err := opt.With("momentum", 1)
	fmt.Println(err)
	for _, h := range opt.Hyperparameters() {
		if h.Value != h.Default {
			fmt.Printf("%s=%g (default %g)\n", h.Key, h.Value, h.Default)
		}
	}
	// Output:
	// sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=false,weight_decay=0,schedule=cosine(steps=100,warmup=0,min_lr=0))
	// sgd(lr=0.1,momentum=0.9,dampening=0,nesterov=false,weight_decay=0,schedule=cosine(steps=100,warmup=0,min_lr=0))
	// optimizers: sgd: momentum=1 must be in [0, 1)
	// momentum=0.9 (default 0)
}
