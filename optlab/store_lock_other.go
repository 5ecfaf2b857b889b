//go:build !unix

package optlab

import "os"

// lockFile is a no-op where flock is not available: do not run two sweeps on
// one store at once there.
func lockFile(*os.File, bool) error { return nil }

// unlockFile is a no-op where flock is not available.
func unlockFile(*os.File) {}
