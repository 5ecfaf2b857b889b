// Package fingerprint names the code that produced a result: a SHA-256 over
// the Go source of some packages and of everything they import, so that a
// cached result can record what computed it and be recomputed, never shown,
// once that code changes.
//
// Packages of the main module count by their source with comments removed
// (editing documentation changes no result); packages of other modules by
// module path and version; the standard library by the Go version. The file
// set is the one `go list` selects for the current environment, so a build
// with GOEXPERIMENT=simd (other matrix kernels) has another fingerprint than
// one without.
//
// It imports only the standard library and runs the go command, so it is for
// tools, tests and notebooks that run next to the source, not for deployed
// binaries.
package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/scanner"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
)

// Prefix starts every fingerprint, naming the hash.
const Prefix = "sha256:"

// listed is the part of `go list -json` output that Of reads.
type listed struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Standard   bool
	Module     *struct {
		Path    string
		Version string
		Main    bool
		Replace *struct {
			Path    string
			Version string
		}
	}
}

// Of returns the fingerprint of pkgs (import paths, e.g. "optlab.dev/optlab")
// and their dependencies, resolved by the go command run in dir (a directory
// of a module that can import them). The result is Prefix followed by 64 hex
// digits.
func Of(dir string, pkgs ...string) (string, error) {
	if len(pkgs) == 0 {
		return "", errors.New("fingerprint: no packages given")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("fingerprint: the go command is needed to list the source: %w", err)
	}
	cmd := exec.Command(goBin, append([]string{"list", "-deps", "-json"}, pkgs...)...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("fingerprint: go list %s: %v: %s", strings.Join(pkgs, " "), err, strings.TrimSpace(stderr.String()))
	}
	var lines []string
	goVersion := ""
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return "", fmt.Errorf("fingerprint: reading go list output: %w", err)
		}
		switch {
		case p.Standard:
			if goVersion == "" {
				goVersion = goCommandVersion(goBin)
			}
		case p.Module != nil && p.Module.Main:
			for _, f := range append(append([]string(nil), p.GoFiles...), p.CgoFiles...) {
				h, err := sourceHash(filepath.Join(p.Dir, f))
				if err != nil {
					return "", err
				}
				lines = append(lines, p.ImportPath+"/"+f+" "+h)
			}
		case p.Module != nil:
			m := p.Module.Path + "@" + p.Module.Version
			if r := p.Module.Replace; r != nil {
				m += " => " + r.Path + "@" + r.Version
			}
			lines = append(lines, "module "+m)
		default:
			return "", fmt.Errorf("fingerprint: package %s belongs to no module", p.ImportPath)
		}
	}
	lines = append(lines, "go "+goVersion)
	sort.Strings(lines)
	lines = dedupe(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return Prefix + hex.EncodeToString(sum[:]), nil
}

// sourceHash hashes a Go file's tokens, leaving out comments and semicolons:
// the same program, however formatted or documented, has the same hash.
func sourceHash(path string) (string, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("fingerprint: %w", err)
	}
	fset := token.NewFileSet()
	file := fset.AddFile(path, -1, len(src))
	var s scanner.Scanner
	var scanErr error
	s.Init(file, src, func(pos token.Position, msg string) {
		if scanErr == nil {
			scanErr = fmt.Errorf("fingerprint: %s: %s", pos, msg)
		}
	}, 0)
	h := sha256.New()
	for {
		_, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON {
			continue
		}
		if lit == "" {
			lit = tok.String()
		}
		fmt.Fprintf(h, "%d %s\n", tok, lit)
	}
	if scanErr != nil {
		return "", scanErr
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// goCommandVersion returns `go env GOVERSION`, or "unknown".
func goCommandVersion(goBin string) string {
	out, err := exec.Command(goBin, "env", "GOVERSION").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// dedupe removes adjacent duplicates from sorted lines.
func dedupe(lines []string) []string {
	out := lines[:0]
	for i, l := range lines {
		if i == 0 || l != lines[i-1] {
			out = append(out, l)
		}
	}
	return out
}

// RunnerPackage is the package whose code, with everything it imports,
// determines a training run's numbers: the runner (update rules, models, data
// sets and GoMLX come with it as its dependencies).
const RunnerPackage = "optlab.dev/optlab"

// mainModule is the path of the module this package belongs to.
const mainModule = "optlab.dev"

// TrainingPackages returns the packages whose code, with everything they
// import, determines the numbers that training produces: the runner
// (RunnerPackage), population training, sweeps and the benchmark protocol's
// trials. Records and caches carry their fingerprint, so that a change to
// population training or to a benchmark workload makes the results computed
// before it stale, as a change to an update rule does.
func TrainingPackages() []string {
	return []string{RunnerPackage, "optlab.dev/optlab/population", "optlab.dev/optlab/sweep", "optlab.dev/optlab/benchmark"}
}

// Runner returns the fingerprint of TrainingPackages as the source in the
// module holding dir (or, when no go.mod is found above dir, the working
// directory) defines it.
func Runner(dir string) (string, error) {
	return Of(ModuleDir(dir), TrainingPackages()...)
}

// ModuleDir returns the first directory holding a go.mod, looking from dir
// upwards, then from the working directory upwards; "." when there is none.
func ModuleDir(dir string) string {
	for _, start := range []string{dir, "."} {
		abs, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for d := abs; ; d = filepath.Dir(d) {
			if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
				return d
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "."
}

// Running returns the fingerprint of TrainingPackages as compiled into the
// running program, when the program says where that source is: a program that
// imports optlab with a replace directive pointing at a working tree (a GoNB
// notebook after scripts/nbsetup.sh, a scratch module) names the folder in its
// build information; a test binary or a `go run` build of this module (no
// version control stamp) was compiled from the module holding the working
// directory. A binary built with `go build` or `go install` carries no such
// promise (its source may have changed since), so Running returns "" and no
// error for it, as it does for a program that does not contain the runner.
func Running() (string, error) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", nil
	}
	return running(bi)
}

// running is Running for given build information.
func running(bi *debug.BuildInfo) (string, error) {
	for _, d := range bi.Deps {
		if d.Path == mainModule && d.Replace != nil && d.Replace.Version == "" {
			if !filepath.IsAbs(d.Replace.Path) {
				return "", nil // relative to a go.mod this program cannot see
			}
			return Of(d.Replace.Path, TrainingPackages()...)
		}
	}
	if bi.Main.Path != mainModule {
		return "", nil
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			return "", nil // a stamped build: its source is not known to be the working tree
		}
	}
	dir := ModuleDir(".")
	raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil || modulePath(raw) != mainModule {
		return "", nil
	}
	return Of(dir, TrainingPackages()...)
}

// modulePath returns the module path a go.mod declares.
func modulePath(gomod []byte) string {
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}
