// Package jsonfloat lets JSON hold the float64 values it has no spelling for.
// encoding/json refuses NaN and ±Inf ("json: unsupported value: NaN"), so a
// diverged training run, whose losses are NaN, could not be written at all.
// Float, Marshal and Unmarshal write such values as the strings "NaN", "+Inf"
// and "-Inf" (Go's own spelling, which strconv.ParseFloat, Python's float()
// and pandas read back) and leave every finite value a JSON number, byte for
// byte as encoding/json writes it.
//
// Marshal and Unmarshal work on any struct by mirroring its type with
// reflection, so a struct's MarshalJSON can be one line and fields added to
// it later are covered without a change here. The standard library has no
// option for this, hence the hand-written code.
//
// It imports only the standard library.
package jsonfloat

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
)

// Float is a float64 whose JSON form is a number when finite and one of the
// strings "NaN", "+Inf" or "-Inf" otherwise.
type Float float64

// MarshalJSON writes f as encoding/json writes a float64, or as a string
// when f is NaN or infinite.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.AppendQuote(nil, strconv.FormatFloat(v, 'g', -1, 64)), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads a number, a string that strconv.ParseFloat accepts
// ("NaN", "+Inf", "-Inf", "Infinity", "1e-3", ...) or null (which leaves f
// unchanged, as encoding/json does).
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("jsonfloat: %q is not a number", s)
		}
		*f = Float(v)
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

var (
	float64Type     = reflect.TypeFor[float64]()
	floatType       = reflect.TypeFor[Float]()
	marshalerType   = reflect.TypeFor[json.Marshaler]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// mirror returns t with every float64 in it (fields, slice elements, pointed-to
// values, nested structs) replaced by Float, and whether anything changed.
// Types with their own JSON methods are left alone, and so are the
// unexported fields of structs (JSON ignores them; the mirror drops them).
func mirror(t reflect.Type) (reflect.Type, bool) {
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return t, false
	}
	switch t.Kind() {
	case reflect.Float64:
		return floatType, true
	case reflect.Slice:
		if e, ok := mirror(t.Elem()); ok {
			return reflect.SliceOf(e), true
		}
	case reflect.Pointer:
		if e, ok := mirror(t.Elem()); ok {
			return reflect.PointerTo(e), true
		}
	case reflect.Struct:
		var fields []reflect.StructField
		changed := false
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				changed = true
				continue
			}
			if m, ok := mirror(f.Type); ok {
				f.Type, changed = m, true
			}
			f.Index, f.Offset = nil, 0
			fields = append(fields, f)
		}
		if changed {
			return reflect.StructOf(fields), true
		}
	}
	return t, false
}

// convert copies src into dst, where one's type is the other's mirror.
func convert(dst, src reflect.Value) {
	if dst.Type() == src.Type() {
		dst.Set(src)
		return
	}
	switch src.Kind() {
	case reflect.Float64:
		dst.SetFloat(src.Float())
	case reflect.Slice:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		dst.Set(reflect.MakeSlice(dst.Type(), src.Len(), src.Len()))
		for i := 0; i < src.Len(); i++ {
			convert(dst.Index(i), src.Index(i))
		}
	case reflect.Pointer:
		if src.IsNil() {
			dst.SetZero()
			return
		}
		dst.Set(reflect.New(dst.Type().Elem()))
		convert(dst.Elem(), src.Elem())
	case reflect.Struct:
		// The mirror holds the exported fields in order; the other side may
		// have unexported ones in between.
		full, m := src, dst
		if dst.NumField() > src.NumField() {
			full, m = dst, src
		}
		j := 0
		for i := 0; i < full.NumField(); i++ {
			if !full.Type().Field(i).IsExported() {
				continue
			}
			if full == src {
				convert(m.Field(j), full.Field(i))
			} else {
				convert(full.Field(i), m.Field(j))
			}
			j++
		}
	default:
		dst.Set(src)
	}
}

// Marshal returns the JSON encoding of v as json.Marshal does, except that
// its non-finite float64 values are strings (see Float). v's type must not
// call Marshal from its own MarshalJSON (pass a method-less copy of it).
func Marshal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return json.Marshal(v)
	}
	m, ok := mirror(rv.Type())
	if !ok {
		return json.Marshal(v)
	}
	mv := reflect.New(m).Elem()
	convert(mv, rv)
	return json.Marshal(mv.Interface())
}

// Unmarshal decodes data into v (a non-nil pointer) as json.Unmarshal does,
// also accepting the strings Marshal writes for non-finite values. The same
// restriction as Marshal's applies to v's UnmarshalJSON.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return json.Unmarshal(data, v)
	}
	m, ok := mirror(rv.Elem().Type())
	if !ok {
		return json.Unmarshal(data, v)
	}
	mv := reflect.New(m)
	convert(mv.Elem(), rv.Elem()) // keep what data does not mention, as json.Unmarshal does
	if err := json.Unmarshal(data, mv.Interface()); err != nil {
		return err
	}
	convert(rv.Elem(), mv.Elem())
	return nil
}
