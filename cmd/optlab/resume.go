package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"

	"optlab.dev/optlab"
	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/safetensors"
)

// ckptFlags are train's flags for checkpoints and weight files.
type ckptFlags struct {
	dir, resume, initWeights, saveWeights string
	every, keep                           int
}

func (c *ckptFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.dir, "checkpoint-dir", "", "save the run's full state in this directory at every epoch's end (and every --checkpoint-every steps, and on Ctrl-C), so that --resume can continue it")
	fs.IntVar(&c.every, "checkpoint-every", 0, "with --checkpoint-dir or --resume: also save a checkpoint every N optimizer steps (0: at epoch ends only)")
	fs.IntVar(&c.keep, "keep", 2, "with --checkpoint-dir or --resume: keep the newest K checkpoints")
	fs.StringVar(&c.resume, "resume", "", "continue the run whose checkpoints are in this directory, with its configuration (--epochs may raise the epochs; other flags must agree with the checkpoint)")
	fs.StringVar(&c.initWeights, "init-weights", "", "start from the weights in this safetensors file (PyTorch names and layouts, as --save-weights writes)")
	fs.StringVar(&c.saveWeights, "save-weights", "", "write the trained weights to this safetensors file (PyTorch names and layouts; see docs/weights.md)")
}

// validate checks the flags that need no file.
func (c *ckptFlags) validate() error {
	if c.every < 0 {
		return usageError("--checkpoint-every must be ≥ 0, got %d", c.every)
	}
	if c.keep < 1 {
		return usageError("--keep must be ≥ 1, got %d", c.keep)
	}
	if c.resume != "" && c.dir != "" && c.dir != c.resume {
		return usageError("--resume %s saves its checkpoints where it found them; drop --checkpoint-dir %s", c.resume, c.dir)
	}
	if c.resume != "" && c.initWeights != "" {
		return usageError("--resume takes the weights from its checkpoint; drop --init-weights")
	}
	// Before any work: the files must be readable and the folders writable.
	if c.initWeights != "" {
		if _, err := safetensors.ReadFile(c.initWeights); err != nil {
			return usageError("--init-weights: %v", err)
		}
	}
	if c.saveWeights != "" {
		if err := checkWritableFile("--save-weights", c.saveWeights); err != nil {
			return err
		}
	}
	if c.dir != "" {
		if err := checkWritableDir("--checkpoint-dir", c.dir); err != nil {
			return err
		}
	}
	if c.resume != "" {
		if _, err := os.Stat(c.resume); err != nil {
			return fmt.Errorf("no checkpoint in %s: %w", c.resume, err)
		}
		if err := checkWritableDir("--resume", c.resume); err != nil {
			return err
		}
	}
	return nil
}

// resolve fills f from the checkpoint named by --resume: the run's
// configuration, which flags given on the command line must agree with
// (--epochs may raise the number of epochs). It returns the run's label, or
// "" without --resume.
func (c *ckptFlags) resolve(fs *flag.FlagSet, f *runFlags, stdout io.Writer) (string, error) {
	if c.resume == "" {
		return "", nil
	}
	ck, err := checkpoint.LoadLatest(c.resume)
	if err != nil {
		return "", err
	}
	if ck == nil {
		return "", fmt.Errorf("no checkpoint in %s", c.resume)
	}
	spec := &optlab.RunSpec{}
	if err := ck.DecodeConfig(spec); err != nil {
		return "", err
	}
	saved := map[string]string{
		"model": spec.Model, "optimizers": spec.Optimizer, "seed": strconv.FormatInt(spec.Seed, 10),
		"batch-size": strconv.Itoa(spec.BatchSize), "limit": strconv.Itoa(spec.Data.Limit), "split": spec.Data.Split,
		"non-finite": string(spec.NonFinite), "plateau-factor": "0",
	}
	if p := spec.Plateau; p != nil {
		saved["plateau-factor"] = strconv.FormatFloat(p.Factor, 'g', -1, 64)
		saved["plateau-patience"] = strconv.Itoa(p.Patience)
	}
	var clash error
	fs.Visit(func(fl *flag.Flag) {
		want, ok := saved[fl.Name]
		if !ok || clash != nil {
			return
		}
		got := fl.Value.String()
		if fl.Name == "optimizers" {
			if specs, err := parseSpecs(got); err == nil && len(specs) == 1 {
				got = specs[0].Optimizer.String()
			}
		}
		if got != want {
			clash = usageError("--%s %s differs from the checkpoint's %s (a resumed run keeps its configuration)", fl.Name, fl.Value, want)
		}
	})
	if clash != nil {
		return "", clash
	}
	epochsSet := false
	fs.Visit(func(fl *flag.Flag) { epochsSet = epochsSet || fl.Name == "epochs" })
	if !epochsSet {
		f.epochs = spec.Epochs
	} else if f.epochs < spec.Epochs {
		return "", usageError("--epochs %d is fewer than the run's %d: a resumed run can only train longer", f.epochs, spec.Epochs)
	}
	f.model, f.optimizers, f.seed, f.batchSize = spec.Model, spec.Optimizer, spec.Seed, spec.BatchSize
	f.limit, f.split, f.nonFinite = spec.Data.Limit, spec.Data.Split, string(spec.NonFinite)
	f.plateauFactor = 0
	if p := spec.Plateau; p != nil {
		f.plateauFactor, f.plateauPatience = p.Factor, p.Patience
	}
	fmt.Fprintf(stdout, "resuming from %s (step %d)\n", ck.Path, ck.Manifest.Step)
	return spec.Label, nil
}

// apply sets cfg's checkpointing and weight files.
func (c *ckptFlags) apply(cfg *optlab.Config) {
	switch {
	case c.resume != "":
		cfg.Checkpoint = &optlab.Checkpointing{Dir: c.resume, Every: c.every, Keep: c.keep, Resume: true}
	case c.dir != "":
		cfg.Checkpoint = &optlab.Checkpointing{Dir: c.dir, Every: c.every, Keep: c.keep}
	}
	cfg.InitWeights, cfg.SaveWeights = c.initWeights, c.saveWeights
}
