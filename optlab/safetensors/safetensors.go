// Package safetensors reads and writes the safetensors format, the weight
// format of Hugging Face and PyTorch tools: an 8-byte little-endian header
// length N, N bytes of JSON header naming each tensor's dtype, shape and
// data_offsets (plus an optional "__metadata__" object of strings), then the
// tensors' raw little-endian bytes.
//
// optlab uses it to export and import model weights with PyTorch-compatible
// names and layouts, and to read the initial weights of the step-conformance
// goldens (scripts/reference/STEP_CONFORMANCE.md).
//
// Writing is deterministic: tensors are laid out sorted by name, "__metadata__"
// comes first with sorted keys, the JSON has no spaces, and the header is padded
// with spaces to a multiple of 8 bytes, as the reference implementation does.
// scripts/reference/st_format.py writes the same bytes from Python.
//
// Reading is strict: a header longer than MaxHeaderSize, a header that is not a
// JSON object of valid UTF-8, duplicate or unknown keys, an unknown dtype, a
// shape whose size does not match the data_offsets, offsets outside the data,
// gaps, overlaps or bytes after the last tensor are refused with a one-line
// error naming the offending tensor or value.
//
// This package imports the standard library only. It must not import GoMLX or
// any other optlab package, so that commands, tests and tools that only move
// weights around build without a backend, and so that GoMLX-facing code (which
// maps GoMLX variables to these tensors) depends on it and not the other way.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxHeaderSize is the largest JSON header accepted, in bytes (the reference
// implementation's limit, which protects readers from huge allocations).
const MaxHeaderSize = 100_000_000

// metadataKey is the header key of the free-form string metadata.
const metadataKey = "__metadata__"

// DType names an element type as the header spells it.
type DType string

// The element types of the format. New and Values handle F32, F64, I32 and
// I64; tensors of the other types are read and written as raw bytes.
const (
	Bool   DType = "BOOL"
	U8     DType = "U8"
	I8     DType = "I8"
	F8E5M2 DType = "F8_E5M2"
	F8E4M3 DType = "F8_E4M3"
	I16    DType = "I16"
	U16    DType = "U16"
	F16    DType = "F16"
	BF16   DType = "BF16"
	I32    DType = "I32"
	U32    DType = "U32"
	F32    DType = "F32"
	I64    DType = "I64"
	U64    DType = "U64"
	F64    DType = "F64"
)

var dtypeSizes = map[DType]int{
	Bool: 1, U8: 1, I8: 1, F8E5M2: 1, F8E4M3: 1,
	I16: 2, U16: 2, F16: 2, BF16: 2,
	I32: 4, U32: 4, F32: 4,
	I64: 8, U64: 8, F64: 8,
}

// Size returns the size of one element in bytes, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Tensor is one named entry of a file.
type Tensor struct {
	DType DType
	// Shape lists the dimensions, outermost first (row-major); empty for a scalar.
	Shape []int
	// Data holds the elements, little-endian, row-major. Tensors returned by
	// Decode share this slice with the decoded buffer.
	Data []byte
}

// Len returns the number of elements the shape describes (1 for a scalar).
func (t Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Number is an element type that New and Values convert.
type Number interface {
	float32 | float64 | int32 | int64
}

func dtypeOf[T Number]() DType {
	var z T
	switch any(z).(type) {
	case float32:
		return F32
	case float64:
		return F64
	case int32:
		return I32
	default:
		return I64
	}
}

// New returns a tensor of the given shape holding values (row-major) in the
// dtype that matches T. A length that does not match the shape is reported
// when the tensor is encoded.
func New[T Number](shape []int, values []T) Tensor {
	d := dtypeOf[T]()
	data := make([]byte, 0, len(values)*d.Size())
	le := binary.LittleEndian
	switch vs := any(values).(type) {
	case []float32:
		for _, x := range vs {
			data = le.AppendUint32(data, math.Float32bits(x))
		}
	case []float64:
		for _, x := range vs {
			data = le.AppendUint64(data, math.Float64bits(x))
		}
	case []int32:
		for _, x := range vs {
			data = le.AppendUint32(data, uint32(x))
		}
	case []int64:
		for _, x := range vs {
			data = le.AppendUint64(data, uint64(x))
		}
	}
	return Tensor{DType: d, Shape: slices.Clone(shape), Data: data}
}

// Values returns the elements of t as T, which must match t's dtype.
func Values[T Number](t Tensor) ([]T, error) {
	want := dtypeOf[T]()
	if t.DType != want {
		return nil, fmt.Errorf("safetensors: tensor is %s, not %s", t.DType, want)
	}
	size := want.Size()
	if len(t.Data)%size != 0 {
		return nil, fmt.Errorf("safetensors: %d bytes of data is not a whole number of %s elements", len(t.Data), want)
	}
	out := make([]T, len(t.Data)/size)
	b, le := t.Data, binary.LittleEndian
	switch o := any(out).(type) {
	case []float32:
		for i := range o {
			o[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
	case []float64:
		for i := range o {
			o[i] = math.Float64frombits(le.Uint64(b[8*i:]))
		}
	case []int32:
		for i := range o {
			o[i] = int32(le.Uint32(b[4*i:]))
		}
	case []int64:
		for i := range o {
			o[i] = int64(le.Uint64(b[8*i:]))
		}
	}
	return out, nil
}

// File is the content of a safetensors file.
type File struct {
	// Metadata is the header's "__metadata__" object (free-form strings);
	// Decode returns an empty map when there is none, and Encode writes none
	// for an empty map.
	Metadata map[string]string
	Tensors  map[string]Tensor
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	names := make([]string, 0, len(f.Tensors))
	for n := range f.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Tensor returns the tensor called name, or an error listing the names there are.
func (f *File) Tensor(name string) (Tensor, error) {
	t, ok := f.Tensors[name]
	if !ok {
		return Tensor{}, fmt.Errorf("safetensors: no tensor %q (have %s)", name, strings.Join(quoteAll(f.Names()), ", "))
	}
	return t, nil
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strconv.Quote(n)
	}
	return out
}

// Encode returns the file's bytes. It fails on a tensor whose dtype is unknown
// or whose data length does not match its shape, a tensor named
// "__metadata__", or a name or metadata string that is not valid UTF-8.
func (f *File) Encode() ([]byte, error) {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
	}
	if len(f.Metadata) > 0 {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		sep()
		hdr.WriteString(`"` + metadataKey + `":{`)
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(f.Metadata[k]) {
				return nil, fmt.Errorf("safetensors: metadata %q: key or value is not valid UTF-8", k)
			}
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeJSONString(&hdr, k)
			hdr.WriteByte(':')
			writeJSONString(&hdr, f.Metadata[k])
		}
		hdr.WriteByte('}')
	}
	names := f.Names()
	var offset uint64
	for _, name := range names {
		t := f.Tensors[name]
		if name == metadataKey {
			return nil, fmt.Errorf("safetensors: a tensor cannot be called %q", metadataKey)
		}
		if !utf8.ValidString(name) {
			return nil, fmt.Errorf("safetensors: tensor %q: name is not valid UTF-8", name)
		}
		size := t.DType.Size()
		if size == 0 {
			return nil, fmt.Errorf("safetensors: tensor %q: unknown dtype %q", name, t.DType)
		}
		n, err := byteSize(t.Shape, size)
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %v", name, err)
		}
		if n != uint64(len(t.Data)) {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v of %s needs %d bytes, has %d", name, t.Shape, t.DType, n, len(t.Data))
		}
		sep()
		writeJSONString(&hdr, name)
		fmt.Fprintf(&hdr, `:{"dtype":"%s","shape":[`, t.DType)
		for i, d := range t.Shape {
			if i > 0 {
				hdr.WriteByte(',')
			}
			hdr.WriteString(strconv.Itoa(d))
		}
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, offset, offset+n)
		offset += n
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	if hdr.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the limit of %d", hdr.Len(), MaxHeaderSize)
	}
	out := make([]byte, 0, 8+uint64(hdr.Len())+offset)
	out = binary.LittleEndian.AppendUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, name := range names {
		out = append(out, f.Tensors[name].Data...)
	}
	return out, nil
}

// writeJSONString writes s as a JSON string, leaving <, > and & and non-ASCII
// characters as they are (as Python's json.dumps with ensure_ascii=False does).
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// byteSize returns the number of bytes of a tensor of the given shape and
// element size, failing on negative dimensions and on overflow.
func byteSize(shape []int, elem int) (uint64, error) {
	n := uint64(elem)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("shape %v overflows the size of a file", shape)
		}
		n = lo
	}
	return n, nil
}

// WriteTo writes the file's bytes to w.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	b, err := f.Encode()
	if err != nil {
		return 0, err
	}
	n, err := w.Write(b)
	return int64(n), err
}

// WriteFile writes f to path atomically: to a temporary file in the same
// folder, synced, then renamed over path, so that a reader never sees half a
// file.
func WriteFile(path string, f *File) (err error) {
	b, err := f.Encode()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(b); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: writing %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// ReadFile reads and decodes the file at path.
func ReadFile(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return f, nil
}

// Read reads a whole file from r and decodes it. It checks the header length
// against MaxHeaderSize before reading the header.
func Read(r io.Reader) (*File, error) {
	var lenBuf [8]byte
	if n, err := io.ReadFull(r, lenBuf[:]); err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", n)
	} else if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	return Decode(append(lenBuf[:], rest...))
}

// Decode parses a whole file held in b. The tensors' Data share b's memory.
func Decode(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header length %d exceeds the limit of %d bytes", n, MaxHeaderSize)
	}
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file", n, len(b))
	}
	hdr, data := b[8:8+n], b[8+n:]
	if !utf8.Valid(hdr) {
		return nil, errors.New("safetensors: header is not valid UTF-8")
	}
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, errors.New("safetensors: header does not start with '{'")
	}
	entries, err := decodeObject(hdr, "header")
	if err != nil {
		return nil, err
	}
	f := &File{Metadata: map[string]string{}, Tensors: map[string]Tensor{}}
	type span struct {
		begin, end uint64
		name       string
	}
	var spans []span
	for _, e := range entries {
		if e.key == metadataKey {
			if f.Metadata, err = decodeMetadata(e.value); err != nil {
				return nil, err
			}
			continue
		}
		t, begin, end, err := decodeTensor(e.key, e.value, uint64(len(data)))
		if err != nil {
			return nil, err
		}
		t.Data = data[begin:end:end]
		f.Tensors[e.key] = t
		spans = append(spans, span{begin, end, e.key})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	var pos uint64
	prev := ""
	for _, s := range spans {
		switch {
		case s.begin > pos:
			return nil, fmt.Errorf("safetensors: tensor %q: data starts at byte %d, leaving a gap after byte %d", s.name, s.begin, pos)
		case s.begin < pos:
			return nil, fmt.Errorf("safetensors: tensor %q: data_offsets [%d, %d] overlap tensor %q, which ends at %d", s.name, s.begin, s.end, prev, pos)
		}
		pos, prev = s.end, s.name
	}
	if pos != uint64(len(data)) {
		return nil, fmt.Errorf("safetensors: %d bytes of data after the last tensor (data is %d bytes, tensors cover %d)", uint64(len(data))-pos, len(data), pos)
	}
	return f, nil
}

type entry struct {
	key   string
	value json.RawMessage
}

// decodeObject splits a JSON object into its entries, refusing duplicate keys
// and anything after the object but white space.
func decodeObject(b []byte, what string) ([]entry, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s is not valid JSON: %v", what, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("safetensors: %s is not a JSON object", what)
	}
	var out []entry
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("safetensors: %s is not valid JSON: %v", what, err)
		}
		key := tok.(string) // object keys are strings
		if seen[key] {
			return nil, fmt.Errorf("safetensors: %s: duplicate key %q", what, key)
		}
		seen[key] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("safetensors: %s: value of %q is not valid JSON: %v", what, key, err)
		}
		out = append(out, entry{key, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("safetensors: %s is not valid JSON: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("safetensors: %s: unexpected data after the JSON object", what)
	}
	return out, nil
}

func decodeMetadata(v json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	if string(v) == "null" {
		return out, nil
	}
	if len(v) == 0 || v[0] != '{' {
		return nil, fmt.Errorf("safetensors: %s is not a JSON object", metadataKey)
	}
	entries, err := decodeObject(v, metadataKey)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		var s string
		if len(e.value) == 0 || e.value[0] != '"' || json.Unmarshal(e.value, &s) != nil {
			return nil, fmt.Errorf("safetensors: %s: value of %q is %s, not a string", metadataKey, e.key, clip(e.value))
		}
		out[e.key] = s
	}
	return out, nil
}

// decodeTensor parses one tensor's header entry and checks it against a data
// section of dataLen bytes.
func decodeTensor(name string, v json.RawMessage, dataLen uint64) (t Tensor, begin, end uint64, err error) {
	fail := func(format string, args ...any) (Tensor, uint64, uint64, error) {
		return Tensor{}, 0, 0, fmt.Errorf("safetensors: tensor %q: "+format, append([]any{name}, args...)...)
	}
	if len(v) == 0 || v[0] != '{' {
		return fail("entry is %s, not a JSON object", clip(v))
	}
	entries, err := decodeObject(v, fmt.Sprintf("tensor %q", name))
	if err != nil {
		return Tensor{}, 0, 0, err
	}
	var dtype, shape, offsets json.RawMessage
	for _, e := range entries {
		switch e.key {
		case "dtype":
			dtype = e.value
		case "shape":
			shape = e.value
		case "data_offsets":
			offsets = e.value
		default:
			return fail("unknown key %q (want dtype, shape, data_offsets)", e.key)
		}
	}
	switch {
	case dtype == nil:
		return fail(`missing "dtype"`)
	case shape == nil:
		return fail(`missing "shape"`)
	case offsets == nil:
		return fail(`missing "data_offsets"`)
	}
	var ds string
	if dtype[0] != '"' || json.Unmarshal(dtype, &ds) != nil {
		return fail("dtype %s is not a string", clip(dtype))
	}
	t.DType = DType(ds)
	if t.DType.Size() == 0 {
		return fail("unknown dtype %q", ds)
	}
	dims, err := uints(shape)
	if err != nil {
		return fail("shape %s: %v", clip(shape), err)
	}
	t.Shape = make([]int, len(dims))
	for i, d := range dims {
		if d > uint64(math.MaxInt) {
			return fail("shape %s: dimension %d is too large", clip(shape), d)
		}
		t.Shape[i] = int(d)
	}
	offs, err := uints(offsets)
	if err != nil || len(offs) != 2 {
		return fail("data_offsets %s: want [begin, end], two non-negative integers", clip(offsets))
	}
	begin, end = offs[0], offs[1]
	if begin > end || end > dataLen {
		return fail("data_offsets [%d, %d] are outside the %d bytes of data", begin, end, dataLen)
	}
	size, err := byteSize(t.Shape, t.DType.Size())
	if err != nil {
		return fail("%v", err)
	}
	if end-begin != size {
		return fail("data_offsets [%d, %d] hold %d bytes, shape %v of %s needs %d", begin, end, end-begin, t.Shape, t.DType, size)
	}
	return t, begin, end, nil
}

// uints parses a JSON array of non-negative integers written as plain digits
// (no sign, fraction, exponent or quotes).
func uints(v json.RawMessage) ([]uint64, error) {
	var elems []json.RawMessage
	if len(v) == 0 || v[0] != '[' || json.Unmarshal(v, &elems) != nil {
		return nil, errors.New("not an array of integers")
	}
	out := make([]uint64, len(elems))
	for i, e := range elems {
		u, err := strconv.ParseUint(string(e), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s is not a non-negative integer that fits 64 bits", clip(e))
		}
		out[i] = u
	}
	return out, nil
}

// clip shortens a JSON value for an error message.
func clip(v json.RawMessage) string {
	r := []rune(string(v))
	if len(r) > 40 {
		return strconv.Quote(string(r[:40]) + "…")
	}
	return strconv.Quote(string(v))
}
