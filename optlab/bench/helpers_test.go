package bench

import (
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

var (
	mnistOnce sync.Once
	mnist     *datasets.Set
	mnistErr  error
)

func testData(t *testing.T, split datasets.DataSplit, limit int) *optlab.Data {
	t.Helper()
	mnistOnce.Do(func() { mnist, mnistErr = datasets.LoadMNIST("") })
	if mnistErr != nil {
		t.Fatalf("LoadMNIST: %v", mnistErr)
	}
	d, err := optlab.SplitData(mnist, split, limit)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseOrNil parses a spec, or returns nil for "" (a missing optimizer).
func parseOrNil(spec string) *optimizers.Optimizer {
	if spec == "" {
		return nil
	}
	return optimizers.MustParse(spec)
}
