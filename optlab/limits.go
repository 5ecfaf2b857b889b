package optlab

import (
	"fmt"

	"github.com/dustin/go-humanize"

	"optlab.dev/internal/sysmem"
	"optlab.dev/optlab/datasets"
)

// MinTrainingMemory is a lower bound of the memory that training population
// models at once (1 for a plain run) with a batch size needs beyond the data
// set: each member's batch of inputs three times over (the runner's gather
// buffer, the tensor handed to the backend, the backend's copy). The models'
// activations, weights and optimizer state come on top, so a run that needs
// more than this cannot fit, whatever the model.
func MinTrainingMemory(batchSize, population int) uint64 {
	return uint64(max(batchSize, 0)) * datasets.MNISTPixels * 4 * 3 * uint64(max(population, 1))
}

// CheckMemory returns an error, before any work, when MinTrainingMemory
// exceeds the memory this process may use (the machine's, or its control
// group's limit); nil when it fits or the limit is unknown.
func CheckMemory(batchSize, population int) error {
	need, have := MinTrainingMemory(batchSize, population), sysmem.Limit()
	if have == 0 || need <= have {
		return nil
	}
	what := fmt.Sprintf("batch size %d", batchSize)
	if population > 1 {
		what += fmt.Sprintf(" × population %d", population)
	}
	return fmt.Errorf("%s needs at least %s of memory (inputs alone), this machine allows %s",
		what, humanize.IBytes(need), humanize.IBytes(have))
}
