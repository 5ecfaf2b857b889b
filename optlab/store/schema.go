package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// CurrentVersion is the schema version this optlab writes. Open migrates an
// older store to it; a newer store is refused (it was written by a newer
// optlab).
const CurrentVersion = 2

// Kind groups the columns of the trials table.
type Kind int

const (
	// Config columns are the trial's configuration: what a user filters on.
	Config Kind = iota
	// Result columns are final metrics: the same on every run of the trial.
	Result
	// Timing columns differ between runs of the same trial.
	Timing
	// Where columns say where and with which code the trial ran.
	Where
	// Document columns hold JSON: the trial as hashed, the full history, the
	// run environment.
	Document
)

// Column is one column of the trials table.
type Column struct {
	Name string
	// Type is its SQLite type: TEXT, INTEGER or REAL.
	Type string
	Kind Kind
	Doc  string
	// value returns the column's value for a record (nil is NULL; NaN
	// becomes NULL in SQLite).
	value func(r *sweep.Record, trial, hist, env []byte) any
}

// lastEpoch returns a metric of r's last finished epoch, or NULL when no
// epoch finished.
func lastEpoch(r *sweep.Record, metric func(optlab.Epoch) float64) any {
	if len(r.Hist.Epochs) == 0 {
		return nil
	}
	return metric(r.Hist.Last())
}

// nullIfEmpty maps "" to NULL.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Columns returns the columns of the trials table (schema version 2), in
// table order: one row per trial, keyed by its ID.
func Columns() []Column {
	return []Column{
		{"id", "TEXT", Config, "the trial's ID (a hash of its configuration, the same on every machine)", func(r *sweep.Record, _, _, _ []byte) any { return r.ID }},
		{"model", "TEXT", Config, "model name (mlp-small, logreg, ...)", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Model }},
		{"optimizer", "TEXT", Config, "optimizer name (sgd, adam, ...)", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Optimizer.Name() }},
		{"label", "TEXT", Config, "optimizer and the hyperparameters other than lr that differ from its defaults, as the report card names it: sgd(momentum=0.9)", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Label() }},
		{"family", "TEXT", Config, "canonical spec without lr: trials of a family differ only in the learning rate", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Family() }},
		{"spec", "TEXT", Config, "canonical optimizer spec, every hyperparameter included", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Optimizer.String() }},
		{"lr", "REAL", Config, "learning rate", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.LR() }},
		{"batch_size", "INTEGER", Config, "mini-batch size", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.BatchSize }},
		{"epochs", "INTEGER", Config, "epochs the trial was to train", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Epochs }},
		{"seed", "INTEGER", Config, "random seed", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Seed }},
		{"split", "TEXT", Config, "data split: test or holdout5k", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Split }},
		{"train_limit", "INTEGER", Config, "training examples used (0: all)", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.Limit }},
		{"non_finite", "TEXT", Config, "divergence policy: stop or skip", func(r *sweep.Record, _, _, _ []byte) any { return r.Trial.NonFinite }},
		{"diverged", "INTEGER", Result, "1 when a non-finite loss stopped the trial, else 0", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.Diverged() }},
		{"error", "TEXT", Result, "why the trial stopped early (NULL when it finished)", func(r *sweep.Record, _, _, _ []byte) any { return nullIfEmpty(r.Hist.Err) }},
		{"epochs_done", "INTEGER", Result, "epochs finished", func(r *sweep.Record, _, _, _ []byte) any { return len(r.Hist.Epochs) }},
		{"steps", "INTEGER", Result, "optimizer steps taken", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.Last().Steps }},
		{"train_loss", "REAL", Result, "training loss of the last epoch (NULL when none finished or NaN)", func(r *sweep.Record, _, _, _ []byte) any {
			return lastEpoch(r, func(e optlab.Epoch) float64 { return e.Loss })
		}},
		{"train_accuracy", "REAL", Result, "training accuracy of the last epoch", func(r *sweep.Record, _, _, _ []byte) any {
			return lastEpoch(r, func(e optlab.Epoch) float64 { return e.Accuracy })
		}},
		{"val_loss", "REAL", Result, "validation loss of the last epoch (on the split's validation data)", func(r *sweep.Record, _, _, _ []byte) any {
			return lastEpoch(r, func(e optlab.Epoch) float64 { return e.ValLoss })
		}},
		{"val_accuracy", "REAL", Result, "validation accuracy of the last epoch", func(r *sweep.Record, _, _, _ []byte) any {
			return lastEpoch(r, func(e optlab.Epoch) float64 { return e.ValAccuracy })
		}},
		{"test_loss", "REAL", Result, "test loss after the last epoch (NULL when NaN)", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.TestLoss }},
		{"test_accuracy", "REAL", Result, "test accuracy after the last epoch", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.TestAccuracy }},
		{"params", "INTEGER", Result, "trainable scalars", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.Params }},
		{"state_bytes", "INTEGER", Result, "optimizer state in bytes", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.StateBytes }},
		{"seconds", "REAL", Timing, "wall time of the trial, compilation and evaluation included", func(r *sweep.Record, _, _, _ []byte) any { return r.Seconds }},
		{"compile_seconds", "REAL", Timing, "time from start to the end of the first step", func(r *sweep.Record, _, _, _ []byte) any { return r.Hist.CompileSeconds }},
		{"finished", "TEXT", Timing, "when the record was written (UTC, RFC 3339)", func(r *sweep.Record, _, _, _ []byte) any { return r.Finished.UTC().Format(time.RFC3339Nano) }},
		{"backend", "TEXT", Where, "GoMLX backend, in words", func(r *sweep.Record, _, _, _ []byte) any { return r.Env.Backend }},
		{"host", "TEXT", Where, "host name", func(r *sweep.Record, _, _, _ []byte) any { return r.Env.Host }},
		{"go_version", "TEXT", Where, "Go version of the binary", func(r *sweep.Record, _, _, _ []byte) any { return r.Env.GoVersion }},
		{"gomlx_version", "TEXT", Where, "GoMLX module version", func(r *sweep.Record, _, _, _ []byte) any { return nullIfEmpty(r.Env.GoMLX) }},
		{"optlab_version", "TEXT", Where, "source revision of optlab (+dirty for local changes), when the build recorded it", func(r *sweep.Record, _, _, _ []byte) any { return nullIfEmpty(r.Env.Optlab) }},
		{"trial", "TEXT", Document, "the trial as JSON, exactly the bytes its ID hashes", func(_ *sweep.Record, trial, _, _ []byte) any { return string(trial) }},
		{"history", "TEXT", Document, `the full history as JSON (every epoch; NaN and ±Inf as the strings "NaN", "+Inf", "-Inf")`, func(_ *sweep.Record, _, hist, _ []byte) any { return string(hist) }},
		{"env", "TEXT", Document, "where it ran, as JSON", func(_ *sweep.Record, _, _, env []byte) any { return string(env) }},
	}
}

// createTrialsV2 returns the DDL of the version-2 trials table.
func createTrialsV2(table string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "CREATE TABLE %s (\n", table)
	for i, c := range Columns() {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "  %s %s", c.Name, c.Type)
		if c.Name == "id" {
			b.WriteString(" PRIMARY KEY NOT NULL")
		}
	}
	b.WriteString("\n)")
	return b.String()
}

// insertSQL is the statement that stores one row (the values of Columns, in
// order), keeping the row already stored for the same trial ID.
func insertSQL() string {
	cols := Columns()
	names := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		names[i], marks[i] = c.Name, "?"
	}
	return "INSERT OR IGNORE INTO trials (" + strings.Join(names, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
}

// rowValues returns the values of Columns for r, and checks r: its ID must
// be its canonical trial's, and it must have a history.
func rowValues(r sweep.Record) ([]any, error) {
	c, err := r.Trial.Canonical()
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	r.Trial = c
	if id := c.ID(); r.ID == "" {
		r.ID = id
	} else if r.ID != id {
		return nil, fmt.Errorf("record id %s does not match its trial's id %s", r.ID, id)
	}
	if r.Hist == nil {
		return nil, fmt.Errorf("record %s has no history", r.ID)
	}
	trial, err := json.Marshal(r.Trial)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", r.ID, err)
	}
	hist, err := json.Marshal(r.Hist)
	if err != nil {
		return nil, fmt.Errorf("record %s: history: %w", r.ID, err)
	}
	env, err := json.Marshal(r.Env)
	if err != nil {
		return nil, fmt.Errorf("record %s: env: %w", r.ID, err)
	}
	cols := Columns()
	vals := make([]any, len(cols))
	for i, col := range cols {
		v := col.value(&r, trial, hist, env)
		if f, ok := v.(float64); ok && math.IsNaN(f) {
			v = nil // SQLite stores NaN as NULL; say so explicitly
		}
		vals[i] = v
	}
	return vals, nil
}

// selectV2 reads the columns a record is rebuilt from.
const selectV2 = "SELECT id, trial, history, env, finished, seconds FROM trials ORDER BY rowid"

// scanV2 rebuilds a record from a row of selectV2, checking its ID against
// the bytes of its trial.
func scanV2(rows *sql.Rows) (sweep.Record, error) {
	var (
		r                          sweep.Record
		trial, hist, env, finished string
		seconds                    sql.NullFloat64
	)
	if err := rows.Scan(&r.ID, &trial, &hist, &env, &finished, &seconds); err != nil {
		return r, err
	}
	if id := sweep.IDFromJSON([]byte(trial)); id != r.ID {
		return r, fmt.Errorf("row %s: id does not match its trial's id %s", r.ID, id)
	}
	if err := json.Unmarshal([]byte(trial), &r.Trial); err != nil {
		return r, fmt.Errorf("row %s: trial: %w", r.ID, err)
	}
	r.Hist = new(optlab.History)
	if err := json.Unmarshal([]byte(hist), r.Hist); err != nil {
		return r, fmt.Errorf("row %s: history: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(env), &r.Env); err != nil {
		return r, fmt.Errorf("row %s: env: %w", r.ID, err)
	}
	t, err := time.Parse(time.RFC3339Nano, finished)
	if err != nil {
		return r, fmt.Errorf("row %s: finished: %w", r.ID, err)
	}
	r.Finished, r.Seconds = t, seconds.Float64
	return r, nil
}

// A migration moves a store from version to-1 to version to, inside the
// transaction that Open holds (SQLite's DDL is transactional, so a failed
// or interrupted migration leaves the store as it was).
type migration struct {
	to   int
	what string
	up   func(ctx context.Context, tx *sql.Conn) error
}

// migrations lists every step from an empty file to CurrentVersion. A new
// schema adds a step here (and its test opens a file of the version before).
var migrations = []migration{
	{1, "one JSON document per trial", migrateTo1},
	{2, "configuration and final metrics as columns a user can filter on", migrateTo2},
}

// migrateTo1 creates version 1: each record is one JSON document (the JSON
// Lines store's line without its checksum) keyed by its trial ID.
func migrateTo1(ctx context.Context, c *sql.Conn) error {
	_, err := c.ExecContext(ctx, `CREATE TABLE trials (id TEXT PRIMARY KEY NOT NULL, record TEXT NOT NULL)`)
	return err
}

// migrateTo2 spreads version 1's documents over the columns of Columns.
func migrateTo2(ctx context.Context, c *sql.Conn) error {
	if _, err := c.ExecContext(ctx, `ALTER TABLE trials RENAME TO trials_v1`); err != nil {
		return err
	}
	if _, err := c.ExecContext(ctx, createTrialsV2("trials")); err != nil {
		return err
	}
	recs, err := readV1(ctx, c)
	if err != nil {
		return err
	}
	stmt, err := c.PrepareContext(ctx, insertSQL())
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range recs {
		vals, err := rowValues(r)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return fmt.Errorf("record %s: %w", r.ID, err)
		}
	}
	for _, q := range []string{
		`DROP TABLE trials_v1`,
		`CREATE INDEX trials_by_family ON trials (model, family, lr)`,
		`CREATE INDEX trials_by_optimizer ON trials (optimizer, lr)`,
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// querier is what readV1 needs: a connection or a database.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readV1 decodes the records of a version-1 table (trials_v1 during the
// migration, trials when reading a version-1 file).
func readV1(ctx context.Context, q querier) ([]sweep.Record, error) {
	table := "trials_v1"
	var n int
	rows, err := q.QueryContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'trials_v1'`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()
	if n == 0 {
		table = "trials"
	}
	rows, err = q.QueryContext(ctx, "SELECT id, record FROM "+table+" ORDER BY rowid")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sweep.Record
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		r, err := decodeDocument([]byte(doc))
		if err != nil {
			return nil, fmt.Errorf("version-1 row %s: %w", id, err)
		}
		if r.ID != id {
			return nil, fmt.Errorf("version-1 row %s holds the record of trial %s", id, r.ID)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// schemaVersion returns the version recorded in the schema_version table: 0
// for a new, empty file. A SQLite file with tables but no schema_version is
// not a store.
func schemaVersion(ctx context.Context, q querier) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table'`)
	if err != nil {
		return 0, err
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	found := false
	for _, t := range tables {
		found = found || t == "schema_version"
	}
	if !found {
		if len(tables) > 0 {
			return 0, errNotAStore
		}
		return 0, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	v := 0
	for rows.Next() {
		if err := rows.Scan(&v); err != nil {
			return 0, err
		}
	}
	return v, rows.Err()
}

// errNotAStore marks a SQLite database without optlab's tables.
var errNotAStore = errors.New("a SQLite database, but not an optlab results store (it has no schema_version table)")

// migrate brings the store on c to CurrentVersion in one IMMEDIATE
// transaction (so two processes opening an old store at once migrate it
// once), recording each step in schema_version.
func migrate(ctx context.Context, c *sql.Conn) (err error) {
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			return
		}
		if _, err = c.ExecContext(ctx, "COMMIT"); err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
		}
	}()
	v, err := schemaVersion(ctx, c)
	if err != nil {
		return err
	}
	if v > CurrentVersion {
		return fmt.Errorf("schema version %d is newer than this optlab's %d: it was written by a newer optlab, upgrade optlab to use it", v, CurrentVersion)
	}
	if v == CurrentVersion {
		return nil
	}
	if v == 0 {
		if _, err := c.ExecContext(ctx, `CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)`); err != nil {
			return err
		}
	}
	for _, m := range migrations {
		if m.to <= v {
			continue
		}
		if err := m.up(ctx, c); err != nil {
			return fmt.Errorf("migrating to schema version %d (%s): %w", m.to, m.what, err)
		}
		if _, err := c.ExecContext(ctx, `INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)`,
			m.to, m.what, time.Now().UTC().Format(time.RFC3339)); err != nil {
			return err
		}
	}
	return nil
}
