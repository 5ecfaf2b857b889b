package main

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
)

// checkWritableDir makes sure, before any work, that the folder dir exists
// or can be created and that a file can be written in it: a run must not
// train for an hour and then fail to save its results.
func checkWritableDir(flagName, dir string) error {
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usageError("%s: cannot create the folder %s: %v", flagName, dir, err)
	}
	f, err := os.CreateTemp(dir, ".optlab-write-check-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return usageError("%s: cannot write in %s: %v", flagName, dir, err)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// checkWritableFile checks the folder of an output file (see checkWritableDir).
func checkWritableFile(flagName, path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usageError("%s: %s is a folder, not a file", flagName, path)
	}
	return checkWritableDir(flagName, filepath.Dir(path))
}

// threadsFromSlurm sizes the Go scheduler, which the pure-Go backend's
// parallelism follows, to the CPUs Slurm gave the task
// (SLURM_CPUS_PER_TASK), unless GOMAXPROCS says otherwise: Slurm without CPU
// binding lets a task see every core of the node, and each of several tasks
// on a node would otherwise start a thread per core.
func threadsFromSlurm() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	if n, err := strconv.Atoi(os.Getenv("SLURM_CPUS_PER_TASK")); err == nil && n >= 1 {
		runtime.GOMAXPROCS(n)
	}
}
