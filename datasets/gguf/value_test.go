package gguf

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

func accessorFile(t *testing.T) *File {
	t.Helper()
	f, err := Parse(sampleFile(t), "model.gguf")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAccessors(t *testing.T) {
	f := accessorFile(t)
	if s, err := f.String("general.name"); s != "tiny ✓ model" || err != nil {
		t.Errorf("String = %q, %v", s, err)
	}
	if b, err := f.Bool("true"); !b || err != nil {
		t.Errorf("Bool = %v, %v", b, err)
	}
	for key, want := range map[string]uint64{"u8": 255, "u16": 65535, "u32": math.MaxUint32, "u64": math.MaxUint64} {
		if u, err := f.Uint(key); u != want || err != nil {
			t.Errorf("Uint(%s) = %d, %v", key, u, err)
		}
	}
	for key, want := range map[string]int64{"i8": -128, "i16": -32768, "i32": math.MinInt32, "i64": math.MinInt64, "u32": math.MaxUint32} {
		if i, err := f.Int(key); i != want || err != nil {
			t.Errorf("Int(%s) = %d, %v", key, i, err)
		}
	}
	for key, want := range map[string]float64{"f64": math.SmallestNonzeroFloat64, "f32.inf": math.Inf(-1), "i8": -128, "u16": 65535} {
		if x, err := f.Float(key); x != want || err != nil {
			t.Errorf("Float(%s) = %v, %v", key, x, err)
		}
	}
	if s, err := f.Strings("tokenizer.ggml.tokens"); !slices.Equal(s, []string{"<s>", "</s>", "▁the", "", "日本"}) || err != nil {
		t.Errorf("Strings = %q, %v", s, err)
	}
	if s, err := f.Strings("e.string"); len(s) != 0 || err != nil {
		t.Errorf("Strings(empty) = %q, %v", s, err)
	}
	if x, err := f.Float32s("a.f32"); len(x) != 4 || x[0] != 0.5 || err != nil {
		t.Errorf("Float32s = %v, %v", x, err)
	}
	if x, err := f.Float32s("a.f64"); len(x) != 2 || x[0] != float32(math.Pi) || err != nil {
		t.Errorf("Float32s(f64) = %v, %v", x, err)
	}
	if x, err := f.Float32s("a.i32"); !slices.Equal(x, []float32{-1, 0, 1}) || err != nil {
		t.Errorf("Float32s(i32) = %v, %v", x, err)
	}
	if x, err := f.Ints("a.i32"); !slices.Equal(x, []int64{-1, 0, 1}) || err != nil {
		t.Errorf("Ints = %v, %v", x, err)
	}
	if x, err := f.Ints("a.u8"); !slices.Equal(x, []int64{0, 1, 255}) || err != nil {
		t.Errorf("Ints(u8) = %v, %v", x, err)
	}
	if x, err := f.Ints("a.i64"); !slices.Equal(x, []int64{math.MinInt64, math.MaxInt64}) || err != nil {
		t.Errorf("Ints(i64) = %v, %v", x, err)
	}
	if x, err := f.Ints("e.u16"); len(x) != 0 || err != nil {
		t.Errorf("Ints(empty) = %v, %v", x, err)
	}
}

func TestAccessorErrors(t *testing.T) {
	f := accessorFile(t)
	cases := []struct {
		name string
		call func() error
		msg  string
	}{
		{"missing", func() error { _, err := f.String("nope"); return err }, `model.gguf: metadata key "nope": not found (want STRING)`},
		{"missing uint", func() error { _, err := f.Uint("nope"); return err }, `"nope": not found (want an unsigned or non-negative integer)`},
		{"string of int", func() error { _, err := f.String("u32"); return err }, `model.gguf: metadata key "u32": have UINT32, want STRING`},
		{"bool of string", func() error { _, err := f.Bool("general.name"); return err }, `"general.name": have STRING, want BOOL`},
		{"uint negative", func() error { _, err := f.Uint("i8"); return err }, `"i8": have INT8, value -128 is negative, want an unsigned or non-negative integer`},
		{"uint of float", func() error { _, err := f.Uint("f32"); return err }, `have FLOAT32, want an unsigned`},
		{"int overflow", func() error { _, err := f.Int("u64"); return err }, `"u64": have UINT64, value 18446744073709551615 overflows int64, want an integer`},
		{"float of bool", func() error { _, err := f.Float("true"); return err }, `have BOOL, want a number`},
		{"strings of ints", func() error { _, err := f.Strings("a.i32"); return err }, `"a.i32": have ARRAY[INT32], want ARRAY[STRING]`},
		{"strings of nested", func() error { _, err := f.Strings("nested"); return err }, `have ARRAY[ARRAY], want ARRAY[STRING]`},
		{"float32s of strings", func() error { _, err := f.Float32s("tokenizer.ggml.tokens"); return err }, `have ARRAY[STRING], want an ARRAY of FLOAT32, FLOAT64 or integers`},
		{"float32s of scalar", func() error { _, err := f.Float32s("f32"); return err }, `have FLOAT32, want an ARRAY`},
		{"ints of floats", func() error { _, err := f.Ints("a.f32"); return err }, `have ARRAY[FLOAT32], want an ARRAY of integers`},
		{"ints overflow", func() error { _, err := f.Ints("a.u64"); return err }, `have ARRAY[UINT64], element 0: value 18446744073709551615 overflows int64`},
	}
	for _, c := range cases {
		err := c.call()
		var ke *KeyError
		if !errors.As(err, &ke) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want a *KeyError containing %q", c.name, err, c.msg)
		}
		if missing := strings.HasPrefix(c.name, "missing"); errors.Is(err, ErrNotFound) != missing {
			t.Errorf("%s: errors.Is(ErrNotFound) = %v", c.name, !missing)
		}
	}
}

func TestValue(t *testing.T) {
	var zero Value
	if zero.IsValid() || zero.Type().String() != "invalid" || zero.String() != "<invalid>" || zero.Len() != 0 || zero.Interface() != nil {
		t.Errorf("zero Value: %v %v %q %d", zero.IsValid(), zero.Type(), zero.String(), zero.Len())
	}
	if _, err := ValueOf(42); err == nil {
		t.Error("ValueOf(int) succeeded")
	}
	if _, err := ValueOf([]int{1}); err == nil {
		t.Error("ValueOf([]int) succeeded")
	}
	if _, err := ValueOf([]Value{MustValue("x")}); err == nil {
		t.Error("ValueOf([]Value{string}) succeeded")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustValue(int) did not panic")
			}
		}()
		MustValue(1)
	}()
	src := []string{"a", "b"}
	v := MustValue(src)
	src[0] = "changed"
	if v.Type() != TypeArray || v.ElemType() != TypeString || v.Len() != 2 || v.Index(0).Interface() != "a" || v.String() != "[a b]" {
		t.Errorf("ValueOf([]string) = %v %v %d %v", v.Type(), v.ElemType(), v.Len(), v)
	}
	if s := Value.String(MustValue(uint32(7))); s != "7" {
		t.Errorf("String = %q", s)
	}
	if MustValue(uint8(1)).ElemType().String() != "invalid" {
		t.Error("ElemType of a scalar")
	}
	nested := Array("k", MustValue([]int8{-1}), MustValue([]Value{}))
	if nested.Value.ElemType() != TypeArray || nested.Value.Index(1).ElemType() != TypeArray || nested.Value.Index(0).Index(0).Interface() != int8(-1) {
		t.Errorf("nested = %v", nested.Value)
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Index of a scalar did not panic")
			}
		}()
		MustValue(true).Index(0)
	}()
	for ty := TypeUint8; ty <= TypeFloat64; ty++ {
		if strings.HasPrefix(ty.String(), "ValueType(") {
			t.Errorf("no name for %d", ty)
		}
	}
	if ValueType(13).String() != "ValueType(13)" || GGMLType(4).String() != "GGMLType(4)" || Q4_K.String() != "Q4_K" {
		t.Error("type names")
	}
	if Q8_0.BlockSize() != 32 || Q8_0.TypeSize() != 34 || !BF16.Known() || GGMLType(31).Known() || GGMLType(31).BlockSize() != 0 {
		t.Error("type traits")
	}
	// The Value errors carry no file or key.
	_, err := MustValue("s").AsUint()
	if err == nil || err.Error() != "have STRING, want an unsigned or non-negative integer" {
		t.Errorf("AsUint error %q", err)
	}
}
