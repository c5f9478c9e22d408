package gguf

import (
	"fmt"
	"math"
	"slices"
	"strconv"
)

// A KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Value is a metadata value: one of the 13 GGUF value types. It wraps a Go
// value of the corresponding type:
//
//	UINT8 uint8     INT8 int8     UINT16 uint16   INT16 int16
//	UINT32 uint32   INT32 int32   UINT64 uint64   INT64 int64
//	FLOAT32 float32 FLOAT64 float64 BOOL bool     STRING string
//
// An ARRAY wraps a typed slice of one of those Go types ([]uint8 ...
// []string), so that large arrays such as a tokenizer's vocabulary cost no
// more than a plain slice; an array of arrays wraps a []Value whose elements
// are themselves arrays (each may have its own element type).
//
// The zero Value is invalid: [Value.IsValid] reports false and [Write]
// rejects it. Values are built with [ValueOf] or the KV constructors
// ([Uint32], [StringArray], [Array] ...), and read with the As methods or
// the File accessors ([File.String], [File.Uint] ...).
type Value struct {
	x any
}

// ValueOf returns the Value wrapping x, which must be one of the Go types
// listed for [Value] (a typed slice for an array, []Value for an array of
// arrays). Slices are copied.
func ValueOf(x any) (Value, error) {
	v := Value{x: cloneSlice(x)}
	if err := v.check(0); err != nil {
		return Value{}, err
	}
	return v, nil
}

// MustValue is like [ValueOf] but panics if x is not a valid value.
func MustValue(x any) Value {
	v, err := ValueOf(x)
	if err != nil {
		panic(err)
	}
	return v
}

func cloneSlice(x any) any {
	switch s := x.(type) {
	case []uint8:
		return slices.Clone(s)
	case []int8:
		return slices.Clone(s)
	case []uint16:
		return slices.Clone(s)
	case []int16:
		return slices.Clone(s)
	case []uint32:
		return slices.Clone(s)
	case []int32:
		return slices.Clone(s)
	case []float32:
		return slices.Clone(s)
	case []bool:
		return slices.Clone(s)
	case []string:
		return slices.Clone(s)
	case []uint64:
		return slices.Clone(s)
	case []int64:
		return slices.Clone(s)
	case []float64:
		return slices.Clone(s)
	case []Value:
		return slices.Clone(s)
	}
	return x
}

// check validates v for writing: a known Go type, arrays of arrays holding
// only arrays, nesting no deeper than MaxArrayDepth. UTF-8 is checked by the
// writer.
func (v Value) check(depth int) error {
	if v.Type() == typeInvalid {
		if v.x == nil {
			return fmt.Errorf("invalid (zero) Value")
		}
		return fmt.Errorf("Go type %T is not a GGUF value type", v.x)
	}
	vs, ok := v.x.([]Value)
	if !ok {
		return nil
	}
	// depth counts the arrays enclosing v; v's elements are arrays at
	// nesting level depth+2.
	if depth+2 > MaxArrayDepth {
		return fmt.Errorf("arrays nested more than %d deep", MaxArrayDepth)
	}
	for i, e := range vs {
		if e.Type() != TypeArray {
			return fmt.Errorf("element %d of an array of arrays is %s, want ARRAY", i, e.Type())
		}
		if err := e.check(depth + 1); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	return nil
}

// IsValid reports whether v holds a value (it is not the zero Value).
func (v Value) IsValid() bool { return v.Type() != typeInvalid }

// Type returns the GGUF type of v. The zero Value (or one wrapping a Go type
// that is not a GGUF type) has an invalid type, whose String is "invalid".
func (v Value) Type() ValueType {
	switch v.x.(type) {
	case uint8:
		return TypeUint8
	case int8:
		return TypeInt8
	case uint16:
		return TypeUint16
	case int16:
		return TypeInt16
	case uint32:
		return TypeUint32
	case int32:
		return TypeInt32
	case float32:
		return TypeFloat32
	case bool:
		return TypeBool
	case string:
		return TypeString
	case uint64:
		return TypeUint64
	case int64:
		return TypeInt64
	case float64:
		return TypeFloat64
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32,
		[]bool, []string, []uint64, []int64, []float64, []Value:
		return TypeArray
	}
	return typeInvalid
}

// ElemType returns the element type of an array (ARRAY for an array of
// arrays), or an invalid type if v is not an array.
func (v Value) ElemType() ValueType {
	switch v.x.(type) {
	case []uint8:
		return TypeUint8
	case []int8:
		return TypeInt8
	case []uint16:
		return TypeUint16
	case []int16:
		return TypeInt16
	case []uint32:
		return TypeUint32
	case []int32:
		return TypeInt32
	case []float32:
		return TypeFloat32
	case []bool:
		return TypeBool
	case []string:
		return TypeString
	case []uint64:
		return TypeUint64
	case []int64:
		return TypeInt64
	case []float64:
		return TypeFloat64
	case []Value:
		return TypeArray
	}
	return typeInvalid
}

// typeName describes v's type for messages: "UINT32", "ARRAY[STRING]".
func (v Value) typeName() string {
	if t := v.Type(); t != TypeArray {
		return t.String()
	}
	return "ARRAY[" + v.ElemType().String() + "]"
}

// Len returns the number of elements of an array, 0 for other values.
func (v Value) Len() int {
	switch s := v.x.(type) {
	case []uint8:
		return len(s)
	case []int8:
		return len(s)
	case []uint16:
		return len(s)
	case []int16:
		return len(s)
	case []uint32:
		return len(s)
	case []int32:
		return len(s)
	case []float32:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	case []uint64:
		return len(s)
	case []int64:
		return len(s)
	case []float64:
		return len(s)
	case []Value:
		return len(s)
	}
	return 0
}

// Index returns element i of an array as a Value. It panics if v is not an
// array or i is out of range.
func (v Value) Index(i int) Value {
	switch s := v.x.(type) {
	case []uint8:
		return Value{s[i]}
	case []int8:
		return Value{s[i]}
	case []uint16:
		return Value{s[i]}
	case []int16:
		return Value{s[i]}
	case []uint32:
		return Value{s[i]}
	case []int32:
		return Value{s[i]}
	case []float32:
		return Value{s[i]}
	case []bool:
		return Value{s[i]}
	case []string:
		return Value{s[i]}
	case []uint64:
		return Value{s[i]}
	case []int64:
		return Value{s[i]}
	case []float64:
		return Value{s[i]}
	case []Value:
		return s[i]
	}
	panic("gguf: Index of a non-array " + v.typeName() + " Value")
}

// Interface returns the Go value wrapped by v (see [Value]); nil for the
// zero Value. Slices are shared with v and must not be modified.
func (v Value) Interface() any { return v.x }

// String formats v for display, as fmt.Sprint formats the wrapped Go value.
// Use [Value.AsString] to get the contents of a STRING.
func (v Value) String() string {
	if v.x == nil {
		return "<invalid>"
	}
	return fmt.Sprint(v.x)
}

// AsString returns the contents of a STRING value.
func (v Value) AsString() (string, error) {
	if s, ok := v.x.(string); ok {
		return s, nil
	}
	return "", v.typeErr("STRING", "")
}

// AsBool returns the value of a BOOL.
func (v Value) AsBool() (bool, error) {
	if b, ok := v.x.(bool); ok {
		return b, nil
	}
	return false, v.typeErr("BOOL", "")
}

// AsUint returns the value of any unsigned integer type, or of a signed
// integer type holding a non-negative value.
func (v Value) AsUint() (uint64, error) {
	const want = "an unsigned or non-negative integer"
	if u, ok := uintOf(v.x); ok {
		return u, nil
	}
	if i, ok := intOf(v.x); ok {
		if i < 0 {
			return 0, v.typeErr(want, "value "+strconv.FormatInt(i, 10)+" is negative")
		}
		return uint64(i), nil
	}
	return 0, v.typeErr(want, "")
}

// AsInt returns the value of any integer type; a UINT64 above MaxInt64 is
// an error.
func (v Value) AsInt() (int64, error) {
	const want = "an integer"
	if i, ok := intOf(v.x); ok {
		return i, nil
	}
	if u, ok := uintOf(v.x); ok {
		if u > math.MaxInt64 {
			return 0, v.typeErr(want, "value "+strconv.FormatUint(u, 10)+" overflows int64")
		}
		return int64(u), nil
	}
	return 0, v.typeErr(want, "")
}

// AsFloat returns the value of a FLOAT32, FLOAT64 or any integer type
// (integers beyond 2^53 are rounded).
func (v Value) AsFloat() (float64, error) {
	switch x := v.x.(type) {
	case float32:
		return float64(x), nil
	case float64:
		return x, nil
	}
	if i, ok := intOf(v.x); ok {
		return float64(i), nil
	}
	if u, ok := uintOf(v.x); ok {
		return float64(u), nil
	}
	return 0, v.typeErr("a number", "")
}

// AsStrings returns the elements of an ARRAY of STRING. The slice is shared
// with v and must not be modified.
func (v Value) AsStrings() ([]string, error) {
	if s, ok := v.x.([]string); ok {
		return s, nil
	}
	return nil, v.typeErr("ARRAY[STRING]", "")
}

// AsFloat32s returns the elements of an ARRAY of FLOAT32 (shared with v: do
// not modify), or a fresh conversion of an ARRAY of FLOAT64 or of any
// integer type.
func (v Value) AsFloat32s() ([]float32, error) {
	if s, ok := v.x.([]float32); ok {
		return s, nil
	}
	if s, ok := v.x.([]float64); ok {
		out := make([]float32, len(s))
		for i, x := range s {
			out[i] = float32(x)
		}
		return out, nil
	}
	if v.Type() == TypeArray && isIntType(v.ElemType()) {
		out := make([]float32, v.Len())
		for i := range out {
			f, _ := v.Index(i).AsFloat()
			out[i] = float32(f)
		}
		return out, nil
	}
	return nil, v.typeErr("an ARRAY of FLOAT32, FLOAT64 or integers", "")
}

// AsInts returns the elements of an ARRAY of any integer type as int64 (a
// fresh slice). A UINT64 element above MaxInt64 is an error.
func (v Value) AsInts() ([]int64, error) {
	const want = "an ARRAY of integers"
	if v.Type() != TypeArray || !isIntType(v.ElemType()) {
		return nil, v.typeErr(want, "")
	}
	if s, ok := v.x.([]int64); ok {
		return slices.Clone(s), nil
	}
	out := make([]int64, v.Len())
	for i := range out {
		n, err := v.Index(i).AsInt()
		if err != nil {
			return nil, v.typeErr(want, "element "+strconv.Itoa(i)+": "+err.(*KeyError).Msg)
		}
		out[i] = n
	}
	return out, nil
}

func isIntType(t ValueType) bool {
	switch t {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

func uintOf(x any) (uint64, bool) {
	switch u := x.(type) {
	case uint8:
		return uint64(u), true
	case uint16:
		return uint64(u), true
	case uint32:
		return uint64(u), true
	case uint64:
		return u, true
	}
	return 0, false
}

func intOf(x any) (int64, bool) {
	switch i := x.(type) {
	case int8:
		return int64(i), true
	case int16:
		return int64(i), true
	case int32:
		return int64(i), true
	case int64:
		return i, true
	}
	return 0, false
}

func (v Value) typeErr(want, msg string) error {
	return &KeyError{Want: want, Have: v.typeName(), Msg: msg}
}

// Get returns the value of the metadata key.
func (f *File) Get(key string) (Value, bool) {
	i, ok := f.keys[key]
	if !ok {
		return Value{}, false
	}
	return f.meta[i].Value, true
}

// lookup returns the value of key, or a *KeyError naming want.
func (f *File) lookup(key, want string) (Value, error) {
	v, ok := f.Get(key)
	if !ok {
		return Value{}, &KeyError{File: f.name, Key: key, Want: want}
	}
	return v, nil
}

// keyErr completes an error from a Value method with the file and key.
func (f *File) keyErr(key string, err error) error {
	if ke, ok := err.(*KeyError); ok {
		ke.File, ke.Key = f.name, key
	}
	return err
}

// String returns the metadata STRING under key.
func (f *File) String(key string) (string, error) {
	v, err := f.lookup(key, "STRING")
	if err != nil {
		return "", err
	}
	s, err := v.AsString()
	return s, f.keyErr(key, err)
}

// Bool returns the metadata BOOL under key.
func (f *File) Bool(key string) (bool, error) {
	v, err := f.lookup(key, "BOOL")
	if err != nil {
		return false, err
	}
	b, err := v.AsBool()
	return b, f.keyErr(key, err)
}

// Uint returns the metadata integer under key, which may have any unsigned
// type, or a signed type if its value is not negative.
func (f *File) Uint(key string) (uint64, error) {
	v, err := f.lookup(key, "an unsigned or non-negative integer")
	if err != nil {
		return 0, err
	}
	u, err := v.AsUint()
	return u, f.keyErr(key, err)
}

// Int returns the metadata integer under key, of any integer type (a UINT64
// above MaxInt64 is an error).
func (f *File) Int(key string) (int64, error) {
	v, err := f.lookup(key, "an integer")
	if err != nil {
		return 0, err
	}
	i, err := v.AsInt()
	return i, f.keyErr(key, err)
}

// Float returns the metadata number under key: a FLOAT32, FLOAT64 or any
// integer type.
func (f *File) Float(key string) (float64, error) {
	v, err := f.lookup(key, "a number")
	if err != nil {
		return 0, err
	}
	x, err := v.AsFloat()
	return x, f.keyErr(key, err)
}

// Strings returns the metadata ARRAY of STRING under key. The slice is
// shared with the File and must not be modified.
func (f *File) Strings(key string) ([]string, error) {
	v, err := f.lookup(key, "ARRAY[STRING]")
	if err != nil {
		return nil, err
	}
	s, err := v.AsStrings()
	return s, f.keyErr(key, err)
}

// Float32s returns the metadata array under key as float32: an ARRAY of
// FLOAT32 is returned as is (shared with the File: do not modify), an ARRAY
// of FLOAT64 or of integers is converted.
func (f *File) Float32s(key string) ([]float32, error) {
	v, err := f.lookup(key, "an ARRAY of FLOAT32, FLOAT64 or integers")
	if err != nil {
		return nil, err
	}
	s, err := v.AsFloat32s()
	return s, f.keyErr(key, err)
}

// Ints returns the metadata ARRAY of any integer type under key as int64.
func (f *File) Ints(key string) ([]int64, error) {
	v, err := f.lookup(key, "an ARRAY of integers")
	if err != nil {
		return nil, err
	}
	s, err := v.AsInts()
	return s, f.keyErr(key, err)
}

// Constructors of KV entries. Array constructors copy their slice.

// Uint8 returns the entry key = v as a UINT8.
func Uint8(key string, v uint8) KV { return KV{key, Value{v}} }

// Int8 returns the entry key = v as an INT8.
func Int8(key string, v int8) KV { return KV{key, Value{v}} }

// Uint16 returns the entry key = v as a UINT16.
func Uint16(key string, v uint16) KV { return KV{key, Value{v}} }

// Int16 returns the entry key = v as an INT16.
func Int16(key string, v int16) KV { return KV{key, Value{v}} }

// Uint32 returns the entry key = v as a UINT32.
func Uint32(key string, v uint32) KV { return KV{key, Value{v}} }

// Int32 returns the entry key = v as an INT32.
func Int32(key string, v int32) KV { return KV{key, Value{v}} }

// Uint64 returns the entry key = v as a UINT64.
func Uint64(key string, v uint64) KV { return KV{key, Value{v}} }

// Int64 returns the entry key = v as an INT64.
func Int64(key string, v int64) KV { return KV{key, Value{v}} }

// Float32 returns the entry key = v as a FLOAT32.
func Float32(key string, v float32) KV { return KV{key, Value{v}} }

// Float64 returns the entry key = v as a FLOAT64.
func Float64(key string, v float64) KV { return KV{key, Value{v}} }

// Bool returns the entry key = v as a BOOL.
func Bool(key string, v bool) KV { return KV{key, Value{v}} }

// String returns the entry key = v as a STRING.
func String(key, v string) KV { return KV{key, Value{v}} }

// Uint8Array returns the entry key = v as an ARRAY of UINT8.
func Uint8Array(key string, v []uint8) KV { return KV{key, Value{slices.Clone(v)}} }

// Int8Array returns the entry key = v as an ARRAY of INT8.
func Int8Array(key string, v []int8) KV { return KV{key, Value{slices.Clone(v)}} }

// Uint16Array returns the entry key = v as an ARRAY of UINT16.
func Uint16Array(key string, v []uint16) KV { return KV{key, Value{slices.Clone(v)}} }

// Int16Array returns the entry key = v as an ARRAY of INT16.
func Int16Array(key string, v []int16) KV { return KV{key, Value{slices.Clone(v)}} }

// Uint32Array returns the entry key = v as an ARRAY of UINT32.
func Uint32Array(key string, v []uint32) KV { return KV{key, Value{slices.Clone(v)}} }

// Int32Array returns the entry key = v as an ARRAY of INT32.
func Int32Array(key string, v []int32) KV { return KV{key, Value{slices.Clone(v)}} }

// Uint64Array returns the entry key = v as an ARRAY of UINT64.
func Uint64Array(key string, v []uint64) KV { return KV{key, Value{slices.Clone(v)}} }

// Int64Array returns the entry key = v as an ARRAY of INT64.
func Int64Array(key string, v []int64) KV { return KV{key, Value{slices.Clone(v)}} }

// Float32Array returns the entry key = v as an ARRAY of FLOAT32.
func Float32Array(key string, v []float32) KV { return KV{key, Value{slices.Clone(v)}} }

// Float64Array returns the entry key = v as an ARRAY of FLOAT64.
func Float64Array(key string, v []float64) KV { return KV{key, Value{slices.Clone(v)}} }

// BoolArray returns the entry key = v as an ARRAY of BOOL.
func BoolArray(key string, v []bool) KV { return KV{key, Value{slices.Clone(v)}} }

// StringArray returns the entry key = v as an ARRAY of STRING.
func StringArray(key string, v []string) KV { return KV{key, Value{slices.Clone(v)}} }

// Array returns the entry key = an ARRAY of ARRAY holding elems, each of
// which must be an array ([Write] reports an error otherwise). Build the
// elements with [ValueOf] or [MustValue], or take them from other entries.
func Array(key string, elems ...Value) KV {
	return KV{key, Value{slices.Clone(elems)}}
}
