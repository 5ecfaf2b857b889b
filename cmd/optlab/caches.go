package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"optlab.dev/optlab/notebook"
	"optlab.dev/optlab/store"
)

func runCaches(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("caches", "Check the notebooks' committed results: every comparison cache (*.json, written by\nnotebook.CompareCached) must be complete, consistent with its key and computed by the current code (its\nfingerprint), every record of a results store (*.db, *.jsonl) must carry the current fingerprint, and every\nnotebook's findings about the walkthrough's claims (*_claims.json) must come from the current code. Prints one\nline per file and exits 1 when any is stale: re-execute the notebooks that write them\n(scripts/notebooks.sh execute --cold NB).", stderr)
	dir := fs.String("dir", "data/cache", "folder of the committed caches")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	entries, err := os.ReadDir(*dir)
	if err != nil {
		return fmt.Errorf("reading the caches: %w", err)
	}
	code, err := notebook.CodeFingerprint(*dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "current code: %s\n", code)
	var names []string
	for _, e := range entries {
		if !e.IsDir() && isCacheFile(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return fmt.Errorf("no caches (*.json, *.db, *.jsonl) in %s", *dir)
	}
	stale := 0
	for _, name := range names {
		path := filepath.Join(*dir, name)
		state, what, err := checkCacheFile(path, code)
		if err != nil {
			return err
		}
		if state != "" {
			stale++
			fmt.Fprintf(stdout, "stale    %s (%s): %s\n", name, what, state)
		} else {
			fmt.Fprintf(stdout, "current  %s (%s)\n", name, what)
		}
	}
	if stale > 0 {
		return fmt.Errorf("%d of %d caches in %s are stale: re-execute the notebooks that write them (scripts/notebooks.sh execute --cold NB)", stale, len(names), *dir)
	}
	fmt.Fprintf(stdout, "all %d caches are current\n", len(names))
	return nil
}

// isCacheFile reports whether a file name is a comparison cache (.json) or a
// results store (.db, or .jsonl of earlier versions).
func isCacheFile(name string) bool {
	for _, ext := range []string{".json", ".db", ".jsonl"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// checkCacheFile returns why the cache at path is stale ("" when current)
// and what it holds.
func checkCacheFile(path, code string) (stale, what string, err error) {
	if strings.HasSuffix(path, "_claims.json") {
		st, err := notebook.CheckFindings(path, code)
		if err != nil {
			return "", "", err
		}
		return st.Reason, plural(st.Findings, "finding"), nil
	}
	if strings.HasSuffix(path, ".json") {
		st, err := notebook.CheckCache(path, code)
		if err != nil {
			return "", "", err
		}
		return st.Reason, plural(st.Runs, "run"), nil
	}
	c, err := store.Read(path)
	if err != nil {
		return "", "", err
	}
	what = plural(len(c.Records), "record")
	var none, other int
	for _, r := range c.Records {
		switch r.Env.Code {
		case code:
		case "":
			none++
		default:
			other++
		}
	}
	var why []string
	if none > 0 {
		why = append(why, fmt.Sprintf("%d without a code fingerprint", none))
	}
	if other > 0 {
		why = append(why, fmt.Sprintf("%d computed by other code", other))
	}
	if len(c.Damage) > 0 {
		why = append(why, fmt.Sprintf("%d damaged lines", len(c.Damage)))
	}
	if len(c.Records) == 0 {
		why = append(why, "no records")
	}
	return strings.Join(why, ", "), what, nil
}

// plural formats a count of things: "1 run", "4 runs".
func plural(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}
