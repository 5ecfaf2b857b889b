package optlab

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"
)

// Record is what the results store keeps for one finished trial: its
// configuration, its full history (final metrics, timings) and where it ran.
// A trial whose loss diverged is finished too: its History has Err set.
type Record struct {
	// ID is Trial.ID(); a record whose ID does not match its trial is rejected
	// as damaged when the store is read.
	ID    string   `json:"id"`
	Trial Trial    `json:"trial"`
	Hist  *History `json:"history"`
	// Finished is when the record was written (UTC).
	Finished time.Time `json:"finished"`
	// Seconds is the trial's wall time, graph compilation and evaluation included.
	Seconds float64 `json:"seconds"`
	Env     RunEnv  `json:"env"`
	// NonFinite lists the history's metrics that were NaN or infinite (JSON has
	// no spelling for them), as "field=value" pairs such as "test_loss=NaN";
	// decoding puts the values back.
	NonFinite []string `json:"non_finite,omitempty"`
}

// RunEnv describes where a trial ran, so results from several machines can be
// told apart after a merge.
type RunEnv struct {
	Backend   string `json:"backend"` // DescribeBackend's words
	Host      string `json:"host"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	// GoMLX is the GoMLX module version compiled into the binary.
	GoMLX string `json:"gomlx,omitempty"`
	// Optlab is the source revision of the binary ("+dirty" when the working
	// tree had changes), when the build recorded it.
	Optlab string `json:"optlab,omitempty"`
}

// CurrentEnv returns the RunEnv of this process for a backend description.
func CurrentEnv(backend string) RunEnv {
	host, _ := os.Hostname()
	e := RunEnv{Backend: backend, Host: host, OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/gomlx/gomlx" {
				e.GoMLX = d.Version
			}
		}
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			e.Optlab = rev + dirty
		}
	}
	return e
}

// The line format: one JSON object per line, whose last member is a CRC-32C
// (Castagnoli) of the object written without it:
//
//	{"id":"…",…,"crc32c":"1a2b3c4d"}\n
//
// The checksum is computed over the bytes of the line with the suffix
// `,"crc32c":"…"` removed (so over `{"id":"…",…}`), which keeps every line
// plain JSON that jq or pandas can read.
const (
	sumPrefix = `,"crc32c":"`
	sumLen    = len(sumPrefix) + 8 + 2 // prefix, 8 hex digits, `"}`
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeRecord returns r as one checksummed line, ending in '\n'.
func encodeRecord(r Record) ([]byte, error) {
	if r.Hist != nil {
		h := *r.Hist
		h.Epochs = append([]Epoch(nil), r.Hist.Epochs...)
		r.NonFinite = replaceNonFinite(&h)
		r.Hist = &h
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encoding the record of trial %s: %w", r.ID, err)
	}
	if bytes.IndexByte(body, '\n') >= 0 || len(body) < 2 || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("encoding the record of trial %s: unexpected JSON", r.ID)
	}
	sum := crc32.Checksum(body, castagnoli)
	line := make([]byte, 0, len(body)+sumLen+1)
	line = append(line, body[:len(body)-1]...)
	line = append(line, sumPrefix...)
	line = fmt.Appendf(line, "%08x", sum)
	line = append(line, '"', '}', '\n')
	return line, nil
}

// decodeRecord checks and decodes one line (without its '\n').
func decodeRecord(line []byte) (Record, error) {
	var r Record
	if len(line) < sumLen+2 || !bytes.HasSuffix(line, []byte(`"}`)) ||
		!bytes.Equal(line[len(line)-sumLen:len(line)-sumLen+len(sumPrefix)], []byte(sumPrefix)) {
		return r, errors.New("no checksum at the end of the line")
	}
	hexSum := line[len(line)-10 : len(line)-2]
	want, err := hex.DecodeString(string(hexSum))
	if err != nil || len(want) != 4 {
		return r, fmt.Errorf("malformed checksum %q", hexSum)
	}
	body := make([]byte, 0, len(line)-sumLen+1)
	body = append(body, line[:len(line)-sumLen]...)
	body = append(body, '}')
	got := crc32.Checksum(body, castagnoli)
	if w := uint32(want[0])<<24 | uint32(want[1])<<16 | uint32(want[2])<<8 | uint32(want[3]); got != w {
		return r, fmt.Errorf("checksum mismatch (stored %s, computed %08x)", hexSum, got)
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return r, fmt.Errorf("bad JSON: %w", err)
	}
	if r.Hist == nil {
		return r, errors.New("record has no history")
	}
	if id := r.Trial.hash(); id != r.ID {
		return r, fmt.Errorf("record id %s does not match its trial's id %s", r.ID, id)
	}
	if err := restoreNonFinite(r.Hist, r.NonFinite); err != nil {
		return r, err
	}
	r.NonFinite = nil
	return r, nil
}

// historyFloats lists the float64 fields of a history (those of its epochs
// included) by their JSON path, e.g. "test_loss" or "epochs[2].val_loss". It
// walks the struct by reflection, so fields added to History or Epoch later
// are covered too.
func historyFloats(h *History) map[string]*float64 {
	m := map[string]*float64{}
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		switch v.Kind() {
		case reflect.Float64:
			m[prefix] = v.Addr().Interface().(*float64)
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i), fmt.Sprintf("%s[%d]", prefix, i))
			}
		case reflect.Struct:
			t := v.Type()
			for i := 0; i < t.NumField(); i++ {
				f := t.Field(i)
				if !f.IsExported() {
					continue
				}
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if name == "-" {
					continue
				}
				if name == "" {
					name = f.Name
				}
				if prefix != "" {
					name = prefix + "." + name
				}
				walk(v.Field(i), name)
			}
		}
	}
	walk(reflect.ValueOf(h).Elem(), "")
	return m
}

// replaceNonFinite zeroes h's NaN and infinite metrics and returns them as
// sorted "path=value" pairs.
func replaceNonFinite(h *History) []string {
	var out []string
	for path, p := range historyFloats(h) {
		if math.IsNaN(*p) || math.IsInf(*p, 0) {
			out = append(out, fmt.Sprintf("%s=%v", path, *p))
			*p = 0
		}
	}
	sort.Strings(out)
	return out
}

// restoreNonFinite puts back the values replaceNonFinite removed.
func restoreNonFinite(h *History, pairs []string) error {
	if len(pairs) == 0 {
		return nil
	}
	fields := historyFloats(h)
	for _, kv := range pairs {
		path, val, _ := strings.Cut(kv, "=")
		p, ok := fields[path]
		var v float64
		switch val {
		case "NaN":
			v = math.NaN()
		case "+Inf":
			v = math.Inf(1)
		case "-Inf":
			v = math.Inf(-1)
		default:
			ok = false
		}
		if !ok {
			return fmt.Errorf("bad non_finite entry %q", kv)
		}
		*p = v
	}
	return nil
}

// Damage describes a bad stretch of a store file: a line that is cut short,
// fails its checksum or is not a valid record.
type Damage struct {
	Line   int    // 1-based line number
	Offset int64  // byte offset of the line's start
	Bytes  int64  // length of the bad line (with its '\n' if any)
	Reason string // what is wrong with it
}

// String describes the damaged line for messages.
func (d Damage) String() string {
	return fmt.Sprintf("line %d (byte %d, %d bytes): %s", d.Line, d.Offset, d.Bytes, d.Reason)
}

// scan is the result of reading a store file.
type scan struct {
	records []Record
	damage  []Damage
	// goodEnd is the offset just after the last good record.
	goodEnd int64
	size    int64
	dups    int
}

// tailOnly reports whether every damaged line comes after the last good
// record, as a write cut short by a crash leaves it.
func (s *scan) tailOnly() bool {
	for _, d := range s.damage {
		if d.Offset < s.goodEnd {
			return false
		}
	}
	return true
}

// scanStore reads every line of r, keeping the first record of each ID.
func scanStore(r io.Reader) (*scan, error) {
	s := &scan{}
	seen := map[string]bool{}
	br := bufio.NewReaderSize(r, 1<<16)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			n := int64(len(line))
			switch {
			case line[len(line)-1] != '\n':
				s.damage = append(s.damage, Damage{lineNo, off, n, "cut short (no end of line): an interrupted write"})
			default:
				rec, derr := decodeRecord(line[:len(line)-1])
				if derr != nil {
					s.damage = append(s.damage, Damage{lineNo, off, n, derr.Error()})
					break
				}
				s.goodEnd = off + n
				if seen[rec.ID] {
					s.dups++
					break
				}
				seen[rec.ID] = true
				s.records = append(s.records, rec)
			}
			off += n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	s.size = off
	return s, nil
}

// StoreContents is what ReadStore found in a store file.
type StoreContents struct {
	Path    string
	Records []Record
	// Damage lists the lines that were skipped.
	Damage []Damage
	// Duplicates counts records skipped because an earlier line has their ID.
	Duplicates int
}

// ReadStore reads a store file without changing it: the good records, in file
// order, and a list of the damaged lines it skipped. It does not need the
// store's lock, so it can read a store that a sweep is writing.
func ReadStore(path string) (*StoreContents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading store: %w", err)
	}
	defer f.Close()
	s, err := scanStore(f)
	if err != nil {
		return nil, fmt.Errorf("reading store %s: %w", path, err)
	}
	return &StoreContents{Path: path, Records: s.records, Damage: s.damage, Duplicates: s.dups}, nil
}

// Store is an append-only results store: a JSON Lines file with one
// checksummed record per finished trial. Each Append is a single write to a
// file opened with O_APPEND followed by fsync, so a record is durable once
// Append returns, and a crash (even kill -9 in the middle of a write) can only
// leave a partial last line, which the next OpenStore detects and cuts off.
//
// While open, a Store holds an exclusive advisory lock on its file (flock on
// Unix), so two processes never append to, or repair, the same store at once.
// A Store is safe for concurrent use by several goroutines.
type Store struct {
	path     string
	mu       sync.Mutex
	f        *os.File
	size     int64
	records  []Record
	byID     map[string]int
	repaired []Damage
}

// StoreOptions tunes OpenStore.
type StoreOptions struct {
	// Wait makes OpenStore wait for another process's lock on the store to be
	// released instead of failing (for short appends such as `optlab train
	// --trial`).
	Wait bool
}

// ErrStoreLocked is returned by OpenStore when another process holds the store.
var ErrStoreLocked = errors.New("store is in use by another process")

// OpenStore opens (creating it and its directory if needed) the store at path
// and loads its records. A damaged tail (a partial or corrupt last line left by
// a crash) is cut off, and the cut lines are reported by Repaired; records
// before it are not touched. Damage followed by good records is not a crash
// signature, so the store is left as it is and an error says how to salvage
// it (merging it into a new store copies only the good records).
func OpenStore(path string, opts StoreOptions) (*Store, error) {
	if path == "" {
		return nil, errors.New("store: empty path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	_, statErr := os.Stat(path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := lockFile(f, opts.Wait); err != nil {
		f.Close()
		if errors.Is(err, ErrStoreLocked) {
			return nil, fmt.Errorf("store %s: %w", path, err)
		}
		return nil, fmt.Errorf("store %s: locking: %w", path, err)
	}
	if os.IsNotExist(statErr) {
		// Make the new file's directory entry durable too.
		syncDir(filepath.Dir(path))
	}
	s := &Store{path: path, f: f, byID: map[string]int{}}
	if err := s.load(); err != nil {
		unlockFile(f)
		f.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) load() error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	sc, err := scanStore(s.f)
	if err != nil {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	if len(sc.damage) > 0 {
		if !sc.tailOnly() {
			d := sc.damage[0]
			return fmt.Errorf("store %s is damaged at %s, and good records follow, so it is not a crash's partial write; "+
				"it was left untouched: salvage its %d good records with `optlab merge --into NEW.jsonl %s`",
				s.path, d, len(sc.records), s.path)
		}
		if err := s.f.Truncate(sc.goodEnd); err != nil {
			return fmt.Errorf("store %s: cutting the damaged tail: %w", s.path, err)
		}
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("store %s: %w", s.path, err)
		}
		s.repaired = sc.damage
		sc.size = sc.goodEnd
	}
	s.size = sc.size
	s.records = sc.records
	for i, r := range sc.records {
		s.byID[r.ID] = i
	}
	return nil
}

// Path returns the store's file name.
func (s *Store) Path() string { return s.path }

// Repaired returns the damaged tail lines OpenStore cut off (nil if none).
func (s *Store) Repaired() []Damage { return s.repaired }

// Has reports whether the store holds a record for the trial ID.
func (s *Store) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[id]
	return ok
}

// Len returns the number of records.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// Records returns a copy of the records, in the order they were written.
func (s *Store) Records() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Record(nil), s.records...)
}

// Append writes r durably (one write, then fsync) unless the store already
// holds a record with its ID; it reports whether r was added. r.ID is set
// from r.Trial when empty.
func (s *Store) Append(r Record) (bool, error) {
	if r.ID == "" {
		r.ID = r.Trial.ID()
	}
	if r.ID != r.Trial.ID() {
		return false, fmt.Errorf("store: record id %s does not match its trial's id %s", r.ID, r.Trial.ID())
	}
	if r.Hist == nil {
		return false, fmt.Errorf("store: record %s has no history", r.ID)
	}
	line, err := encodeRecord(r)
	if err != nil {
		return false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return false, fmt.Errorf("store %s is closed", s.path)
	}
	if _, ok := s.byID[r.ID]; ok {
		return false, nil
	}
	n, err := s.f.Write(line)
	if err == nil && n != len(line) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = s.f.Sync()
	}
	if err != nil {
		// Leave no partial line behind for the next append to follow.
		_ = s.f.Truncate(s.size)
		return false, fmt.Errorf("store %s: appending trial %s: %w", s.path, r.ID, err)
	}
	s.size += int64(n)
	s.byID[r.ID] = len(s.records)
	s.records = append(s.records, r)
	return true, nil
}

// Close releases the lock and closes the file.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	unlockFile(s.f)
	err := s.f.Close()
	s.f = nil
	return err
}

// syncDir fsyncs a directory so a newly created file's entry survives a crash
// (best effort: not every system can sync directories).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
}

// MergeStats counts what MergeStores did.
type MergeStats struct {
	Added      int // records appended to the destination
	Duplicates int // records skipped because the destination already had their trial
	Damaged    int // damaged lines skipped in the sources
}

// MergeStores appends to the store dst every record of the source stores whose
// trial dst does not hold yet (deduplicating by trial ID; the first record of
// a trial wins), creating dst if needed. Sources are only read; damaged lines
// in them are skipped and reported through onDamage (which may be nil). This
// is how the results of several machines, each writing its own store, are
// brought together.
func MergeStores(dst string, srcs []string, onDamage func(src string, d Damage)) (MergeStats, error) {
	var st MergeStats
	abs := func(p string) string { a, _ := filepath.Abs(p); return a }
	for _, src := range srcs {
		if abs(src) == abs(dst) {
			return st, fmt.Errorf("merge: source %s is the destination", src)
		}
	}
	// Read every source first, so a missing one leaves dst untouched.
	contents := make([]*StoreContents, len(srcs))
	for i, src := range srcs {
		c, err := ReadStore(src)
		if err != nil {
			return st, err
		}
		contents[i] = c
	}
	out, err := OpenStore(dst, StoreOptions{Wait: true})
	if err != nil {
		return st, err
	}
	defer out.Close()
	for i, src := range srcs {
		c := contents[i]
		for _, d := range c.Damage {
			st.Damaged++
			if onDamage != nil {
				onDamage(src, d)
			}
		}
		st.Duplicates += c.Duplicates
		for _, r := range c.Records {
			added, err := out.Append(r)
			if err != nil {
				return st, err
			}
			if added {
				st.Added++
			} else {
				st.Duplicates++
			}
		}
	}
	return st, out.Close()
}

// ReadStores reads several stores and returns their records deduplicated by
// trial ID (the first wins), as MergeStores would combine them, plus the
// damaged lines of each (keyed by path).
func ReadStores(paths ...string) ([]Record, map[string][]Damage, error) {
	var out []Record
	seen := map[string]bool{}
	damage := map[string][]Damage{}
	for _, p := range paths {
		c, err := ReadStore(p)
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

// RecordsFor returns the records of the given trials, in the trials' order
// (trials without a record are left out): the part of a store that one sweep
// (a notebook's grid, say) produced.
func RecordsFor(recs []Record, trials []Trial) []Record {
	byID := make(map[string]Record, len(recs))
	for _, r := range recs {
		if _, ok := byID[r.ID]; !ok {
			byID[r.ID] = r
		}
	}
	var out []Record
	for _, t := range trials {
		if r, ok := byID[t.ID()]; ok {
			out = append(out, r)
			delete(byID, t.ID())
		}
	}
	return out
}
