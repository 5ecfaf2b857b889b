package optlab

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeRecord builds a record with a plausible history for store tests (no
// training involved: these tests are about bytes on disk).
func fakeRecord(t *testing.T, spec string, seed int64, acc float64) Record {
	t.Helper()
	tr, err := Trial{Model: "logreg", Optimizer: spec, Seed: seed, BatchSize: 32, Epochs: 2, Limit: 300}.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	h := &History{Model: tr.Model, Optimizer: tr.Optimizer, Seed: seed, BatchSize: 32, Backend: "go", ValSplit: "test",
		Epochs: []Epoch{
			{Epoch: 1, Loss: 1.2, Accuracy: acc - 0.1, ValLoss: 1.0, ValAccuracy: acc - 0.05, Steps: 10, Seconds: 0.5, SamplesPerSec: 600},
			{Epoch: 2, Loss: 0.8, Accuracy: acc, ValLoss: 0.9, ValAccuracy: acc, Steps: 20, Seconds: 0.25, SamplesPerSec: 1200},
		},
		TestLoss: 0.9, TestAccuracy: acc - 0.01, Params: 7850, StateBytes: 62800, CompileSeconds: 0.3,
		Started: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Elapsed: time.Second}
	return Record{ID: tr.ID(), Trial: tr, Hist: h, Finished: time.Date(2026, 11, 23, 12, 0, 1, 0, time.UTC),
		Seconds: 1, Env: RunEnv{Backend: "go", Host: "test"}}
}

func TestRecordLineRoundTripsAndKeepsNonFiniteValues(t *testing.T) {
	r := fakeRecord(t, "adam(lr=0.01)", 1, 0.8)
	r.Hist.Epochs[1].ValLoss = math.Inf(1)
	r.Hist.TestLoss = math.NaN()
	line, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(line, []byte("\"}\n")) || bytes.Count(line, []byte("\n")) != 1 {
		t.Fatalf("not one JSON line: %q", line)
	}
	if !math.IsInf(r.Hist.Epochs[1].ValLoss, 1) {
		t.Fatal("encoding modified the caller's history")
	}
	got, err := decodeRecord(line[:len(line)-1])
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(got.Hist.Epochs[1].ValLoss, 1) || !math.IsNaN(got.Hist.TestLoss) {
		t.Fatalf("non-finite values lost: val_loss %v test_loss %v", got.Hist.Epochs[1].ValLoss, got.Hist.TestLoss)
	}
	got.Hist.TestLoss, r.Hist.TestLoss = 0, 0 // NaN != NaN
	if !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, r)
	}
}

func TestDecodeRejectsDamagedLines(t *testing.T) {
	r := fakeRecord(t, "sgd(lr=0.1)", 1, 0.8)
	line, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	line = line[:len(line)-1]
	flipped := bytes.Clone(line)
	flipped[20] ^= 0x01
	otherTrial := bytes.Replace(line, []byte(`"seed":1`), []byte(`"seed":2`), 1)
	for _, tc := range []struct {
		name string
		line []byte
		want string
	}{
		{"cut", line[:len(line)/2], "no checksum"},
		{"flipped bit", flipped, "checksum mismatch"},
		{"edited trial", otherTrial, "checksum mismatch"},
		{"empty", nil, "no checksum"},
		{"bad hex", append(bytes.Clone(line[:len(line)-10]), []byte(`zzzzzzzz"}`)...), "malformed checksum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeRecord(tc.line)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestStoreAppendIsDurableAndDeduplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "s.jsonl")
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a, b := fakeRecord(t, "adam(lr=0.01)", 1, 0.8), fakeRecord(t, "adam(lr=0.01)", 2, 0.82)
	for i, r := range []Record{a, b, a} {
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
	// A second opener is refused while the first holds the store.
	if _, err := OpenStore(path, StoreOptions{}); !errors.Is(err, ErrStoreLocked) {
		t.Fatalf("second open: got %v, want ErrStoreLocked", err)
	}
	// A reader does not need the lock and sees both records.
	c, err := ReadStore(path)
	if err != nil || len(c.Records) != 2 || len(c.Damage) != 0 {
		t.Fatalf("ReadStore: %v, %d records, damage %v", err, len(c.Records), c.Damage)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Len() != 2 || !s2.Has(a.ID) || !s2.Has(b.ID) || s2.Repaired() != nil {
		t.Fatalf("reopened store: %d records, repaired %v", s2.Len(), s2.Repaired())
	}
}

// writeStore writes records to a new store and returns its path and bytes.
func writeStore(t *testing.T, path string, recs ...Record) []byte {
	t.Helper()
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := s.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestOpenStoreRepairsATornTail(t *testing.T) {
	recs := []Record{fakeRecord(t, "adam(lr=0.01)", 1, 0.8), fakeRecord(t, "adam(lr=0.01)", 2, 0.81), fakeRecord(t, "sgd(lr=0.1)", 1, 0.7)}
	dir := t.TempDir()
	full := writeStore(t, filepath.Join(dir, "full.jsonl"), recs...)
	good := writeStore(t, filepath.Join(dir, "good.jsonl"), recs[:2]...)
	third := full[len(good):]
	for _, tc := range []struct {
		name string
		tail []byte
	}{
		{"half a line", third[:len(third)/2]},
		{"all but the newline", third[:len(third)-1]},
		{"one byte", third[:1]},
		{"garbage line", []byte("not json at all\n")},
		{"corrupt complete line", append(bytes.Clone(third[:40]), append([]byte{'X'}, third[41:]...)...)},
		{"two partial lines", append(append(bytes.Clone(third[:len(third)/2]), '\n'), third[:10]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.jsonl")
			if err := os.WriteFile(path, append(bytes.Clone(good), tc.tail...), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := ReadStore(path)
			if err != nil || len(c.Records) != 2 || len(c.Damage) == 0 {
				t.Fatalf("ReadStore: %v, %d records, damage %v", err, len(c.Records), c.Damage)
			}
			s, err := OpenStore(path, StoreOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Repaired()) == 0 || s.Repaired()[0].Line != 3 || s.Repaired()[0].Offset != int64(len(good)) {
				t.Fatalf("repair report %v, want line 3 at byte %d", s.Repaired(), len(good))
			}
			if s.Len() != 2 {
				t.Fatalf("%d records after repair", s.Len())
			}
			// The good records are untouched, byte for byte, and appending works.
			if _, err := s.Append(recs[2]); err != nil {
				t.Fatal(err)
			}
			s.Close()
			raw, _ := os.ReadFile(path)
			if !bytes.Equal(raw, full) {
				t.Fatalf("after repair and append the file differs from a clean write")
			}
		})
	}
}

func TestOpenStoreRefusesDamageFollowedByGoodRecords(t *testing.T) {
	recs := []Record{fakeRecord(t, "adam(lr=0.01)", 1, 0.8), fakeRecord(t, "adam(lr=0.01)", 2, 0.81), fakeRecord(t, "sgd(lr=0.1)", 1, 0.7)}
	dir := t.TempDir()
	path := filepath.Join(dir, "s.jsonl")
	raw := writeStore(t, path, recs...)
	i := bytes.IndexByte(raw, '\n') + 30 // inside the second line
	raw[i] ^= 0x20
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := OpenStore(path, StoreOptions{})
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "good records follow") {
		t.Fatalf("got %v, want a refusal naming line 2", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, raw) {
		t.Fatal("the damaged store was modified")
	}
	// Salvage: merging copies the two good records into a new store.
	st, err := MergeStores(filepath.Join(dir, "new.jsonl"), []string{path}, nil)
	if err != nil || st.Added != 2 || st.Damaged != 1 {
		t.Fatalf("salvage: %+v, %v", st, err)
	}
}

func TestMergeStoresDeduplicatesByTrial(t *testing.T) {
	dir := t.TempDir()
	a := []Record{fakeRecord(t, "adam(lr=0.01)", 1, 0.8), fakeRecord(t, "adam(lr=0.01)", 2, 0.81)}
	b := []Record{fakeRecord(t, "adam(lr=1e-2)", 2, 0.99), fakeRecord(t, "sgd(lr=0.1)", 1, 0.7)} // first is a's second trial
	writeStore(t, filepath.Join(dir, "a.jsonl"), a...)
	writeStore(t, filepath.Join(dir, "b.jsonl"), b...)
	dst := filepath.Join(dir, "all.jsonl")
	st, err := MergeStores(dst, []string{filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Added != 3 || st.Duplicates != 1 {
		t.Fatalf("merge stats %+v, want 3 added, 1 duplicate", st)
	}
	// Merging again adds nothing.
	st, err = MergeStores(dst, []string{filepath.Join(dir, "b.jsonl")}, nil)
	if err != nil || st.Added != 0 || st.Duplicates != 2 {
		t.Fatalf("second merge %+v, %v", st, err)
	}
	c, err := ReadStore(dst)
	if err != nil || len(c.Records) != 3 {
		t.Fatalf("merged store: %v, %d records", err, len(c.Records))
	}
	if c.Records[1].Hist.TestAccuracy != a[1].Hist.TestAccuracy {
		t.Fatal("the first record of a trial should win")
	}
	// RecordsFor picks one grid's records out of the merged store.
	sub := RecordsFor(c.Records, []Trial{b[1].Trial, a[0].Trial, {Model: "logreg", Optimizer: "adam", BatchSize: 1, Epochs: 1}})
	if len(sub) != 2 || sub[0].ID != b[1].ID || sub[1].ID != a[0].ID {
		t.Errorf("RecordsFor: %d records", len(sub))
	}
	if _, err := MergeStores(dst, []string{dst}, nil); err == nil {
		t.Fatal("merging a store into itself should fail")
	}
}

// BenchmarkReadStore measures loading a store of 5,000 five-epoch records
// (a large sweep) and the cost of one durable append.
func BenchmarkReadStore(b *testing.B) {
	t := &testing.T{}
	path := filepath.Join(b.TempDir(), "s.jsonl")
	var buf bytes.Buffer
	for i := 0; i < 5000; i++ {
		r := fakeRecord(t, "adam(lr=0.01)", int64(i), 0.9)
		for e := 3; e <= 5; e++ {
			r.Hist.Epochs = append(r.Hist.Epochs, Epoch{Epoch: e, Loss: 0.5, Accuracy: 0.9, ValLoss: 0.4, ValAccuracy: 0.91, Steps: 10 * e})
		}
		line, err := encodeRecord(r)
		if err != nil {
			b.Fatal(err)
		}
		buf.Write(line)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("read-5000", func(b *testing.B) {
		b.SetBytes(int64(buf.Len()))
		for b.Loop() {
			c, err := ReadStore(path)
			if err != nil || len(c.Records) != 5000 {
				b.Fatalf("%v, %d", err, len(c.Records))
			}
		}
	})
	b.Run("append+fsync", func(b *testing.B) {
		s, err := OpenStore(filepath.Join(b.TempDir(), "a.jsonl"), StoreOptions{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		i := 0
		for b.Loop() {
			i++
			if _, err := s.Append(fakeRecord(t, "adam(lr=0.01)", int64(i), 0.9)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
