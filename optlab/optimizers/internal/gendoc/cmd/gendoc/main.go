// Command gendoc regenerates optlab/optimizers' equations_gen.go and the
// optimizers table of its doc.go from the constructors' doc comments. Run it
// with go generate in optlab/optimizers (the directory it reads).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"optlab.dev/optlab/optimizers/internal/gendoc"
)

func main() {
	files, err := gendoc.Generate(".")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(".", name), data, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
}
