package main

import (
	"bytes"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLandscapeCommand(t *testing.T) {
	dir := t.TempDir()
	fig := filepath.Join(dir, "fig.png")
	anim := filepath.Join(dir, "anim.gif")
	code, out, errOut := runCLI("landscape", "--function", "booth", "--optimizers", "sgd(lr=0.05); adam(lr=0.5)",
		"--steps", "60", "--start", "-5,5", "--out", fig, "--gif", anim, "--frames", "10", "--width", "320")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"booth from (-5, 5), 60 steps", "sgd(lr=0.05)", "adam(lr=0.5)", "steps to f ≤ 0.01", "figure: " + fig, "animation: " + anim} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	data, err := os.ReadFile(fig)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding %s: %v", fig, err)
	}
	if b := img.Bounds(); b.Dx() < 700 || b.Dy() < 380 {
		t.Errorf("figure is only %v", b)
	}
	data, err = os.ReadFile(anim)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding %s: %v", anim, err)
	}
	if len(g.Image) > 10 || g.Config.Width != 320 {
		t.Errorf("GIF has %d frames, width %d; want at most 10 frames of width 320", len(g.Image), g.Config.Width)
	}
}

func TestLandscapeBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--function", "rosenbrok"}, `"rosenbrok"`},
		{[]string{"--start", "1"}, `want x,y, got "1"`},
		{[]string{"--start", "1,nan"}, `"nan" is not a finite number`},
		{[]string{"--steps", "-3"}, "--steps must be >= 0, got -3"},
		{[]string{"--tol", "0"}, "--tol must be > 0"},
		{[]string{"--out", "fig.jpg"}, `"fig.jpg" must end in .png or .svg`},
		{[]string{"--gif", "anim.png"}, `"anim.png" must end in .gif`},
		{[]string{"--frames", "1"}, "--frames must be between 2 and 200, got 1"},
		{[]string{"--width", "5000"}, "--width must be between 240 and 1280, got 5000"},
		{[]string{"--optimizers", "adamx(lr=1)"}, "adamx"},
		{[]string{"--function", "ill-conditioned(kappa=0.1)"}, "kappa=0.1"},
	} {
		code, _, stderr := runCLI(append([]string{"landscape"}, c.args...)...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", c.args, code, stderr, c.want)
		}
	}
}
