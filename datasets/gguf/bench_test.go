package gguf

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func benchFile(b *testing.B, typ GGMLType) *File {
	const n = 1 << 20
	r := rand.New(rand.NewPCG(19, 20))
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	var buf bytes.Buffer
	if err := Write(&buf, nil, []Tensor{{Name: "w", Shape: []int{n / 1024, 1024}, Type: typ, Data: x}}); err != nil {
		b.Fatal(err)
	}
	f, err := Parse(buf.Bytes(), "bench")
	if err != nil {
		b.Fatal(err)
	}
	return f
}

func benchmarkFloat32(b *testing.B, typ GGMLType) {
	f := benchFile(b, typ)
	b.SetBytes(1 << 20 * 4) // decoded float32 bytes per op
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.Float32("w"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloat32Q8_0 decodes a 1M-element Q8_0 tensor.
func BenchmarkFloat32Q8_0(b *testing.B) { benchmarkFloat32(b, Q8_0) }

// BenchmarkFloat32F16 decodes a 1M-element F16 tensor.
func BenchmarkFloat32F16(b *testing.B) { benchmarkFloat32(b, F16) }

// BenchmarkWriteQ8_0 quantizes and writes a 1M-element tensor.
func BenchmarkWriteQ8_0(b *testing.B) {
	const n = 1 << 20
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(i%1000) - 500
	}
	t := []Tensor{{Name: "w", Shape: []int{n / 1024, 1024}, Type: Q8_0, Data: x}}
	b.SetBytes(n * 4)
	for b.Loop() {
		if err := Write(discard{}, nil, t); err != nil {
			b.Fatal(err)
		}
	}
}
