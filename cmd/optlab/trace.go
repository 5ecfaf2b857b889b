package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gomlx/compute/dtypes"

	"optlab.dev/internal/lists"
	"optlab.dev/optlab"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/landscape"
	"optlab.dev/optlab/optimizers"
)

const traceSynopsis = `Runs N updates of an optimizer on an analytic problem and prints the
parameters after every update as CSV: step,w0,w1,... (row 0 is the start).

The problem is either a diagonal quadratic f(w) = sum_i a_i*w_i^2/2 + b_i*w_i,
given by --a, --b and --w0 (comma-separated, same length), or a named 2-D test
function (--function; its default start point unless --w0 is given).

Examples:
  optlab trace --optimizer 'adam(lr=0.1)' --a 1,10 --b 0,0 --w0 1,1 --steps 50
  optlab trace --optimizer 'sgd(lr=0.001,momentum=0.9)' --function rosenbrock --steps 500 --loss`

// runTrace implements `optlab trace`.
func runTrace(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("trace", traceSynopsis, stderr)
	spec := fs.String("optimizer", "sgd(lr=0.1)", "optimizer spec, e.g. 'adam(lr=0.1,b1=0.9)' (see 'optlab optimizers')")
	steps := fs.Int("steps", 100, "number of updates")
	aFlag := fs.String("a", "", "quadratic: curvatures a_i, comma-separated")
	bFlag := fs.String("b", "", "quadratic: linear terms b_i, comma-separated (default all 0)")
	w0Flag := fs.String("w0", "", "start point, comma-separated")
	function := fs.String("function", "", "named 2-D test function: "+strings.Join(functions.Names(), ", "))
	dtypeFlag := fs.String("dtype", "float64", "float64 or float32")
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	withLoss := fs.Bool("loss", false, "append the objective value as a last column, loss")
	out := fs.String("out", "", "write the CSV to this file instead of standard output")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	opt, err := optimizers.Parse(*spec)
	if err != nil {
		return usageError("--optimizer: %v", err)
	}
	if *steps < 0 {
		return usageError("--steps must be >= 0, got %d", *steps)
	}
	var dtype dtypes.DType
	switch strings.ToLower(*dtypeFlag) {
	case "float64", "f64":
		dtype = dtypes.Float64
	case "float32", "f32":
		dtype = dtypes.Float32
	default:
		return usageError("--dtype: %q is not float64 or float32", *dtypeFlag)
	}

	var objective landscape.Objective
	var w0 []float64
	if *w0Flag != "" {
		if w0, err = floatList("--w0", *w0Flag); err != nil {
			return err
		}
	}
	switch {
	case *function != "" && (*aFlag != "" || *bFlag != ""):
		return usageError("--function and --a/--b are exclusive: give one problem")
	case *function != "":
		f, err := functions.Get(*function)
		if err != nil {
			return usageError("--function: %v", err)
		}
		objective = f.Graph
		if w0 == nil {
			w0 = []float64{f.Start[0], f.Start[1]}
		}
		if len(w0) != 2 {
			return usageError("--w0: %s is 2-D, got %d values", f.Name, len(w0))
		}
	case *aFlag != "":
		a, err := floatList("--a", *aFlag)
		if err != nil {
			return err
		}
		b := make([]float64, len(a))
		if *bFlag != "" {
			if b, err = floatList("--b", *bFlag); err != nil {
				return err
			}
		}
		if w0 == nil {
			return usageError("--w0 is required with --a")
		}
		q := landscape.Quadratic{A: a, B: b, W0: w0}
		if err := q.Validate(); err != nil {
			return usageError("%v", err)
		}
		objective = q.Objective()
	default:
		return usageError("give a problem: --a/--b/--w0 for a quadratic or --function NAME")
	}

	if *out != "" {
		if err := checkWritableFile("--out", *out); err != nil {
			return err
		}
	}
	backend, err := optlab.NewBackend(*backendFlag)
	if err != nil {
		return err
	}
	tr, traceErr := landscape.Trace(backend, opt, objective, w0, *steps, dtype)
	if tr == nil {
		return traceErr
	}

	w := stdout
	var file *os.File
	if *out != "" {
		if file, err = os.Create(*out); err != nil {
			return fmt.Errorf("creating %s: %w", *out, err)
		}
		w = file
	}
	err = tr.WriteCSV(w, *withLoss)
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("writing the trace: %w", err)
	}
	// A divergence is reported after the finite prefix is written.
	return traceErr
}

// floatList parses a comma-separated list of finite numbers for a flag.
func floatList(flagName, s string) ([]float64, error) {
	out, err := lists.FiniteFloats(s)
	if err != nil {
		return nil, usageError("%s: %v", flagName, err)
	}
	return out, nil
}
