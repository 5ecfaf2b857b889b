package main

import (
	"fmt"
	"io"
	"strings"

	"optlab.dev/internal/lists"
	"optlab.dev/optlab"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/landscape"
	"optlab.dev/optlab/plots"
)

const landscapeSynopsis = `Starts several optimizers from one point of a 2-D test function, runs N
updates of each (landscape.Trace), prints each one's final point, loss and the
number of steps it needed to reach the tolerance, and draws the trajectories
over the function's contours (--out, PNG or SVG) and as an animated GIF (--gif).

Without --optimizers, each function has default learning rates for sgd,
momentum, nesterov, adagrad, rmsprop and adam chosen to make the figure
readable; --steps and --start default per function too.

Examples:
  optlab landscape --function rosenbrock --out rosenbrock.png --gif rosenbrock.gif
  optlab landscape --function 'ill-conditioned(kappa=50,angle=30)' --optimizers 'sgd(lr=0.03); adam(lr=0.1)' --steps 200
  optlab landscape --function saddle --start -1.8,0.001 --out saddle.svg`

// runLandscape implements `optlab landscape`.
func runLandscape(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("landscape", landscapeSynopsis, stderr)
	function := fs.String("function", "rosenbrock", "2-D test function: "+strings.Join(functions.Names(), ", ")+"; ill-conditioned takes (kappa=,angle=)")
	specList := fs.String("optimizers", "", "';'-separated optimizer specs, e.g. 'sgd(lr=1e-3); adam(lr=0.1)' (default: the function's defaults)")
	steps := fs.Int("steps", 0, "updates per optimizer (0: the function's default)")
	startFlag := fs.String("start", "", "start point x,y (default: the function's)")
	tol := fs.Float64("tol", 1e-2, "tolerance: count the steps until the loss is within tol of the global minimum")
	out := fs.String("out", "", "write the contour figure to this file (.png or .svg)")
	gifPath := fs.String("gif", "", "write an animated GIF of the trajectories to this file")
	frames := fs.Int("frames", 60, "GIF frames (2 to 200)")
	width := fs.Int("width", 640, "GIF width in pixels (240 to 1280)")
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	if _, err := functions.Get(*function); err != nil {
		return usageError("--function: %v", err)
	}
	cfg := landscape.Config{Function: *function, Steps: *steps, Tolerance: *tol}
	if *specList != "" {
		specs, err := parseSpecs(*specList)
		if err != nil {
			return err
		}
		cfg.Optimizers = specs
	}
	if *steps < 0 {
		return usageError("--steps must be >= 0, got %d", *steps)
	}
	if !(*tol > 0) {
		return usageError("--tol must be > 0, got %g", *tol)
	}
	if *startFlag != "" {
		start, err := lists.Point(*startFlag)
		if err != nil {
			return usageError("--start: %v", err)
		}
		cfg.Start = start
	}
	for flagName, p := range map[string]string{"--out": *out, "--gif": *gifPath} {
		if p == "" {
			continue
		}
		lower := strings.ToLower(p)
		if flagName == "--out" && !strings.HasSuffix(lower, ".png") && !strings.HasSuffix(lower, ".svg") {
			return usageError("--out: %q must end in .png or .svg", p)
		}
		if flagName == "--gif" && !strings.HasSuffix(lower, ".gif") {
			return usageError("--gif: %q must end in .gif", p)
		}
	}
	anim := plots.AnimOptions{Frames: *frames, Width: *width}
	if *frames < 2 || *frames > 200 {
		return usageError("--frames must be between 2 and 200, got %d", *frames)
	}
	if *width < 240 || *width > 1280 {
		return usageError("--width must be between 240 and 1280, got %d", *width)
	}

	for flagName, p := range map[string]string{"--out": *out, "--gif": *gifPath} {
		if p != "" {
			if err := checkWritableFile(flagName, p); err != nil {
				return err
			}
		}
	}
	backend, err := optlab.NewBackend(*backendFlag)
	if err != nil {
		return err
	}
	defer backend.Finalize()
	res, err := landscape.Run(backend, cfg)
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Table().String())
	if *out != "" {
		fig, err := res.Figure()
		if err != nil {
			return err
		}
		if err := fig.Save(*out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "figure: %s\n", *out)
	}
	if *gifPath != "" {
		a, err := res.Animation(anim)
		if err != nil {
			return err
		}
		if err := a.Save(*gifPath); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "animation: %s (%d frames)\n", *gifPath, len(a.Steps))
	}
	return nil
}
