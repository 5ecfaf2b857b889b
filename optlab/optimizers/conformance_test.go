package optimizers

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	. "github.com/gomlx/gomlx/pkg/core/graph"
)

// golden is one recorded trajectory from scripts/reference/gen_goldens.py.
type golden struct {
	Spec       string      `json:"spec"`
	Schedule   string      `json:"schedule"`
	BaseLR     float64     `json:"base_lr"`
	Reference  string      `json:"reference"`
	Problem    problemDesc `json:"problem"`
	Steps      int         `json:"steps"`
	Trajectory [][]float64 `json:"trajectory"`
	LRs        []float64   `json:"lrs"`
}

type problemDesc struct {
	Name string    `json:"name"`
	Type string    `json:"type"`
	A    []float64 `json:"a"`
	B    []float64 `json:"b"`
	W0   []float64 `json:"w0"`
	// Shape of the parameter when it is not a vector (values are row-major).
	Shape []int `json:"shape"`
}

func (p problemDesc) graph() func(w *Node) *Node {
	switch p.Type {
	case "quadratic":
		return quadraticGraph(p.A, p.B)
	case "rosenbrock":
		return func(w *Node) *Node {
			g := w.Graph()
			// Select by masks (the pure-Go backend lacks Pad, the gradient of Slice).
			x := ReduceAllSum(Mul(w, ConvertDType(Const(g, []float64{1, 0}), w.DType())))
			y := ReduceAllSum(Mul(w, ConvertDType(Const(g, []float64{0, 1}), w.DType())))
			one := Scalar(g, w.DType(), 1)
			return ReduceAllSum(Add(Square(Sub(one, x)), Mul(Scalar(g, w.DType(), 100), Square(Sub(y, Square(x))))))
		}
	}
	panic(fmt.Sprintf("unknown problem type %q", p.Type))
}

func loadGoldens(t *testing.T, file string) []golden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("reading goldens (regenerate with /usr/bin/python3 scripts/reference/gen_goldens.py): %v", err)
	}
	var f struct {
		Cases []golden `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("parsing %s: %v", file, err)
	}
	if len(f.Cases) == 0 {
		t.Fatalf("%s has no cases", file)
	}
	return f.Cases
}

// relErr is |got − want| / max(|want|, 1e-3·scale), scale being the largest
// magnitude in the reference trajectory: relative where values are not tiny.
func relErr(got, want, scale float64) float64 {
	return math.Abs(got-want) / math.Max(math.Abs(want), 1e-3*scale)
}

const goldenTol = 1e-10

// checkGoldens replays every case and fails on a relative error above goldenTol.
// It returns the largest error seen.
func checkGoldens(t *testing.T, file string) float64 {
	backend := testBackend(t)
	worst := 0.0
	for _, c := range loadGoldens(t, file) {
		name := c.Spec + "/" + c.Problem.Name
		t.Run(name, func(t *testing.T) {
			opt, err := Parse(c.Spec)
			if err != nil {
				t.Fatalf("Parse(%q): %v", c.Spec, err)
			}
			shape := c.Problem.Shape
			if shape == nil {
				shape = []int{len(c.Problem.W0)}
			}
			got := runShapedTrajectory(t, backend, opt, c.Problem.graph(), c.Problem.W0, shape, c.Steps)
			scale := 0.0
			for _, row := range c.Trajectory {
				for _, x := range row {
					scale = math.Max(scale, math.Abs(x))
				}
			}
			caseWorst := 0.0
			for k := range c.Trajectory {
				for i := range c.Trajectory[k] {
					e := relErr(got[k][i], c.Trajectory[k][i], scale)
					caseWorst = math.Max(caseWorst, e)
					if e > goldenTol || math.IsNaN(got[k][i]) {
						t.Fatalf("%s (%s) step %d w[%d] = %.17g, reference %.17g (rel. error %.3g)",
							c.Spec, c.Reference, k, i, got[k][i], c.Trajectory[k][i], e)
					}
				}
			}
			worst = math.Max(worst, caseWorst)
			if caseWorst > 1e-11 {
				t.Logf("%s: max relative error %.3g", name, caseWorst)
			}
		})
	}
	t.Logf("%s: max relative error %.3g", file, worst)
	return worst
}

func TestConformanceTorchOptimizers(t *testing.T) { checkGoldens(t, "torch_optimizers.json") }
func TestConformanceTorchSchedules(t *testing.T)  { checkGoldens(t, "torch_schedules.json") }
func TestConformanceNumPyPaper(t *testing.T)      { checkGoldens(t, "numpy_paper.json") }
