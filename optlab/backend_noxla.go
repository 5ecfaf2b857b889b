//go:build !(cgo && ((linux && amd64) || darwin) && !noxla)

package optlab

import "errors"

// prepareXLA reports that this binary was built without the XLA backend.
func prepareXLA() error {
	return errors.New("this optlab binary was built without the XLA backend (it needs cgo on linux/amd64 or darwin); rebuild with CGO_ENABLED=1, or use --backend go")
}
