package benchmark

import (
	"fmt"
	"sync"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/landscape"
	"optlab.dev/optlab/models"
)

// problem is what a workload trains: data held in memory as rows of float32
// features (with int32 labels, unused by problems without classes) and a
// graph of the mean loss of a batch.
type problem struct {
	train, val, test *datasets.Dataset
	// loss builds the mean loss of the batch (x [B, width], y [B]) and the
	// number of its examples predicted right (nil without classes). It
	// creates the trainable variables in scope on its first call.
	loss func(scope *model.Scope, x, y *Node) (mean, correct *Node)
}

// Data loads the workloads' data sets once and shares them between trials
// (MNIST, Fashion-MNIST, the quadratic's draws); it is safe for concurrent
// use.
type Data struct {
	mu   sync.Mutex
	dir  map[string]string // data set → folder ("" searches the default places)
	sets map[string]*datasets.Set
	quad *NoisyQuadratic
}

// NewData returns a Data that loads the data set called name from the folder
// dirs[name], or from its default places (see datasets.Get) when dirs has no
// entry for it; dirs may be nil.
func NewData(dirs map[string]string) *Data {
	return &Data{dir: dirs, sets: map[string]*datasets.Set{}}
}

// set loads (once) the data set called name.
func (c *Data) set(name string) (*datasets.Set, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.sets[name]; ok {
		return s, nil
	}
	src, err := datasets.Get(name)
	if err != nil {
		return nil, err
	}
	s, err := src.Load(c.dir[name])
	if err != nil {
		return nil, err
	}
	c.sets[name] = s
	return s, nil
}

// quadratic returns (once) the quadratic_deep problem's data.
func (c *Data) quadratic() *NoisyQuadratic {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.quad == nil {
		c.quad = NewNoisyQuadratic()
	}
	return c.quad
}

// heldOut is the number of training examples held out for validation by the
// image workloads: the last 10,000, as AlgoPerf's MNIST workload does (it
// trains on train[:50000] and validates on train[50000:]).
const heldOut = 10000

// classification is a network from optlab/models trained with the softmax
// cross-entropy on a data set of 28×28 images: the last 10,000 training images
// are the validation split, the test images the test split.
func classification(c *Data, data, modelName string) (*problem, error) {
	m, err := models.Get(modelName)
	if err != nil {
		return nil, err
	}
	s, err := c.set(data)
	if err != nil {
		return nil, err
	}
	n := s.Train.Len()
	if n <= heldOut {
		return nil, fmt.Errorf("%s has %d training examples, need more than the %d held out for validation", data, n, heldOut)
	}
	opts := models.DefaultOptions()
	return &problem{
		train: s.Train.Slice("train", 0, n-heldOut),
		val:   s.Train.Slice("validation", n-heldOut, n),
		test:  s.Test,
		loss: func(scope *model.Scope, x, y *Node) (*Node, *Node) {
			logits := m.Build(scope.In("model"), x, opts)
			logProbs := LogSoftmax(logits)
			ce := Neg(ReduceSum(Mul(OneHot(y, logits.Shape().Dimensions[1], logits.DType()), logProbs), 1))
			pred := ConvertDType(ArgMax(logits, 1), y.DType())
			correct := ReduceAllSum(ConvertDType(Equal(pred, y), logits.DType()))
			return ReduceAllMean(ce), correct
		},
	}, nil
}

// quadraticProblem is DeepOBS's quadratic_deep (see NoisyQuadratic): θ starts
// at 1 and the batch loss is the mean of ½(θ − x)ᵀH(θ − x) over its rows.
func quadraticProblem(c *Data) *problem {
	q := c.quadratic()
	n := q.Dim
	hessian := make([]float32, n*n)
	for i, v := range q.Hessian {
		hessian[i] = float32(v)
	}
	ones := make([]float32, n)
	for i := range ones {
		ones[i] = 1
	}
	return &problem{
		train: q.Train, val: q.Val, test: q.Test,
		loss: func(scope *model.Scope, x, _ *Node) (*Node, *Node) {
			g := x.Graph()
			theta := scope.VariableWithValue("theta", ones).NodeValue(g)
			h := Reshape(Const(g, hessian), n, n)
			d := Sub(ExpandAxes(theta, 0), x)                    // [B, n]
			perExample := ReduceSum(Mul(d, DotProduct(d, h)), 1) // dᵀHd (H symmetric)
			return MulScalar(ReduceAllMean(perExample), 0.5), nil
		},
	}
}

// noisyFunctionTerms, noisyFunctionSigma: the noisy 2-D workloads' finite sum
// (landscape.NoisyFunction): 1,000 terms whose gradients are the function's
// plus centred N(0, σ²I) noise.
const (
	noisyFunctionTerms = 1000
	noisyFunctionSigma = 5
	noisyFunctionSeed  = 7
)

// noisyFunctionProblem is a 2-D test function with noisy gradients
// (landscape.NoisyFunction): training batches hold noise vectors z and the
// loss is f(w) + z̄·w; the validation and test splits are one zero row, so
// their loss is f(w) itself (the noise is centred, so f is also the mean
// over the training terms).
func noisyFunctionProblem(name string) (*problem, error) {
	f, err := functions.Get(name)
	if err != nil {
		return nil, err
	}
	fs, err := landscape.NoisyFunction(f, noisyFunctionTerms, noisyFunctionSigma, noisyFunctionSeed)
	if err != nil {
		return nil, err
	}
	train := &datasets.Dataset{Name: "train", Width: 2, Features: make([]float32, 2*len(fs.Data)), Labels: make([]int32, len(fs.Data))}
	for i, row := range fs.Data {
		train.Features[2*i], train.Features[2*i+1] = float32(row[0]), float32(row[1])
	}
	zero := func(name string) *datasets.Dataset {
		return &datasets.Dataset{Name: name, Width: 2, Features: make([]float32, 2), Labels: make([]int32, 1)}
	}
	w0 := []float32{float32(fs.W0[0]), float32(fs.W0[1])}
	return &problem{
		train: train, val: zero("validation"), test: zero("test"),
		loss: func(scope *model.Scope, x, _ *Node) (*Node, *Node) {
			w := scope.VariableWithValue("w", w0).NodeValue(x.Graph())
			return fs.Loss(w, x), nil
		},
	}, nil
}
