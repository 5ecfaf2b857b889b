package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/sweep"
	"optlab.dev/optlab/sweep/sweeptest"
)

func openStore(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// writeStore writes records to a new SQLite store.
func writeStore(t testing.TB, path string, recs ...sweep.Record) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AppendAll(recs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// sameRecord compares two records, NaN equal to NaN and the optimizer by its
// spec (a record read back parses it again).
func sameRecord(t *testing.T, got, want sweep.Record) {
	t.Helper()
	g, w := got, want
	if g.Trial.Optimizer.String() != w.Trial.Optimizer.String() {
		t.Fatalf("optimizer %s, want %s", g.Trial.Optimizer, w.Trial.Optimizer)
	}
	g.Trial.Optimizer = w.Trial.Optimizer
	gh, wh := *g.Hist, *w.Hist
	gh.Epochs, wh.Epochs = append([]optlab.Epoch(nil), gh.Epochs...), append([]optlab.Epoch(nil), wh.Epochs...)
	for _, h := range []*optlab.History{&gh, &wh} {
		for _, f := range historyFloats(h) {
			if math.IsNaN(*f) {
				*f = 12345 // NaN != NaN; both sides must have it at the same path
			}
		}
	}
	g.Hist, w.Hist = &gh, &wh
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("record differs:\n got %+v\n     %+v\nwant %+v\n     %+v", g, *g.Hist, w, *w.Hist)
	}
}

func TestAppendIsDurableAndDeduplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "s.db")
	s := openStore(t, path)
	a, b := sweeptest.FakeRecord(t, "adam(lr=0.01)", 1, 0.8), sweeptest.FakeRecord(t, "adam(lr=0.01)", 2, 0.82)
	for i, r := range []sweep.Record{a, b, a} {
		added, err := s.Append(r)
		if err != nil {
			t.Fatal(err)
		}
		if added != (i < 2) {
			t.Fatalf("append %d: added=%v", i, added)
		}
	}
	bad := a
	bad.ID = "0123456789abcdef"
	if _, err := s.Append(bad); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched id accepted: %v", err)
	}
	noHist := b
	noHist.Hist = nil
	if _, err := s.Append(noHist); err == nil || !strings.Contains(err.Error(), "no history") {
		t.Fatalf("record without history accepted: %v", err)
	}
	// A second writer and a reader share the file while the first is open.
	s2 := openStore(t, path)
	if !s2.Has(a.ID) || !s2.Has(b.ID) || s2.Has("0123456789abcdef") {
		t.Fatal("second opener does not see the records")
	}
	c, err := Read(path)
	if err != nil || len(c.Records) != 2 || c.Format != FormatSQLite || c.Version != CurrentVersion {
		t.Fatalf("Read: %v, %+v", err, c)
	}
	sameRecord(t, c.Records[0], a)
	sameRecord(t, c.Records[1], b)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := s2.Len(); err != nil || n != 2 {
		t.Fatalf("Len: %d, %v", n, err)
	}
	// Closed by its last user, the store is one self-contained file.
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after Close: %v", suffix, err)
		}
	}
	if _, err := Read(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read left a write-ahead log: %v", err)
	}
}

func TestRecordsKeepNonFiniteValuesAndColumnsHoldThem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s := openStore(t, path)
	r := sweeptest.FakeRecord(t, "sgd(lr=0.5,momentum=0.9)", 3, 0.8)
	r.Hist.Epochs[1].Loss = math.Inf(1)
	r.Hist.Epochs[1].ValLoss = math.NaN()
	r.Hist.TestLoss = math.NaN()
	r.Hist.Err = "diverged: loss is +Inf at epoch 2, step 20"
	if _, err := s.Append(r); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records()
	if err != nil || len(recs) != 1 {
		t.Fatalf("Records: %v, %d", err, len(recs))
	}
	sameRecord(t, recs[0], r)

	// The columns, as a user's SQL sees them.
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		model, opt, label, family, spec, split, nonFinite string
		lr, trainLoss                                     float64
		seed, batch, epochs, limit, diverged, steps       int64
		valLoss, testLoss                                 sql.NullFloat64
		errText                                           sql.NullString
		histNaN                                           string
	)
	err = db.QueryRow(`SELECT model, optimizer, label, family, spec, lr, seed, batch_size, epochs, split, train_limit,
		non_finite, diverged, error, steps, train_loss, val_loss, test_loss, json_extract(history, '$.test_loss')
		FROM trials WHERE id = ?`, r.ID).Scan(&model, &opt, &label, &family, &spec, &lr, &seed, &batch, &epochs, &split,
		&limit, &nonFinite, &diverged, &errText, &steps, &trainLoss, &valLoss, &testLoss, &histNaN)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{"logreg", "sgd", "sgd(momentum=0.9)", r.Trial.Family(), r.Trial.Optimizer.String(), 0.5, int64(3), int64(32),
		int64(2), "test", int64(300), "stop", int64(1), true, int64(20), math.Inf(1), false, false, "NaN"}
	got := []any{model, opt, label, family, spec, lr, seed, batch, epochs, split, limit, nonFinite, diverged, errText.Valid,
		steps, trainLoss, valLoss.Valid, testLoss.Valid, histNaN}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("columns\n got %v\nwant %v", got, want)
	}
}

func TestConcurrentWritersShareOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	const writers, each = 4, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(path, Options{}) // its own connection, as another process has
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			for i := 0; i < each; i++ {
				// Writer w stores seeds w*each+i, and also the first seed of the
				// next writer: 4 trials are offered twice.
				for _, seed := range []int64{int64(w*each + i), int64(((w+1)%writers)*each + 0)} {
					if _, err := s.Append(sweeptest.FakeRecord(t, "adam", seed, 0.9)); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	c, err := Read(path)
	if err != nil || len(c.Records) != writers*each {
		t.Fatalf("%v, %d records, want %d", err, len(c.Records), writers*each)
	}
}

// writeV1 writes a store of schema version 1 (one JSON document per trial),
// as an optlab of that version did.
func writeV1(t *testing.T, path string, recs ...sweep.Record) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []string{`CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied TEXT NOT NULL)`,
		`INSERT INTO schema_version VALUES (1, 'one JSON document per trial', '2026-12-01T00:00:00Z')`} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := migrations[0].up(ctx, c); err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		line, err := encodeLine(r)
		if err != nil {
			t.Fatal(err)
		}
		doc := line[:len(line)-sumLen-1] + "}" // the line without its checksum
		if _, err := c.ExecContext(ctx, `INSERT INTO trials VALUES (?, ?)`, r.ID, doc); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOpenMigratesAVersion1Store(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	a, b := sweeptest.FakeRecord(t, "adam(lr=0.01)", 1, 0.8), sweeptest.FakeRecord(t, "sgd(lr=0.1)", 1, 0.7)
	b.Hist.TestLoss = math.NaN()
	writeV1(t, path, a, b)
	// Read reads it as it is, without migrating it.
	c, err := Read(path)
	if err != nil || c.Version != 1 || len(c.Records) != 2 {
		t.Fatalf("Read v1: %v, %+v", err, c)
	}
	sameRecord(t, c.Records[1], b)
	if c, _ := Read(path); c.Version != 1 {
		t.Fatal("Read migrated the store")
	}
	s := openStore(t, path)
	recs, err := s.Records()
	if err != nil || len(recs) != 2 {
		t.Fatalf("after migration: %v, %d records", err, len(recs))
	}
	sameRecord(t, recs[0], a)
	sameRecord(t, recs[1], b)
	var versions string
	if err := s.db.QueryRow(`SELECT group_concat(version) FROM schema_version`).Scan(&versions); err != nil || versions != "1,2" {
		t.Fatalf("schema_version: %q, %v", versions, err)
	}
	if c, err := Read(path); err != nil || c.Version != CurrentVersion || len(c.Records) != 2 {
		t.Fatalf("Read after migration: %v, %+v", err, c)
	}
	if added, err := s.Append(a); err != nil || added {
		t.Fatalf("the migrated store lost its key: added=%v, %v", added, err)
	}
}

func TestOpenRefusesWhatIsNotAStoreOfThisVersion(t *testing.T) {
	dir := t.TempDir()
	newer := filepath.Join(dir, "newer.db")
	writeStore(t, newer)
	db, _ := sql.Open("sqlite", "file:"+newer)
	if _, err := db.Exec(`INSERT INTO schema_version VALUES (99, 'from the future', '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	foreign := filepath.Join(dir, "foreign.db")
	db, _ = sql.Open("sqlite", "file:"+foreign)
	if _, err := db.Exec(`CREATE TABLE people (name TEXT)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("this is not a database, it is a text file that is long enough\n"), 0o644)
	oldLines := filepath.Join(dir, "old.results")
	os.WriteFile(oldLines, []byte(`{"id":"x"}`+"\n"), 0o644)
	for _, tc := range []struct{ path, want string }{
		{newer, "newer than this optlab"},
		{foreign, "not an optlab results store"},
		{garbage, "neither a SQLite results store nor a JSON Lines one"},
		{oldLines, "is a JSON Lines store: import it"},
		{filepath.Join(dir, "new.jsonl"), "optlab import"},
		{"", "empty path"},
	} {
		_, err := Open(tc.path, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%s): %v, want one line containing %q", tc.path, err, tc.want)
		}
	}
	if _, err := Read(newer); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Read of a newer store: %v", err)
	}
	if ids, err := StoredIDs(filepath.Join(dir, "missing.db")); err != nil || len(ids) != 0 {
		t.Errorf("StoredIDs of a missing store: %v, %v", ids, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Error("reading a missing store created it")
	}
}

func TestMergeDeduplicatesByTrialAndImportsJSONLines(t *testing.T) {
	dir := t.TempDir()
	a := []sweep.Record{sweeptest.FakeRecord(t, "adam(lr=0.01)", 1, 0.8), sweeptest.FakeRecord(t, "adam(lr=0.01)", 2, 0.81)}
	b := []sweep.Record{sweeptest.FakeRecord(t, "adam(lr=1e-2)", 2, 0.99), sweeptest.FakeRecord(t, "sgd(lr=0.1)", 1, 0.7)} // first is a's second trial
	os.MkdirAll(filepath.Join(dir, "tasks"), 0o755)
	writeStore(t, filepath.Join(dir, "tasks", "a.db"), a...)
	writeStore(t, filepath.Join(dir, "tasks", "b.db"), b...)
	dst := filepath.Join(dir, "all.db")
	st, err := Merge(dst, []string{filepath.Join(dir, "tasks")}, nil) // a folder of stores
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 3 || st.Duplicates != 1 || len(st.Sources) != 2 || st.Sources[1].Added != 1 || st.Sources[1].Records != 2 {
		t.Fatalf("merge stats %+v, want 3 added, 1 duplicate", st)
	}
	st, err = Merge(dst, []string{filepath.Join(dir, "tasks", "b.db")}, nil)
	if err != nil || st.Added != 0 || st.Duplicates != 2 {
		t.Fatalf("second merge %+v, %v", st, err)
	}
	c, err := Read(dst)
	if err != nil || len(c.Records) != 3 {
		t.Fatalf("merged store: %v, %d records", err, len(c.Records))
	}
	if c.Records[1].Hist.TestAccuracy != a[1].Hist.TestAccuracy {
		t.Fatal("the first record of a trial should win")
	}
	sub := sweep.RecordsFor(c.Records, []sweep.Trial{b[1].Trial, a[0].Trial, {Model: "logreg", Optimizer: optimizers.MustParse("adam"), BatchSize: 1, Epochs: 1}})
	if len(sub) != 2 || sub[0].ID != b[1].ID || sub[1].ID != a[0].ID {
		t.Errorf("RecordsFor: %d records", len(sub))
	}

	// A JSON Lines store with a damaged line imports its good records.
	old := filepath.Join(dir, "old.jsonl")
	extra := sweeptest.FakeRecord(t, "rmsprop", 1, 0.75)
	extra.Hist.TestLoss = math.Inf(1)
	var body string
	for _, r := range []sweep.Record{a[0], extra} {
		line, err := encodeLine(r)
		if err != nil {
			t.Fatal(err)
		}
		body += line
	}
	os.WriteFile(old, []byte(body+`{"id":"cut sh`), 0o644)
	var damaged []string
	st, err = Merge(dst, []string{old}, func(src string, d Damage) { damaged = append(damaged, d.String()) })
	if err != nil || st.Added != 1 || st.Duplicates != 1 || st.Damaged != 1 || len(damaged) != 1 || !strings.Contains(damaged[0], "line 3") {
		t.Fatalf("import: %+v, %v, damage %v", st, err, damaged)
	}
	recs, _, err := ReadAll(dst)
	if err != nil || len(recs) != 4 {
		t.Fatalf("after import: %v, %d", err, len(recs))
	}
	sameRecord(t, recs[3], extra)

	for _, tc := range []struct {
		srcs []string
		want string
	}{
		{[]string{dst}, "is the destination"},
		{[]string{filepath.Join(dir, "missing.db")}, "missing.db"},
		{[]string{t.TempDir()}, "holds no store"},
	} {
		if _, err := Merge(dst, tc.srcs, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Merge(%v): %v, want %q", tc.srcs, err, tc.want)
		}
	}
}

func TestReadJSONLinesSkipsDamagedLines(t *testing.T) {
	recs := []sweep.Record{sweeptest.FakeRecord(t, "adam(lr=0.01)", 1, 0.8), sweeptest.FakeRecord(t, "adam(lr=0.01)", 2, 0.81)}
	var good string
	for _, r := range recs {
		line, err := encodeLine(r)
		if err != nil {
			t.Fatal(err)
		}
		good += line
	}
	third, _ := encodeLine(sweeptest.FakeRecord(t, "sgd(lr=0.1)", 1, 0.7))
	flipped := []byte(third)
	flipped[30] ^= 0x01
	for _, tc := range []struct{ name, tail, want string }{
		{"half a line", third[:len(third)/2], "cut short"},
		{"all but the newline", third[:len(third)-1], "cut short"},
		{"garbage line", "not json at all\n", "no checksum"},
		{"flipped bit", string(flipped), "checksum mismatch"},
		{"edited trial", strings.Replace(third, `"seed":1`, `"seed":2`, 1), "checksum mismatch"},
		{"bad hex", third[:len(third)-11] + `zzzzzzzz"}` + "\n", "malformed checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.jsonl")
			os.WriteFile(path, []byte(good+tc.tail), 0o644)
			c, err := Read(path)
			if err != nil || len(c.Records) != 2 || len(c.Damage) != 1 || c.Format != FormatJSONL {
				t.Fatalf("Read: %v, %+v", err, c)
			}
			if d := c.Damage[0]; d.Line != 3 || d.Offset != int64(len(good)) || !strings.Contains(d.Reason, tc.want) {
				t.Fatalf("damage %v, want line 3 at byte %d: %s", d, len(good), tc.want)
			}
		})
	}
}

func TestTrialTableLeavesOutTimings(t *testing.T) {
	a := sweeptest.FakeRecord(t, "adam(lr=0.01)", 1, 0.8)
	a.Hist.TestLoss = math.NaN()
	b := a
	bh := *a.Hist
	bh.Epochs = append([]optlab.Epoch(nil), a.Hist.Epochs...)
	bh.Epochs[0].Seconds, bh.CompileSeconds, b.Seconds, b.Env.Host = 99, 99, 99, "elsewhere"
	b.Hist = &bh
	ha, ra, err := TrialTable([]sweep.Record{a})
	if err != nil {
		t.Fatal(err)
	}
	_, rb, _ := TrialTable([]sweep.Record{b})
	if !reflect.DeepEqual(ra, rb) {
		t.Fatalf("timings or host changed the table:\n%v\n%v", ra, rb)
	}
	row := map[string]string{}
	for i, h := range ha {
		row[h] = ra[0][i]
	}
	for k, want := range map[string]string{"id": a.ID, "lr": "0.01", "test_loss": "", "error": "", "diverged": "0", "test_accuracy": "0.79"} {
		if row[k] != want {
			t.Errorf("%s = %q, want %q", k, row[k], want)
		}
	}
	if _, ok := row["seconds"]; ok || !strings.Contains(row["epoch_metrics"], `"val_accuracy":0.8`) || strings.Contains(row["epoch_metrics"], "seconds") {
		t.Errorf("header %v, epochs %s", ha, row["epoch_metrics"])
	}
}

// BenchmarkStore measures a durable append (one transaction, fsync'ed) and
// reading a store of 5,000 five-epoch records (a large sweep). Run it with
// `GOEXPERIMENT=simd go test -run '^$' -bench BenchmarkStore ./optlab/store`.
func BenchmarkStore(b *testing.B) {
	rec := func(i int) sweep.Record {
		r := sweeptest.FakeRecord(b, "adam(lr=0.01)", int64(i), 0.9)
		for e := 3; e <= 5; e++ {
			r.Hist.Epochs = append(r.Hist.Epochs, optlab.Epoch{Epoch: e, Loss: 0.5, Accuracy: 0.9, ValLoss: 0.4, ValAccuracy: 0.91, Steps: 10 * e})
		}
		return r
	}
	b.Run("append+fsync", func(b *testing.B) {
		s := openStore(b, filepath.Join(b.TempDir(), "a.db"))
		i := 0
		for b.Loop() {
			i++
			if _, err := s.Append(rec(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	path := filepath.Join(b.TempDir(), "s.db")
	recs := make([]sweep.Record, 5000)
	for i := range recs {
		recs[i] = rec(i)
	}
	writeStore(b, path, recs...)
	b.Run("read-5000", func(b *testing.B) {
		for b.Loop() {
			c, err := Read(path)
			if err != nil || len(c.Records) != 5000 {
				b.Fatalf("%v, %d", err, len(c.Records))
			}
		}
	})
}

func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "optlab-store")
	defer os.RemoveAll(dir)
	s, err := Open(filepath.Join(dir, "sweep.db"), Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	opt := optimizers.MustParse("adam(lr=0.01)")
	t := sweep.Trial{Model: "logreg", Optimizer: opt, Seed: 1, BatchSize: 32, Epochs: 1}
	rec := sweep.Record{Trial: t, Hist: &optlab.History{Model: "logreg", Optimizer: opt.String(),
		Epochs: []optlab.Epoch{{Epoch: 1, Loss: 0.4, ValAccuracy: 0.9, Steps: 1875}}, TestAccuracy: 0.91}}
	added, _ := s.Append(rec)
	again, _ := s.Append(rec)
	fmt.Println(added, again, s.Has(t.ID()))
	// Output: true false true
}

// TestImportsAStoreWrittenByTheJSONLinesWriter reads three lines written by
// optlab's JSON Lines store (the first lines of notebook 09's sweep) and
// imports them.
func TestImportsAStoreWrittenByTheJSONLinesWriter(t *testing.T) {
	c, err := Read(filepath.Join("testdata", "v0.jsonl"))
	if err != nil || len(c.Records) != 3 || len(c.Damage) != 0 || c.Format != FormatJSONL {
		t.Fatalf("%v, %+v", err, c)
	}
	dst := filepath.Join(t.TempDir(), "s.db")
	st, err := Merge(dst, []string{filepath.Join("testdata", "v0.jsonl")}, nil)
	if err != nil || st.Added != 3 {
		t.Fatalf("%+v, %v", st, err)
	}
	got, err := Read(dst)
	if err != nil || len(got.Records) != 3 {
		t.Fatalf("%v, %+v", err, got)
	}
	for i := range got.Records {
		sameRecord(t, got.Records[i], c.Records[i])
	}
}
