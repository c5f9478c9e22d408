package gguf

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// valueEqual compares values exactly: same types, floats bit for bit (so
// NaN equals the same NaN), arrays element by element.
func valueEqual(a, b Value) bool {
	if a.Type() != b.Type() {
		return false
	}
	switch x := a.x.(type) {
	case float32:
		y, ok := b.x.(float32)
		return ok && math.Float32bits(x) == math.Float32bits(y)
	case float64:
		y, ok := b.x.(float64)
		return ok && math.Float64bits(x) == math.Float64bits(y)
	case []float32:
		y, ok := b.x.([]float32)
		return ok && slices.EqualFunc(x, y, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) })
	case []float64:
		y, ok := b.x.([]float64)
		return ok && slices.EqualFunc(x, y, func(p, q float64) bool { return math.Float64bits(p) == math.Float64bits(q) })
	case []Value:
		y, ok := b.x.([]Value)
		return ok && slices.EqualFunc(x, y, valueEqual)
	}
	if a.Type() != TypeArray {
		return a.x == b.x
	}
	if a.ElemType() != b.ElemType() || a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		if a.Index(i).x != b.Index(i).x {
			return false
		}
	}
	return true
}

func metadataEqual(a, b []KV) bool {
	return slices.EqualFunc(a, b, func(p, q KV) bool { return p.Key == q.Key && valueEqual(p.Value, q.Value) })
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(p, q float32) bool { return math.Float32bits(p) == math.Float32bits(q) })
}

// sampleMetadata has every value type, extreme values, empty arrays of
// every element type and nested arrays.
func sampleMetadata() []KV {
	nan32 := math.Float32frombits(0x7fc00123)
	nan64 := math.Float64frombits(0xfff8000000000abc)
	return []KV{
		String("general.architecture", "llama"),
		String("general.name", "tiny ✓ model"),
		String("empty.string", ""),
		Uint8("u8", math.MaxUint8),
		Int8("i8", math.MinInt8),
		Uint16("u16", math.MaxUint16),
		Int16("i16", math.MinInt16),
		Uint32("u32", math.MaxUint32),
		Int32("i32", math.MinInt32),
		Uint64("u64", math.MaxUint64),
		Int64("i64", math.MinInt64),
		Float32("f32", float32(math.Copysign(0, -1))),
		Float32("f32.nan", nan32),
		Float32("f32.inf", float32(math.Inf(-1))),
		Float64("f64", math.SmallestNonzeroFloat64),
		Float64("f64.nan", nan64),
		Bool("true", true),
		Bool("false", false),
		Uint8Array("a.u8", []uint8{0, 1, 255}),
		Int8Array("a.i8", []int8{-128, 0, 127}),
		Uint16Array("a.u16", []uint16{0, 65535}),
		Int16Array("a.i16", []int16{-32768, 32767}),
		Uint32Array("a.u32", []uint32{1, 2, 3}),
		Int32Array("a.i32", []int32{-1, 0, 1}),
		Uint64Array("a.u64", []uint64{math.MaxUint64}),
		Int64Array("a.i64", []int64{math.MinInt64, math.MaxInt64}),
		Float32Array("a.f32", []float32{0.5, -1, nan32, float32(math.Inf(1))}),
		Float64Array("a.f64", []float64{math.Pi, nan64}),
		BoolArray("a.bool", []bool{true, false, true}),
		StringArray("tokenizer.ggml.tokens", []string{"<s>", "</s>", "▁the", "", "日本"}),
		Uint8Array("e.u8", nil),
		Int8Array("e.i8", []int8{}),
		Uint16Array("e.u16", nil),
		Int16Array("e.i16", nil),
		Uint32Array("e.u32", nil),
		Int32Array("e.i32", nil),
		Uint64Array("e.u64", nil),
		Int64Array("e.i64", nil),
		Float32Array("e.f32", nil),
		Float64Array("e.f64", nil),
		BoolArray("e.bool", nil),
		StringArray("e.string", nil),
		Array("e.array"),
		Array("nested",
			MustValue([]int32{1, 2, 3}),
			MustValue([]string{"a", "b"}),
			MustValue([]float64{}),
			MustValue([]Value{MustValue([]bool{true}), MustValue([]uint8{})}),
			MustValue([]Value{}),
		),
	}
}

// sampleTensors has each writable type, an empty tensor, 1-4 dimensions and
// a raw Q4_K tensor.
func sampleTensors(r *rand.Rand) []Tensor {
	randn := func(n int, scale float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale)
		}
		return x
	}
	q4k := make([]byte, 2*144)
	for i := range q4k {
		q4k[i] = byte(r.Uint32())
	}
	return []Tensor{
		{Name: "token_embd.weight", Shape: []int{3, 64}, Type: Q8_0, Data: randn(192, 1)},
		{Name: "blk.0.attn_norm.weight", Shape: []int{5}, Type: F32, Data: []float32{1, -0, float32(math.NaN()), float32(math.Inf(1)), 1e-40}},
		{Name: "blk.0.attn_q.weight", Shape: []int{2, 3, 4}, Type: F16, Data: randn(24, 10)},
		{Name: "blk.0.attn_k.weight", Shape: []int{2, 1, 2, 3}, Type: BF16, Data: randn(12, 1e-3)},
		{Name: "empty", Shape: []int{0, 32}, Type: Q8_0, Data: nil},
		{Name: "blk.0.ffn_down.weight", Shape: []int{2, 256}, Type: Q4_K, Raw: q4k},
		{Name: "output.weight", Shape: []int{1, 7}, Type: F32, Data: randn(7, 1)},
	}
}

// sampleFile returns the bytes of a file written from sampleMetadata and
// sampleTensors.
func sampleFile(t testing.TB) []byte {
	var buf bytes.Buffer
	if err := Write(&buf, sampleMetadata(), sampleTensors(rand.New(rand.NewPCG(1, 2)))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
