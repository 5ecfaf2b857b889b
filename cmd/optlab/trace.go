package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"

	"optlab.dev/optlab"
	"optlab.dev/optlab/models"
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
	function := fs.String("function", "", "named 2-D test function: "+strings.Join(models.FunctionNames(), ", "))
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

	var objective optlab.Objective
	var w0 []float64
	if *w0Flag != "" {
		if w0, err = parseFloatList("--w0", *w0Flag); err != nil {
			return err
		}
	}
	switch {
	case *function != "" && (*aFlag != "" || *bFlag != ""):
		return usageError("--function and --a/--b are exclusive: give one problem")
	case *function != "":
		f, err := models.Function(*function)
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
		a, err := parseFloatList("--a", *aFlag)
		if err != nil {
			return err
		}
		b := make([]float64, len(a))
		if *bFlag != "" {
			if b, err = parseFloatList("--b", *bFlag); err != nil {
				return err
			}
		}
		if w0 == nil {
			return usageError("--w0 is required with --a")
		}
		q := optlab.Quadratic{A: a, B: b, W0: w0}
		if err := q.Validate(); err != nil {
			return usageError("%v", err)
		}
		objective = q.Objective()
	default:
		return usageError("give a problem: --a/--b/--w0 for a quadratic or --function NAME")
	}

	backend, err := optlab.NewBackend(*backendFlag)
	if err != nil {
		return err
	}
	tr, traceErr := optlab.Trace(backend, opt, objective, w0, *steps, dtype)
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
	bw := bufio.NewWriter(w)
	writeTraceCSV(bw, tr, *withLoss)
	err = bw.Flush()
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

// writeTraceCSV prints step,w0,w1,...[,loss] with the shortest decimals that
// read back exactly.
func writeTraceCSV(w io.Writer, tr *optlab.Trajectory, withLoss bool) {
	n := len(tr.Params[0])
	header := []string{"step"}
	for i := 0; i < n; i++ {
		header = append(header, "w"+strconv.Itoa(i))
	}
	if withLoss {
		header = append(header, "loss")
	}
	fmt.Fprintln(w, strings.Join(header, ","))
	bits := 64
	if tr.DType == "float32" {
		bits = 32
	}
	row := make([]string, 0, n+2)
	for k, p := range tr.Params {
		row = append(row[:0], strconv.Itoa(k))
		for _, x := range p {
			row = append(row, strconv.FormatFloat(x, 'g', -1, bits))
		}
		if withLoss {
			row = append(row, strconv.FormatFloat(tr.Loss[k], 'g', -1, bits))
		}
		fmt.Fprintln(w, strings.Join(row, ","))
	}
}

// parseFloatList parses a comma-separated list of finite numbers for a flag.
func parseFloatList(flagName, s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		x, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, usageError("%s: value %d, %q, is not a finite number", flagName, i+1, p)
		}
		out = append(out, x)
	}
	return out, nil
}
