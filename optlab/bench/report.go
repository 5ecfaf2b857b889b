package bench

import (
	"fmt"
	"time"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Config describes a run of benchmarks: training throughput of each model at
// each batch size, then the update throughput of one optimizer at each
// parameter count.
type Config struct {
	// Train holds the training examples (the first Steps·BatchSize of them
	// are used); it may be nil when Models is empty.
	Train      *datasets.Dataset
	Models     []string
	BatchSizes []int
	// Optimizer is the optimizer of the training benchmarks.
	Optimizer *optimizers.Optimizer
	// Steps is the number of timed steps per epoch, Epochs the number of
	// timed epochs (after an untimed one), Seed draws weights and batch order.
	Steps, Epochs int
	Seed          int64
	// FastDense is models.Options.FastDense for the training benchmarks.
	FastDense bool
	// UpdateParams are the parameter counts of the update benchmarks (flat
	// vectors), UpdateShapes the shapes of more update benchmarks (one
	// matrix each: shampoo and soap precondition its rows and columns),
	// UpdateOptimizer their optimizer and UpdateSteps their timed updates.
	UpdateParams    []int64
	UpdateShapes    [][]int
	UpdateOptimizer *optimizers.Optimizer
	UpdateSteps     int
	// BackendConfig is the backend configuration used, for the report.
	BackendConfig string
	// Population, when > 1, also times each model and batch size as a
	// learning-rate sweep of that many members trained as one population
	// (see Population), through TrainPopulation; OnPopulation, if set,
	// receives each result as it comes.
	Population      int
	TrainPopulation TrainPopulation
	OnPopulation    func(*PopulationResult)
}

// Report is the record of a Run, as `optlab bench --json` writes it.
type Report struct {
	Date     string          `json:"date"`
	Host     optlab.RunEnv   `json:"host"`
	Training []*TrainResult  `json:"training"`
	Updates  []*UpdateResult `json:"updates"`
	// Populations are the population results (Config.Population > 1).
	Populations []*PopulationResult `json:"populations,omitempty"`
	FastDense   bool                `json:"fast_dense"`
	BackendCfg  string              `json:"backend_config"`
}

// Run runs the benchmarks of cfg on backend in order, calling onTrain and
// onUpdate (each may be nil) after each result so a caller can print them as
// they come, and returns them all.
func Run(backend compute.Backend, cfg Config, onTrain func(*TrainResult), onUpdate func(*UpdateResult)) (*Report, error) {
	rep := &Report{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Host:       optlab.CurrentEnv(optlab.DescribeBackend(backend)),
		FastDense:  cfg.FastDense,
		BackendCfg: cfg.BackendConfig,
	}
	if len(cfg.Models) > 0 {
		if cfg.Train == nil {
			return nil, fmt.Errorf("bench: no training data")
		}
		opts := models.DefaultOptions()
		opts.FastDense = cfg.FastDense
		for _, name := range cfg.Models {
			for _, b := range cfg.BatchSizes {
				r, err := Training(backend, cfg.Train, name, cfg.Optimizer, b, cfg.Steps, cfg.Epochs, cfg.Seed, &opts)
				if err != nil {
					return nil, err
				}
				rep.Training = append(rep.Training, r)
				if onTrain != nil {
					onTrain(r)
				}
				if cfg.Population > 1 {
					p, err := Population(backend, cfg.Train, name, cfg.Optimizer, cfg.Population, b, cfg.Steps, cfg.Epochs,
						cfg.Seed, &opts, r.SamplesPerSec, cfg.TrainPopulation)
					if err != nil {
						return nil, err
					}
					rep.Populations = append(rep.Populations, p)
					if cfg.OnPopulation != nil {
						cfg.OnPopulation(p)
					}
				}
			}
		}
	}
	shapes := make([][]int, 0, len(cfg.UpdateParams)+len(cfg.UpdateShapes))
	for _, n := range cfg.UpdateParams {
		shapes = append(shapes, []int{int(n)})
	}
	for _, dims := range append(shapes, cfg.UpdateShapes...) {
		r, err := UpdateShaped(backend, cfg.UpdateOptimizer, dims, cfg.UpdateSteps)
		if err != nil {
			return nil, err
		}
		rep.Updates = append(rep.Updates, r)
		if onUpdate != nil {
			onUpdate(r)
		}
	}
	return rep, nil
}
