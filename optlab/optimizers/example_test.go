package optimizers_test

import (
	"fmt"

	"optlab.dev/optlab/optimizers"
)

// Parse a spec; String gives the canonical form with every hyperparameter.
func ExampleParse() {
	opt, err := optimizers.Parse("adam(lr=3e-4,b2=0.98,schedule=cosine(steps=1000,warmup=50))")
	if err != nil {
		panic(err)
	}
	fmt.Println(opt)
	fmt.Printf("state: %d buffers per parameter, %d bytes for 1M float32 parameters\n",
		opt.StateSlots(), opt.StateBytes(1_000_000, 4))
	// Output:
	// adam(lr=0.0003,b1=0.9,b2=0.98,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false,schedule=cosine(steps=1000,warmup=50,min_lr=0))
	// state: 2 buffers per parameter, 8000000 bytes for 1M float32 parameters
}

// Errors name the offending token and its position.
func ExampleParse_error() {
	_, err := optimizers.Parse("sgd(lr=0.1,momentun=0.9)")
	fmt.Println(err)
	_, err = optimizers.Parse("adam(b1=1.5)")
	fmt.Println(err)
	// Output:
	// optimizers: spec "sgd(lr=0.1,momentun=0.9)": column 12, "momentun": unknown key for sgd (valid: lr, momentum, dampening, nesterov, weight_decay, schedule, clip_norm, clip_value, skip_nonfinite, group)
	// optimizers: spec "adam(b1=1.5)": column 9, "1.5": b1 must be in [0, 1)
}

// The Keras conventions are one key away.
func ExampleParse_keras() {
	fmt.Println(optimizers.MustParse("rmsprop(keras=true)"))
	// Output:
	// rmsprop(lr=0.001,rho=0.9,eps=1e-07,weight_decay=0,momentum=0,centered=false,keras=true)
}

// Schedules can be evaluated on the host, e.g. for a plot.
func ExampleParseSchedule() {
	s, err := optimizers.ParseSchedule("onecycle(steps=10,pct_start=0.3)")
	if err != nil {
		panic(err)
	}
	for k := 0; k < 10; k++ {
		fmt.Printf("%.5f ", s.Value(0.1, k))
	}
	fmt.Println()
	// Output:
	// 0.00400 0.05200 0.10000 0.09505 0.08117 0.06113 0.03887 0.01883 0.00495 0.00000
}

func ExampleList() {
	for _, info := range optimizers.List()[:3] {
		fmt.Printf("%s: %s\n", info.Name, info.Summary)
	}
	// Output:
	// sgd: stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay
	// momentum: SGD with heavy-ball momentum (sgd with momentum=0.9)
	// nesterov: SGD with Nesterov momentum (sgd with momentum=0.9,nesterov=true)
}

// Parameter groups: no weight decay on biases and batch-norm parameters, a
// smaller learning rate for the first layer. A group is a name compared with
// the components of each variable's path; the first group that matches takes
// the variable.
func ExampleOptimizer_WithGroup() {
	opt := optimizers.MustParse("adamw(lr=1e-3,weight_decay=0.05,group=biases(weight_decay=0),group=bn(weight_decay=0))")
	opt, err := opt.WithGroup("dense1", map[string]float64{"lr": 1e-4})
	if err != nil {
		panic(err)
	}
	for _, g := range opt.Groups() {
		fmt.Println(g)
	}
	fmt.Println(opt)
	// Output:
	// biases(weight_decay=0)
	// bn(weight_decay=0)
	// dense1(lr=0.0001)
	// adamw(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.05,amsgrad=false,bias_correction=true,keras=false,group=biases(weight_decay=0),group=bn(weight_decay=0),group=dense1(lr=0.0001))
}
