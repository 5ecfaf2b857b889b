package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// SourceStats counts what Merge took from one source.
type SourceStats struct {
	Path    string `json:"path"`
	Format  Format `json:"format"`
	Records int    `json:"records"` // good records in the source
	Added   int    `json:"added"`   // of those, new to the destination
	Damaged int    `json:"damaged"` // damaged lines skipped (JSON Lines sources)
}

// MergeStats counts what Merge did.
type MergeStats struct {
	Into       string        `json:"into"`
	Added      int           `json:"added"`      // records added to the destination
	Duplicates int           `json:"duplicates"` // records skipped because the destination had their trial
	Damaged    int           `json:"damaged"`    // damaged lines skipped in JSON Lines sources
	Sources    []SourceStats `json:"sources"`
}

// Merge adds to the store dst every record of the source stores whose trial
// dst does not hold yet (one record per trial ID; the first wins), creating
// dst if needed. A source may be a SQLite store (copied inside SQLite:
// ATTACH and INSERT OR IGNORE), a JSON Lines store of earlier optlab versions
// (imported: its damaged lines are skipped and reported through onDamage,
// which may be nil) or a folder of stores (see Expand). Sources are only
// read, and every one is checked before dst is touched. Each source is added
// in one transaction. This is how the stores of several machines or array
// tasks come together, and how an old JSON Lines store becomes a SQLite one.
func Merge(dst string, srcs []string, onDamage func(src string, d Damage)) (MergeStats, error) {
	st := MergeStats{Into: dst}
	dstAbs, _ := filepath.Abs(dst)
	dstInfo, dstErr := os.Stat(dst)
	isDst := func(src string) bool {
		a, _ := filepath.Abs(src)
		info, err := os.Stat(src)
		return a == dstAbs || (dstErr == nil && err == nil && os.SameFile(info, dstInfo))
	}
	var files []string
	for _, src := range srcs {
		if isDst(src) {
			return st, fmt.Errorf("merge: source %s is the destination", src)
		}
		expanded, err := Expand([]string{src})
		if err != nil {
			return st, err
		}
		for _, f := range expanded {
			if !isDst(f) { // a folder may hold the destination: skip it
				files = append(files, f)
			}
		}
	}
	srcs = files
	var err error
	// Read or check every source first, so a bad one leaves dst untouched.
	contents := make([]*Contents, len(srcs))
	for i, src := range srcs {
		f, err := DetectFormat(src)
		if err != nil {
			return st, fmt.Errorf("merge: %w", err)
		}
		if f == FormatSQLite {
			db, v, err := openReadOnly(src)
			if err != nil {
				return st, fmt.Errorf("merge: %s: %w", src, err)
			}
			db.Close()
			if v == CurrentVersion {
				continue // copied by SQLite below
			}
		}
		if contents[i], err = Read(src); err != nil {
			return st, fmt.Errorf("merge: %w", err)
		}
	}
	out, err := Open(dst, Options{})
	if err != nil {
		return st, err
	}
	defer out.Close()
	for i, src := range srcs {
		var ss SourceStats
		if c := contents[i]; c != nil {
			ss = SourceStats{Path: src, Format: c.Format, Records: len(c.Records), Damaged: len(c.Damage)}
			for _, d := range c.Damage {
				if onDamage != nil {
					onDamage(src, d)
				}
			}
			if ss.Added, err = out.AppendAll(c.Records); err != nil {
				return st, err
			}
			st.Duplicates += c.Duplicates
		} else if ss, err = out.attachAndCopy(src); err != nil {
			return st, err
		}
		st.Sources = append(st.Sources, ss)
		st.Added += ss.Added
		st.Duplicates += ss.Records - ss.Added
		st.Damaged += ss.Damaged
	}
	return st, out.Close()
}

// attachAndCopy copies the rows of the current-version SQLite store src
// whose trial IDs s lacks, in one transaction.
func (s *Store) attachAndCopy(src string) (SourceStats, error) {
	ss := SourceStats{Path: src, Format: FormatSQLite}
	ctx := context.Background()
	c, err := s.db.Conn(ctx)
	if err != nil {
		return ss, err
	}
	defer c.Close()
	name, err := dsn(src, true, time.Minute)
	if err != nil {
		return ss, err
	}
	// The driver's own keys (_pragma) mean nothing to ATTACH; the URI's path
	// and mode=ro do.
	name = name[:strings.IndexByte(name, '?')] + "?mode=ro"
	if _, err := c.ExecContext(ctx, `ATTACH DATABASE ? AS src`, name); err != nil {
		return ss, fmt.Errorf("merge: attaching %s: %w", src, sqliteError(err))
	}
	defer c.ExecContext(ctx, `DETACH DATABASE src`) //nolint:errcheck // best effort; the connection closes next
	cols := make([]string, 0, len(Columns()))
	for _, col := range Columns() {
		cols = append(cols, col.Name)
	}
	list := strings.Join(cols, ", ")
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return ss, fmt.Errorf("merge: %s: %w", src, err)
	}
	err = func() error {
		if err := c.QueryRowContext(ctx, `SELECT count(*) FROM src.trials`).Scan(&ss.Records); err != nil {
			return err
		}
		res, err := c.ExecContext(ctx, "INSERT OR IGNORE INTO main.trials ("+list+") SELECT "+list+" FROM src.trials ORDER BY rowid")
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		ss.Added = int(n)
		return err
	}()
	if err == nil {
		_, err = c.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		_, _ = c.ExecContext(ctx, "ROLLBACK")
		return SourceStats{Path: src, Format: FormatSQLite}, fmt.Errorf("merge: copying %s into %s: %w", src, s.path, err)
	}
	return ss, nil
}
