//go:build cgo && ((linux && amd64) || darwin) && !noxla

package optlab

import (
	"os"

	"github.com/gomlx/go-xla/compute/xla"
)

// prepareXLA turns GoMLX's automatic plugin download off unless the user opted
// in with OPTLAB_XLA_AUTO_INSTALL=1, so a missing plugin is an error, not a
// network access.
func prepareXLA() error {
	xla.EnableAutoInstall(os.Getenv("OPTLAB_XLA_AUTO_INSTALL") == "1")
	return nil
}
