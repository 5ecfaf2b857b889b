package fingerprint

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// writeModule writes a two-package module "example.test/m" (package b imports
// package a) into a temporary directory and returns it.
func writeModule(t *testing.T, a, b string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":      "module example.test/m\n\ngo 1.22\n",
		"a/a.go":      a,
		"b/b.go":      b,
		"a/a_test.go": "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) {}\n",
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const (
	srcA = "package a\n\n// Two is 2.\nfunc Two() int { return 2 }\n"
	srcB = "package b\n\nimport \"example.test/m/a\"\n\nfunc Four() int { return a.Two() * 2 }\n"
)

func TestOf(t *testing.T) {
	base := func(t *testing.T) string {
		fp, err := Of(writeModule(t, srcA, srcB), "example.test/m/b")
		if err != nil {
			t.Fatal(err)
		}
		return fp
	}
	ref := base(t)
	if !strings.HasPrefix(ref, Prefix) || len(ref) != len(Prefix)+64 {
		t.Fatalf("fingerprint %q: want %s and 64 hex digits", ref, Prefix)
	}
	for _, tc := range []struct {
		name   string
		a, b   string
		pkg    string
		change bool
	}{
		{"same source, other directory", srcA, srcB, "example.test/m/b", false},
		{"a comment edited", strings.Replace(srcA, "Two is 2.", "Two returns two.", 1), srcB, "example.test/m/b", false},
		{"reformatted", strings.Replace(srcA, "{ return 2 }", "{\n\treturn 2\n}", 1), srcB, "example.test/m/b", false},
		{"the package's own code changed", srcA, strings.Replace(srcB, "* 2", "* 3", 1), "example.test/m/b", true},
		{"a dependency's code changed", strings.Replace(srcA, "return 2", "return 3", 1), srcB, "example.test/m/b", true},
		{"another package", srcA, srcB, "example.test/m/a", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fp, err := Of(writeModule(t, tc.a, tc.b), tc.pkg)
			if err != nil {
				t.Fatal(err)
			}
			if changed := fp != ref; changed != tc.change {
				t.Errorf("fingerprint changed = %v, want %v (%s vs %s)", changed, tc.change, fp, ref)
			}
		})
	}
}

func TestOfErrors(t *testing.T) {
	dir := writeModule(t, srcA, srcB)
	for _, tc := range []struct {
		pkgs []string
		want string
	}{
		{nil, "no packages"},
		{[]string{"example.test/m/nope"}, "example.test/m/nope"},
		{[]string{"example.test/m/a", "example.test/m/../x"}, "go list"},
	} {
		if _, err := Of(dir, tc.pkgs...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Of(%q) error %v, want one containing %q", tc.pkgs, err, tc.want)
		}
	}
}

// TestOfOptlabRunner fingerprints this module's runner: the call notebooks
// make for their caches.
func TestOfOptlabRunner(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	a, err := Of("../..", "optlab.dev/optlab")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Of("../../optlab", "optlab.dev/optlab")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("fingerprint depends on the directory: %s vs %s", a, b)
	}
}

// TestRunning checks which programs may fingerprint the runner they contain:
// the answer must equal Runner's for the source that was compiled, or be
// empty when that source is unknown.
func TestRunning(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Runner(root)
	if err != nil {
		t.Fatal(err)
	}
	replaced := func(path string) []*debug.Module {
		return []*debug.Module{{Path: "optlab.dev", Version: "v0.0.0-00010101000000-000000000000",
			Replace: &debug.Module{Path: path}}}
	}
	for _, tc := range []struct {
		name string
		bi   debug.BuildInfo
		want string
	}{
		{"a notebook: optlab replaced by the working tree", debug.BuildInfo{Main: debug.Module{Path: "gonb_1234"}, Deps: replaced(root)}, want},
		{"a relative replacement cannot be located", debug.BuildInfo{Main: debug.Module{Path: "gonb_1234"}, Deps: replaced("../optlab")}, ""},
		{"go test or go run of this module", debug.BuildInfo{Main: debug.Module{Path: "optlab.dev", Version: "(devel)"}}, want},
		{"a stamped go build", debug.BuildInfo{Main: debug.Module{Path: "optlab.dev", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "812b7eb"}}}, ""},
		{"a program without the runner", debug.BuildInfo{Main: debug.Module{Path: "example.test/other"}}, ""},
		{"optlab as a released dependency", debug.BuildInfo{Main: debug.Module{Path: "example.test/other"},
			Deps: []*debug.Module{{Path: "optlab.dev", Version: "v1.0.0"}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := running(&tc.bi)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("running() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestModuleDir(t *testing.T) {
	dir := writeModule(t, srcA, srcB)
	for _, start := range []string{dir, filepath.Join(dir, "a"), filepath.Join(dir, "a", "missing", "deeper")} {
		if got := ModuleDir(start); got != dir {
			t.Errorf("ModuleDir(%s) = %s, want %s", start, got, dir)
		}
	}
}

// BenchmarkRunner measures fingerprinting the runner, which every cached
// comparison in a notebook cell pays once (a `go list -deps -json` of the
// runner and a hash of the module's source).
func BenchmarkRunner(b *testing.B) {
	if _, err := exec.LookPath("go"); err != nil {
		b.Skip("no go command")
	}
	for i := 0; i < b.N; i++ {
		if _, err := Runner(filepath.Join("..", "..")); err != nil {
			b.Fatal(err)
		}
	}
}
