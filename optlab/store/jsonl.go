package store

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
	"reflect"
	"strings"

	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// This file reads the JSON Lines stores that optlab wrote before its stores
// became SQLite files, so that they can be imported (Import, `optlab import`)
// and read (Read, `optlab report`). Nothing writes them any more.
//
// The line format: one JSON object per line, whose last member is a CRC-32C
// (Castagnoli) of the object written without it:
//
//	{"id":"…",…,"crc32c":"1a2b3c4d"}\n
//
// The checksum covers the line with the suffix `,"crc32c":"…"` removed. The
// history's NaN and infinite metrics were written as 0 and listed in a
// "non_finite" member ("test_loss=NaN", "epochs[2].val_loss=+Inf").
const (
	sumPrefix = `,"crc32c":"`
	sumLen    = len(sumPrefix) + 8 + 2 // prefix, 8 hex digits, `"}`
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// decodeLine checks a JSON Lines store line's checksum (the line without its
// '\n') and decodes its record.
func decodeLine(line []byte) (sweep.Record, error) {
	var r sweep.Record
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
	return decodeDocument(body)
}

// decodeDocument decodes a record as one JSON document (a JSON Lines line
// without its checksum, or a version-1 row), checking its ID against the
// bytes of its trial and putting back the values listed in "non_finite".
func decodeDocument(body []byte) (sweep.Record, error) {
	var l struct {
		sweep.Record
		Trial     json.RawMessage `json:"trial"`
		NonFinite []string        `json:"non_finite"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return sweep.Record{}, fmt.Errorf("bad JSON: %w", err)
	}
	r := l.Record
	if r.Hist == nil {
		return r, errors.New("record has no history")
	}
	if id := sweep.IDFromJSON(l.Trial); id != r.ID {
		return r, fmt.Errorf("record id %s does not match its trial's id %s", r.ID, id)
	}
	if err := json.Unmarshal(l.Trial, &r.Trial); err != nil {
		return r, fmt.Errorf("bad trial: %w", err)
	}
	if err := restoreNonFinite(r.Hist, l.NonFinite); err != nil {
		return r, err
	}
	return r, nil
}

// historyFloats lists the float64 fields of a history (those of its epochs
// included) by their JSON path, e.g. "test_loss" or "epochs[2].val_loss".
func historyFloats(h *optlab.History) map[string]*float64 {
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

// restoreNonFinite puts back the values a JSON Lines store listed as
// "path=value" pairs.
func restoreNonFinite(h *optlab.History, pairs []string) error {
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

// Damage describes a bad line of a JSON Lines store: cut short, failing its
// checksum or not a valid record. SQLite stores have no damage of this kind.
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

// readJSONL reads every line of a JSON Lines store, keeping the first record
// of each trial ID and listing the damaged lines it skipped.
func readJSONL(path string) (*Contents, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c := &Contents{Path: path, Format: FormatJSONL}
	seen := map[string]bool{}
	br := bufio.NewReaderSize(f, 1<<16)
	var off int64
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			n := int64(len(line))
			switch {
			case line[len(line)-1] != '\n':
				c.Damage = append(c.Damage, Damage{lineNo, off, n, "cut short (no end of line): an interrupted write"})
			default:
				rec, derr := decodeLine(line[:len(line)-1])
				if derr != nil {
					c.Damage = append(c.Damage, Damage{lineNo, off, n, derr.Error()})
					break
				}
				if seen[rec.ID] {
					c.Duplicates++
					break
				}
				seen[rec.ID] = true
				c.Records = append(c.Records, rec)
			}
			off += n
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", path, err)
		}
	}
	return c, nil
}
