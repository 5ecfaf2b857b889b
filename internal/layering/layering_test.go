package layering

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

// layers places every package of the module on a floor. A package may import
// only packages on lower floors: not one above it, not one beside it. A new
// package needs a floor here (a concept built on the runner goes on floor 3;
// one that builds on such a concept, as the report card builds on sweeps,
// goes above it).
var layers = map[string]int{
	// Helpers, data files and the standard-library-only safetensors format,
	// importable from anywhere.
	"internal/":          0,
	"data":               0,
	"optlab/safetensors": 0,
	// Leaves: update rules, networks, data sets, test functions, figures.
	"optlab/optimizers": 1,
	"optlab/models":     1,
	"optlab/datasets":   1,
	"optlab/functions":  1,
	"optlab/plots":      1,
	// A network's variables as files: checkpoints and PyTorch weight files.
	"optlab/checkpoint": 1,
	// The runner.
	"optlab": 2,
	// The generator of the optimizers' equation table (a go:generate tool
	// that reads the optimizers' own list).
	"optlab/optimizers/internal/gendoc": 2,
	// One package per concept, built on the runner.
	"optlab/landscape":   3,
	"optlab/runs":        3,
	"optlab/bench":       3,
	"optlab/sweep":       3,
	"optlab/population":  3,
	"optlab/diagnostics": 3,
	// Concepts built on sweeps (the benchmark protocol also uses landscape's
	// noisy 2-D problems); notebook support built on the landscapes (the
	// interactive explorer draws them).
	"optlab/benchmark":       4,
	"optlab/notebook":        4,
	"optlab/store":           4,
	"optlab/reportcard":      4,
	"optlab/sweep/sweeptest": 4,
	// The command line.
	"cmd/optlab": 9,
	"optlab/optimizers/internal/gendoc/cmd/gendoc": 9,
}

const module = "optlab.dev/"

// floor returns the floor of a package path without the module prefix.
func floor(pkg string) (int, bool) {
	if strings.HasPrefix(pkg, "internal/") {
		return layers["internal/"], true
	}
	f, ok := layers[pkg]
	return f, ok
}

func TestImportsGoDown(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	cmd := exec.Command(goBin, "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, module+"...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var unplaced []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		from, ok := floor(pkg)
		if !ok {
			unplaced = append(unplaced, pkg)
			continue
		}
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			to, ok := floor(imp)
			if !ok {
				continue // reported as unplaced where it is listed itself
			}
			if to >= from && !(from == 0 && to == 0 && strings.HasPrefix(pkg, "internal/")) {
				t.Errorf("%s (floor %d) imports %s (floor %d): imports must go down", pkg, from, imp, to)
			}
			if from == 0 && strings.HasPrefix(imp, "optlab/") {
				t.Errorf("%s imports %s: internal helpers import no optlab package", pkg, imp)
			}
		}
	}
	if len(unplaced) > 0 {
		sort.Strings(unplaced)
		t.Errorf("packages without a floor in layering_test.go: %s", strings.Join(unplaced, ", "))
	}
}
