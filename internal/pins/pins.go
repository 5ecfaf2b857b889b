// Package pins keeps the project's pinned dependencies in go.mod even while no
// other package imports them yet, so that `go mod tidy` never upgrades them to
// whatever version happens to be newest. See go.mod for the versions.
package pins

import (
	_ "github.com/gomlx/compute/gobackend"
	_ "github.com/janpfeifer/gonb/gonbui"
	_ "gonum.org/v1/plot"
)
