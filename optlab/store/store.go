package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite": SQLite in pure Go, no cgo

	"optlab.dev/optlab/sweep"
)

// Format names the kind of a store file.
type Format string

const (
	// FormatSQLite is a SQLite database: what optlab writes.
	FormatSQLite Format = "sqlite"
	// FormatJSONL is the JSON Lines store of earlier versions: read and
	// imported, never written.
	FormatJSONL Format = "jsonl"
)

// sqliteMagic starts every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// DetectFormat tells a SQLite store from a JSON Lines one by the file's
// first bytes (an empty file by its extension: ".jsonl" is JSON Lines).
func DetectFormat(path string) (Format, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return "", fmt.Errorf("reading %s: %w", path, err)
	}
	head = head[:n]
	switch {
	case n == 0 && strings.HasSuffix(path, ".jsonl"):
		return FormatJSONL, nil
	case n == 0 || bytes.Equal(head, sqliteMagic):
		return FormatSQLite, nil
	case len(bytes.TrimLeft(head, " \t\r\n")) > 0 && bytes.TrimLeft(head, " \t\r\n")[0] == '{':
		return FormatJSONL, nil
	}
	return "", fmt.Errorf("%s is neither a SQLite results store nor a JSON Lines one", path)
}

// dsn returns the database/sql data source name of the SQLite file at path:
// a file: URI (so that any character may appear in the path) with the
// driver's per-connection pragmas.
func dsn(path string, readOnly bool, timeout time.Duration) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	// Wait for other writers instead of failing with "database is locked".
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", timeout.Milliseconds()))
	if readOnly {
		q.Set("mode", "ro")
	} else {
		// WAL: readers never block the writer, and several processes share a
		// file; FULL: a record is on disk when Append returns; IMMEDIATE: a
		// transaction takes the write lock (waiting) when it begins.
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(FULL)")
		q.Set("_txlock", "immediate")
	}
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: q.Encode()}).String(), nil
}

// Options tunes Open.
type Options struct {
	// Timeout is how long a write waits for another process's write to the
	// same file to finish before it fails (default one minute).
	Timeout time.Duration
}

// Store is a results store: a SQLite database with one row per finished
// trial (see Columns), keyed by the trial's ID, so storing a trial twice
// keeps the first record. It uses SQLite's write-ahead log, so several
// processes (sweep workers on one machine, `optlab train --trial` tasks) can
// append to one file while others read it, and a record is on disk (fsync)
// when Append returns: a process killed at any point leaves every record it
// stored and none half-written. WAL needs a local file system: on a network
// file system give each process its own store and merge them.
//
// A Store is safe for concurrent use by several goroutines; it implements
// sweep.Store.
type Store struct {
	path string
	db   *sql.DB
}

// Open opens the store at path, creating the file (and its directory) if
// needed and migrating a store of an older schema version to CurrentVersion.
// A JSON Lines store is not opened: import it with Merge (`optlab import`).
func Open(path string, opts Options) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty path")
	}
	if strings.HasSuffix(path, ".jsonl") {
		return nil, fmt.Errorf("store %s: optlab's stores are SQLite files now, not JSON Lines: choose a .db name "+
			"(an existing JSON Lines store imports with `optlab import --into NEW.db %s`)", path, path)
	}
	if f, err := DetectFormat(path); err == nil && f != FormatSQLite {
		return nil, fmt.Errorf("store %s is a JSON Lines store: import it into a SQLite one with `optlab import --into NEW.db %s`", path, path)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	name, err := dsn(path, false, opts.Timeout)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// Setting up a connection (switching the file to WAL, creating or
	// migrating the schema) while other processes open or close the same
	// file can fail with SQLITE_BUSY without SQLite's busy handler waiting,
	// so Open itself tries again until the timeout.
	deadline := time.Now().Add(opts.Timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		s, err := open(path, name)
		if err == nil || !isBusy(err) || time.Now().Add(pause).After(deadline) {
			return s, err
		}
		time.Sleep(pause)
	}
}

// open is one attempt of Open.
func open(path, name string) (*Store, error) {
	db, err := sql.Open("sqlite", name)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	// One connection: the goroutines of a process take turns, and ATTACH
	// (Merge) applies to the connection every statement uses.
	db.SetMaxOpenConns(1)
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err == nil {
		err = migrate(ctx, c)
		c.Close()
	}
	if err != nil {
		db.Close()
		if errors.Is(err, errNotAStore) {
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
		return nil, fmt.Errorf("store %s: %w", path, sqliteError(err))
	}
	return &Store{path: path, db: db}, nil
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code):
// another connection holds a lock the operation needs.
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// sqliteError rewords the driver's message for a file that is not a
// database at all.
func sqliteError(err error) error {
	if err != nil && strings.Contains(err.Error(), "file is not a database") {
		return errors.New("not a SQLite database (damaged, or some other kind of file)")
	}
	return err
}

// Path returns the store's file name.
func (s *Store) Path() string { return s.path }

// Has reports whether the store holds a record for the trial ID. It asks the
// file each time, so it sees what other processes stored meanwhile. An error
// reading the file counts as "not stored": the trial runs, and Append, which
// keeps one record per ID, reports the error.
func (s *Store) Has(id string) bool {
	var one int
	err := s.db.QueryRow(`SELECT 1 FROM trials WHERE id = ?`, id).Scan(&one)
	return err == nil
}

// Append stores r durably unless the store already holds a record of its
// trial, and reports whether it added r. r.ID is set from r.Trial when empty
// and must otherwise match it.
func (s *Store) Append(r sweep.Record) (bool, error) {
	vals, err := rowValues(r)
	if err != nil {
		return false, fmt.Errorf("store %s: %w", s.path, err)
	}
	res, err := s.db.Exec(insertSQL(), vals...)
	if err != nil {
		return false, fmt.Errorf("store %s: storing trial %s: %w", s.path, vals[0], err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// AppendAll stores the records in one transaction (all or none), keeping
// the stored record of a trial that is there already, and returns how many
// it added.
func (s *Store) AppendAll(recs []sweep.Record) (added int, err error) {
	rows := make([][]any, len(recs))
	for i, r := range recs {
		if rows[i], err = rowValues(r); err != nil {
			return 0, fmt.Errorf("store %s: %w", s.path, err)
		}
	}
	tx, err := s.db.Begin()
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			added = 0
		}
	}()
	stmt, err := tx.Prepare(insertSQL())
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	defer stmt.Close()
	for _, vals := range rows {
		res, err := stmt.Exec(vals...)
		if err != nil {
			return 0, fmt.Errorf("store %s: storing trial %s: %w", s.path, vals[0], err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			added++
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	return added, nil
}

// Len returns the number of records.
func (s *Store) Len() (int, error) {
	var n int
	if err := s.db.QueryRow(`SELECT count(*) FROM trials`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	return n, nil
}

// Records returns every record, in the order they were stored.
func (s *Store) Records() ([]sweep.Record, error) {
	recs, err := readV2(context.Background(), s.db)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.path, err)
	}
	return recs, nil
}

// Close closes the database. When no other process has it open, it also
// folds the write-ahead log into the file and leaves the file in rollback
// journal mode, a single self-contained file that read-only tools (the
// sqlite3 shell's -readonly, Python's mode=ro) read without creating the
// log's files next to it; the next Open turns WAL on again.
func (s *Store) Close() error {
	ctx := context.Background()
	if c, err := s.db.Conn(ctx); err == nil {
		// Fails at once (and is left at that) when another connection has the file.
		_, _ = c.ExecContext(ctx, "PRAGMA busy_timeout = 0")
		_, _ = c.ExecContext(ctx, "PRAGMA journal_mode = DELETE")
		c.Close()
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	return nil
}

// readV2 reads every record of a current-version store.
func readV2(ctx context.Context, q querier) ([]sweep.Record, error) {
	rows, err := q.QueryContext(ctx, selectV2)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sweep.Record
	for rows.Next() {
		r, err := scanV2(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Contents is what Read found in a store file.
type Contents struct {
	Path    string
	Format  Format
	Records []sweep.Record
	// Version is a SQLite store's schema version.
	Version int
	// Damage lists the lines of a JSON Lines store that were skipped.
	Damage []Damage
	// Duplicates counts the records of a JSON Lines store skipped because an
	// earlier line has their ID.
	Duplicates int
}

// openReadOnly opens a SQLite store for reading and returns its schema
// version; a missing file is an error, and nothing is created, migrated or
// written. The connection may write where it can, for one reason: the last
// connection to close a store in WAL mode folds the write-ahead log back
// into the file and removes it and its index, where a read-only connection
// would leave both behind next to the store. In a folder it cannot write, it
// reads read-only, and as an immutable file when even that needs the index.
func openReadOnly(path string) (*sql.DB, int, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, 0, err
	}
	name, err := dsn(path, true, time.Minute)
	if err != nil {
		return nil, 0, err
	}
	var lastErr error
	for _, mode := range []string{"mode=rw", "mode=ro", "mode=ro&immutable=1"} {
		db, err := sql.Open("sqlite", strings.Replace(name, "mode=ro", mode, 1))
		if err != nil {
			return nil, 0, err
		}
		db.SetMaxOpenConns(1)
		v, err := schemaVersion(context.Background(), db)
		if err != nil {
			db.Close()
			if errors.Is(err, errNotAStore) || strings.Contains(err.Error(), "file is not a database") {
				return nil, 0, sqliteError(err)
			}
			lastErr = err
			continue
		}
		if v > CurrentVersion {
			db.Close()
			return nil, 0, fmt.Errorf("schema version %d is newer than this optlab's %d: it was written by a newer optlab, upgrade optlab to read it", v, CurrentVersion)
		}
		return db, v, nil
	}
	return nil, 0, lastErr
}

// Read reads a store file of either format without changing it: its
// records in the order they were stored (for a JSON Lines store, also the
// damaged lines it skipped). A SQLite store of an older schema version is
// read as it is, not migrated. Read can run while sweeps write the store.
func Read(path string) (*Contents, error) {
	format, err := DetectFormat(path)
	if err != nil {
		return nil, fmt.Errorf("reading store: %w", err)
	}
	if format == FormatJSONL {
		c, err := readJSONL(path)
		if err != nil {
			return nil, fmt.Errorf("reading store: %w", err)
		}
		return c, nil
	}
	db, v, err := openReadOnly(path)
	if err != nil {
		return nil, fmt.Errorf("reading store %s: %w", path, err)
	}
	defer db.Close()
	c := &Contents{Path: path, Format: FormatSQLite, Version: v}
	ctx := context.Background()
	switch v {
	case 0:
	case 1:
		c.Records, err = readV1(ctx, db)
	default:
		c.Records, err = readV2(ctx, db)
	}
	if err != nil {
		return nil, fmt.Errorf("reading store %s: %w", path, err)
	}
	return c, nil
}

// Expand replaces each folder among paths by the store files in it (*.db,
// *.sqlite, *.sqlite3 and *.jsonl, sorted by name); files are kept as given.
// A folder without store files is an error.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		n := len(out)
		for _, e := range entries {
			switch filepath.Ext(e.Name()) {
			case ".db", ".sqlite", ".sqlite3", ".jsonl":
				if e.Type().IsRegular() {
					out = append(out, filepath.Join(p, e.Name()))
				}
			}
		}
		if len(out) == n {
			return nil, fmt.Errorf("store: folder %s holds no store (*.db, *.sqlite, *.jsonl)", p)
		}
	}
	return out, nil
}

// ReadAll reads several stores (of either format; folders are expanded as
// Expand does) and returns their records deduplicated by trial ID (the first
// wins), as Merge would combine them, plus the damaged lines of each JSON
// Lines store (keyed by path).
func ReadAll(paths ...string) ([]sweep.Record, map[string][]Damage, error) {
	paths, err := Expand(paths)
	if err != nil {
		return nil, nil, err
	}
	var out []sweep.Record
	seen := map[string]bool{}
	damage := map[string][]Damage{}
	for _, p := range paths {
		c, err := Read(p)
		if err != nil {
			return nil, nil, err
		}
		if len(c.Damage) > 0 {
			damage[p] = c.Damage
		}
		for _, r := range c.Records {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r)
			}
		}
	}
	return out, damage, nil
}

// StoredIDs returns the trial IDs that the store file at path holds (read
// without changing it); a missing file holds none.
func StoredIDs(path string) (map[string]bool, error) {
	ids := map[string]bool{}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return ids, nil
	}
	c, err := Read(path)
	if err != nil {
		return nil, err
	}
	for _, r := range c.Records {
		ids[r.ID] = true
	}
	return ids, nil
}
