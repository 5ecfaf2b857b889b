// Package store is the results store of sweeps and benchmarks: a SQLite
// database (through modernc.org/sqlite, SQLite compiled to pure Go, so no C
// toolchain is needed) with one row per finished trial. The trial's
// configuration and final metrics are columns a user can filter on from the
// sqlite3 shell, Python or pandas (see Columns and docs/results-store.md);
// the full history is a JSON column. The trial ID is the primary key, so a
// resumed sweep skips what is stored and a trial is never stored twice.
// SQLite's write-ahead log lets several processes write one file while
// others read it, and its transactions leave nothing half-written when a
// process is killed.
//
// Open creates and migrates stores (the schema is versioned; migrations are
// code, see CurrentVersion); Read and ReadAll read stores without changing
// them; Merge gathers the stores of several machines (ATTACH + INSERT OR
// IGNORE) and imports the JSON Lines stores of earlier optlab versions.
//
// It builds on sweep (its records) and the runner (their histories); it must
// not import reportcard or cmd, and sweep must not import it: sweep.Run takes
// a store through the sweep.Store interface, which *Store implements.
package store
