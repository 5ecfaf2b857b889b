package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// raw builds a file from a header string and a data section, without padding.
func raw(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestDecodeRefuses(t *testing.T) {
	data8 := make([]byte, 8)
	data12 := make([]byte, 12)
	hugeHeader := binary.LittleEndian.AppendUint64(nil, MaxHeaderSize+1)
	cases := []struct {
		name string
		file []byte
		want string // substring of the error
	}{
		{"too short", []byte{1, 2, 3}, "file is 3 bytes, shorter than the 8-byte header length"},
		{"header over the limit", append(hugeHeader, "{}"...), "header length 100000001 exceeds the limit of 100000000 bytes"},
		{"header past the end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), "header length 100 runs past the end of the 10-byte file"},
		{"not an object", raw(`[1]`, nil), "header does not start with '{'"},
		{"empty header", raw(``, nil), "header does not start with '{'"},
		{"invalid JSON", raw(`{"a":`, nil), "header: value of \"a\" is not valid JSON"},
		{"invalid UTF-8", raw("{\"\xff\":1}", nil), "header is not valid UTF-8"},
		{"trailing JSON", raw(`{} {}`, nil), "header: unexpected data after the JSON object"},
		{"duplicate tensor", raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data8),
			`header: duplicate key "a"`},
		{"entry not an object", raw(`{"w":5}`, nil), `tensor "w": entry is "5", not a JSON object`},
		{"unknown dtype", raw(`{"w":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, data8), `tensor "w": unknown dtype "F33"`},
		{"dtype not a string", raw(`{"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, data8), `tensor "w": dtype "4" is not a string`},
		{"unknown key", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}}`, data8),
			`tensor "w": unknown key "extra" (want dtype, shape, data_offsets)`},
		{"duplicate key in a tensor", raw(`{"w":{"dtype":"F32","dtype":"F64","shape":[2],"data_offsets":[0,8]}}`, data8), `tensor "w": duplicate key "dtype"`},
		{"missing data_offsets", raw(`{"w":{"dtype":"F32","shape":[2]}}`, data8), `tensor "w": missing "data_offsets"`},
		{"missing shape", raw(`{"w":{"dtype":"F32","data_offsets":[0,8]}}`, data8), `tensor "w": missing "shape"`},
		{"negative dimension", raw(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, data8), `tensor "w": shape "[-2]": "-2" is not a non-negative integer`},
		{"fractional dimension", raw(`{"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, data8), `"2.0" is not a non-negative integer`},
		{"quoted dimension", raw(`{"w":{"dtype":"F32","shape":["2"],"data_offsets":[0,8]}}`, data8), `is not a non-negative integer`},
		{"shape not an array", raw(`{"w":{"dtype":"F32","shape":2,"data_offsets":[0,8]}}`, data8), `tensor "w": shape "2": not an array of integers`},
		{"three offsets", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, data8), `tensor "w": data_offsets "[0,4,8]": want [begin, end]`},
		{"offsets past the data", raw(`{"w":{"dtype":"F32","shape":[25],"data_offsets":[0,100]}}`, data8),
			`tensor "w": data_offsets [0, 100] are outside the 8 bytes of data`},
		{"offsets reversed", raw(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, data8), `tensor "w": data_offsets [8, 0] are outside`},
		{"size mismatch", raw(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data8),
			`tensor "w": data_offsets [0, 8] hold 8 bytes, shape [3] of F32 needs 12`},
		{"size overflow", raw(`{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}}`, data8), `tensor "w": shape [4294967296 4294967296 4294967296] overflows`},
		{"overlap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, data12),
			`tensor "b": data_offsets [4, 12] overlap tensor "a", which ends at 8`},
		{"same offsets twice", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}}`, data8),
			`overlap tensor`},
		{"gap", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, data12), `tensor "a": data starts at byte 4, leaving a gap after byte 0`},
		{"bytes after the last tensor", raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, data12),
			`4 bytes of data after the last tensor (data is 12 bytes, tensors cover 8)`},
		{"data without tensors", raw(`{}`, data8), `8 bytes of data after the last tensor`},
		{"metadata value not a string", raw(`{"__metadata__":{"k":1}}`, nil), `__metadata__: value of "k" is "1", not a string`},
		{"metadata not an object", raw(`{"__metadata__":[1]}`, nil), `__metadata__ is not a JSON object`},
		{"name with a newline", raw("{\"a\\nb\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data8), `tensor "a\nb": data_offsets [0, 8] hold 8 bytes`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.file)
			if err == nil {
				t.Fatalf("Decode accepted the file")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q\ndoes not contain %q", msg, c.want)
			}
			if !strings.HasPrefix(msg, "safetensors: ") || strings.ContainsAny(msg, "\n\r") {
				t.Errorf("error %q is not one line starting with \"safetensors: \"", msg)
			}
			_, rerr := Read(bytes.NewReader(c.file))
			if rerr == nil || rerr.Error() != msg {
				t.Errorf("Read returned %v, Decode %v", rerr, err)
			}
		})
	}
}

func TestDecodeAccepts(t *testing.T) {
	cases := []struct {
		name     string
		file     []byte
		names    []string
		metadata map[string]string
	}{
		{"no tensors", raw(`{}`, nil), nil, map[string]string{}},
		{"padded header", raw(`{}      `, nil), nil, map[string]string{}},
		{"null metadata", raw(`{"__metadata__":null}`, nil), nil, map[string]string{}},
		{"metadata only", raw(`{"__metadata__":{"a":"b"}}`, nil), nil, map[string]string{"a": "b"}},
		{"empty tensor sharing an offset", raw(`{"e":{"dtype":"F64","shape":[0,3],"data_offsets":[0,0]},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)),
			[]string{"e", "w"}, map[string]string{}},
		{"scalar, offsets in any order", raw(`{"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, make([]byte, 12)),
			[]string{"a", "b"}, map[string]string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Decode(c.file)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Names(); !reflect.DeepEqual(got, c.names) && len(got)+len(c.names) > 0 {
				t.Errorf("names %v, want %v", got, c.names)
			}
			if !reflect.DeepEqual(f.Metadata, c.metadata) {
				t.Errorf("metadata %v, want %v", f.Metadata, c.metadata)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc00001)
	f := &File{
		Metadata: map[string]string{"format": "pt", "note": "<&> ünïcode \"quoted\""},
		Tensors: map[string]Tensor{
			"f32":    New([]int{2, 3}, []float32{1.5, float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32, float32(math.Inf(1)), nan}),
			"f64":    New([]int{}, []float64{math.Pi}),
			"i32":    New([]int{3}, []int32{math.MinInt32, -1, math.MaxInt32}),
			"i64":    New([]int{1, 2}, []int64{math.MinInt64, math.MaxInt64}),
			"empty":  New([]int{0, 4}, []float32{}),
			"raw.u8": {DType: U8, Shape: []int{3}, Data: []byte{1, 2, 255}},
		},
	}
	b, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(b); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Metadata, f.Metadata) {
		t.Errorf("metadata %v, want %v", back.Metadata, f.Metadata)
	}
	for name, want := range f.Tensors {
		got := back.Tensors[name]
		if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) || !bytes.Equal(got.Data, want.Data) {
			t.Errorf("%s: got %s %v %x, want %s %v %x", name, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
		}
	}
	i64, err := Values[int64](back.Tensors["i64"])
	if err != nil || !reflect.DeepEqual(i64, []int64{math.MinInt64, math.MaxInt64}) {
		t.Errorf("Values[int64] = %v, %v", i64, err)
	}
	f32, err := Values[float32](back.Tensors["f32"])
	if err != nil || math.Float32bits(f32[5]) != 0x7fc00001 || math.Float32bits(f32[1]) != 0x80000000 {
		t.Errorf("Values[float32] = %v, %v (NaN payload or -0 lost)", f32, err)
	}
	if _, err := Values[float64](back.Tensors["f32"]); err == nil || err.Error() != "safetensors: tensor is F32, not F64" {
		t.Errorf("Values of the wrong type: %v", err)
	}
	again, err := back.Encode()
	if err != nil || !bytes.Equal(again, b) {
		t.Errorf("re-encoding the decoded file changed its bytes (err %v)", err)
	}
}

// The bytes depend only on the content, not on how the maps were filled.
func TestEncodeIsDeterministic(t *testing.T) {
	mk := func(order []string) *File {
		f := &File{Metadata: map[string]string{}, Tensors: map[string]Tensor{}}
		for _, n := range order {
			f.Tensors[n] = New([]int{1}, []float32{float32(len(n))})
			f.Metadata["k"+n] = n
		}
		return f
	}
	a, err := mk([]string{"b", "a", "ccc", "dd"}).Encode()
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		b, _ := mk([]string{"dd", "ccc", "a", "b"}).Encode()
		if !bytes.Equal(a, b) {
			t.Fatal("the same content encoded to different bytes")
		}
	}
	f := &File{Tensors: map[string]Tensor{"w": New([]int{2}, []float32{1, 2}), "a": New([]int{}, []int32{7})}}
	b, _ := f.Encode()
	n := binary.LittleEndian.Uint64(b)
	const want = `{"a":{"dtype":"I32","shape":[],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	if got := string(b[8 : 8+n]); strings.TrimRight(got, " ") != want || len(got)%8 != 0 {
		t.Errorf("header %q, want %q padded to a multiple of 8", got, want)
	}
}

func TestEncodeRefuses(t *testing.T) {
	cases := []struct {
		name string
		f    File
		want string
	}{
		{"unknown dtype", File{Tensors: map[string]Tensor{"w": {DType: "F33", Shape: []int{1}, Data: make([]byte, 4)}}}, `tensor "w": unknown dtype "F33"`},
		{"short data", File{Tensors: map[string]Tensor{"w": New([]int{2, 3}, []float32{1, 2})}}, `tensor "w": shape [2 3] of F32 needs 24 bytes, has 8`},
		{"negative dimension", File{Tensors: map[string]Tensor{"w": {DType: F32, Shape: []int{-1}}}}, `tensor "w": negative dimension in shape [-1]`},
		{"reserved name", File{Tensors: map[string]Tensor{"__metadata__": New([]int{1}, []float32{1})}}, `a tensor cannot be called "__metadata__"`},
		{"invalid UTF-8 name", File{Tensors: map[string]Tensor{"\xff": New([]int{1}, []float32{1})}}, `tensor "\xff": name is not valid UTF-8`},
		{"invalid UTF-8 metadata", File{Metadata: map[string]string{"k": "\xfe"}}, `metadata "k": key or value is not valid UTF-8`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.f.Encode()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			path := filepath.Join(t.TempDir(), "w.safetensors")
			if err := WriteFile(path, &c.f); err == nil {
				t.Fatal("WriteFile accepted it")
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 0 {
				t.Errorf("WriteFile left %d files behind", len(entries))
			}
		})
	}
}

func TestWriteFileReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	f := &File{Tensors: map[string]Tensor{"w": New([]int{2}, []float64{1, 2})}}
	for range 2 { // the second write replaces the first
		if err := WriteFile(path, f); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d files in the folder, want 1", len(entries))
	}
	back, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := Values[float64](back.Tensors["w"]); !reflect.DeepEqual(v, []float64{1, 2}) {
		t.Errorf("read back %v", v)
	}
	if err := os.WriteFile(path, []byte{1}, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v does not name the file", err)
	}
}

// description is what scripts/reference/gen_safetensors_fixture.py writes and
// dumps: per tensor the dtype, shape and elements as bit patterns (floats as
// their IEEE-754 bits, integers as themselves).
type description struct {
	Metadata map[string]string `json:"metadata"`
	Tensors  map[string]struct {
		DType DType         `json:"dtype"`
		Shape []int         `json:"shape"`
		Bits  []json.Number `json:"bits"`
	} `json:"tensors"`
}

func describe(t *testing.T, f *File) description {
	t.Helper()
	var d description
	d.Metadata = f.Metadata
	js := map[string]any{}
	for name, tn := range f.Tensors {
		var bits []string
		le := binary.LittleEndian
		size := tn.DType.Size()
		for i := 0; i+size <= len(tn.Data); i += size {
			b := tn.Data[i:]
			switch tn.DType {
			case F32:
				bits = append(bits, strconv.FormatUint(uint64(le.Uint32(b)), 10))
			case F64:
				bits = append(bits, strconv.FormatUint(le.Uint64(b), 10))
			case I32:
				bits = append(bits, strconv.FormatInt(int64(int32(le.Uint32(b))), 10))
			case I64:
				bits = append(bits, strconv.FormatInt(int64(le.Uint64(b)), 10))
			default:
				t.Fatalf("describe: %s not handled", tn.DType)
			}
		}
		nums := make([]json.Number, len(bits))
		for i, s := range bits {
			nums[i] = json.Number(s)
		}
		js[name] = map[string]any{"dtype": tn.DType, "shape": tn.Shape, "bits": nums}
	}
	b, _ := json.Marshal(map[string]any{"metadata": f.Metadata, "tensors": js})
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func readDescription(t *testing.T, b []byte) description {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var d description
	if err := dec.Decode(&d); err != nil {
		t.Fatal(err)
	}
	for name, tn := range d.Tensors {
		if tn.Shape == nil {
			tn.Shape = []int{}
			d.Tensors[name] = tn
		}
	}
	return d
}

func normalize(d description) description {
	for name, tn := range d.Tensors {
		if len(tn.Shape) == 0 {
			tn.Shape = []int{}
		}
		if len(tn.Bits) == 0 {
			tn.Bits = nil
		}
		d.Tensors[name] = tn
	}
	return d
}

// A file written by Python (struct + json + NumPy) decodes to the values the
// script recorded, bit for bit, and Go writes the same bytes back.
func TestReadsPythonFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "python.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(filepath.Join("testdata", "python.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, want := normalize(describe(t, f)), normalize(readDescription(t, js))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	again, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, b) {
		t.Errorf("Go's encoding of the Python file differs from it:\n%q\n%q", again, b)
	}
}

// The strict Python reader (scripts/reference/st_format.py) reads a file
// written by Go. Skipped where Debian's python3 with NumPy is missing.
func TestPythonReadsGoFile(t *testing.T) {
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		t.Skipf("%s with NumPy is not available (%v): apt-get install python3-numpy", python, err)
	}
	f := &File{
		Metadata: map[string]string{"written_by": "optlab/safetensors", "ö": "<&>"},
		Tensors: map[string]Tensor{
			"conv1.weight": New([]int{2, 1, 2, 2}, []float32{0.25, -1, 3e-40, 7, 8, 9, 10, float32(math.Inf(-1))}),
			"scale":        New([]int{}, []float64{-math.MaxFloat64}),
			"labels":       New([]int{2}, []int32{-7, 9}),
			"counts":       New([]int{2, 1}, []int64{1 << 40, -(1 << 50)}),
			"none":         New([]int{3, 0}, []float64{}),
		},
	}
	path := filepath.Join(t.TempDir(), "go.safetensors")
	if err := WriteFile(path, f); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("..", "..", "scripts", "reference", "gen_safetensors_fixture.py")
	out, err := exec.Command(python, script, "--dump", path).Output()
	if err != nil {
		t.Fatalf("%s --dump: %v", script, err)
	}
	got, want := normalize(readDescription(t, out)), normalize(describe(t, f))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Python read\n%+v\nwant\n%+v", got, want)
	}
}

// The step-conformance initial weights, written by
// scripts/reference/gen_step_goldens.py, decode and re-encode to the same bytes.
func TestReadsStepInitFiles(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("..", "models", "testdata", "step_init_*.safetensors"))
	if len(paths) == 0 {
		t.Skip("no step_init_*.safetensors in optlab/models/testdata")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range f.Names() {
			if f.Tensors[name].DType != F32 {
				t.Errorf("%s: %s is %s, want F32", p, name, f.Tensors[name].DType)
			}
		}
		if again, err := f.Encode(); err != nil || !bytes.Equal(again, b) {
			t.Errorf("%s: re-encoding changed the bytes (err %v)", p, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "python.safetensors")); err == nil {
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(b[:60])
	}
	f.Add(raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"k":"v"}}`, make([]byte, 8)))
	f.Add(raw(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}`, make([]byte, 16)))
	f.Add(raw(`{}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Decode(b)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "safetensors: ") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("error %q is not one line starting with \"safetensors: \"", msg)
			}
			return
		}
		enc, err := file.Encode()
		if err != nil {
			t.Fatalf("a decoded file does not encode: %v", err)
		}
		back, err := Decode(enc)
		if err != nil {
			t.Fatalf("the encoding of a decoded file does not decode: %v", err)
		}
		if !reflect.DeepEqual(back.Metadata, file.Metadata) || !reflect.DeepEqual(back.Names(), file.Names()) {
			t.Fatalf("round trip changed the names or metadata")
		}
		for name, tn := range file.Tensors {
			bt := back.Tensors[name]
			if bt.DType != tn.DType || !reflect.DeepEqual(bt.Shape, tn.Shape) || !bytes.Equal(bt.Data, tn.Data) {
				t.Fatalf("round trip changed tensor %q", name)
			}
		}
		if again, _ := back.Encode(); !bytes.Equal(again, enc) {
			t.Fatal("encoding is not canonical: encode(decode(encode(x))) != encode(x)")
		}
	})
}
