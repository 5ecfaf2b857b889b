package optimizers

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
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
	// EMATrajectory is, for the ema wrapper, the moving average after every
	// step (row 0 = w0).
	EMATrajectory [][]float64 `json:"ema_trajectory"`
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

// compareTrajectory fails the test at the first entry of got more than
// goldenTol (relative) from want, and returns the largest error.
func compareTrajectory(t *testing.T, c golden, what string, got, want [][]float64) float64 {
	t.Helper()
	scale := 0.0
	for _, row := range want {
		for _, x := range row {
			scale = math.Max(scale, math.Abs(x))
		}
	}
	worst := 0.0
	for k := range want {
		for i := range want[k] {
			e := relErr(got[k][i], want[k][i], scale)
			worst = math.Max(worst, e)
			if e > goldenTol || math.IsNaN(got[k][i]) {
				t.Fatalf("%s (%s) step %d %s[%d] = %.17g, reference %.17g (rel. error %.3g)",
					c.Spec, c.Reference, k, what, i, got[k][i], want[k][i], e)
			}
		}
	}
	return worst
}

// checkGoldens replays every case and fails on a relative error above goldenTol.
// It returns the largest error seen, and records the largest per optimizer
// family in worstBy when it is not nil.
func checkGoldens(t *testing.T, file string, worstBy map[string]float64) float64 {
	return checkCases(t, file, loadGoldens(t, file), worstBy)
}

// checkCases is checkGoldens for the given cases of file.
func checkCases(t *testing.T, file string, cases []golden, worstBy map[string]float64) float64 {
	backend := testBackend(t)
	worst := 0.0
	for _, c := range cases {
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
			got, avg := runTrajectoryWithAverage(t, backend, opt, c.Problem.graph(), c.Problem.W0, shape, c.Steps)
			caseWorst := compareTrajectory(t, c, "w", got, c.Trajectory)
			if c.EMATrajectory != nil {
				if avg == nil {
					t.Fatalf("%s: the golden has an ema_trajectory, the optimizer keeps no average", c.Spec)
				}
				caseWorst = math.Max(caseWorst, compareTrajectory(t, c, "ema", avg, c.EMATrajectory))
			}
			worst = math.Max(worst, caseWorst)
			if worstBy != nil {
				fam := opt.Family()
				worstBy[fam] = math.Max(worstBy[fam], caseWorst)
			}
			if caseWorst > 1e-11 {
				t.Logf("%s: max relative error %.3g", name, caseWorst)
			}
		})
	}
	t.Logf("%s: max relative error %.3g", file, worst)
	return worst
}

func TestConformanceTorchOptimizers(t *testing.T) { checkGoldens(t, "torch_optimizers.json", nil) }
func TestConformanceTorchSchedules(t *testing.T)  { checkGoldens(t, "torch_schedules.json", nil) }
func TestConformanceNumPyPaper(t *testing.T)      { checkGoldens(t, "numpy_paper.json", nil) }

// TestConformanceNumPyNew replays the goldens of the 2018–2024 rules and the
// wrappers (scripts/reference/gen_goldens_new.py: NumPy transcriptions of the
// papers), including the ema wrapper's moving averages, and logs the largest
// relative error per rule.
func TestConformanceNumPyNew(t *testing.T) {
	worstBy := map[string]float64{}
	checkGoldens(t, "numpy_new.json", worstBy)
	fams := make([]string, 0, len(worstBy))
	for f := range worstBy {
		fams = append(fams, f)
	}
	sort.Strings(fams)
	for _, f := range fams {
		t.Logf("%-10s max relative error %.3g", f, worstBy[f])
	}
}

// TestConformanceShampooEigh replays shampoo's goldens with the roots from
// the eigendecomposition (root=eigh) instead of the Newton iteration.
func TestConformanceShampooEigh(t *testing.T) {
	var cases []golden
	for _, c := range loadGoldens(t, "numpy_new.json") {
		if strings.HasPrefix(c.Spec, "shampoo(") {
			c.Spec = strings.TrimSuffix(c.Spec, ")") + ",root=eigh)"
			cases = append(cases, c)
		}
	}
	if len(cases) == 0 {
		t.Fatal("no shampoo goldens")
	}
	checkCases(t, "numpy_new.json", cases, nil)
}
