package gguf

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// refQ8Scale is the documented Q8_0 scale of a block with largest magnitude
// amax: the smallest binary16 value d with 127·d >= amax.
func refQ8Scale(amax float32) float64 {
	vals := refF16Values()
	h := sort.Search(0x7c00, func(h int) bool { return 127*vals[h] >= float64(amax) })
	return vals[h]
}

// checkQ8Element checks the dequantized element j of block against the
// documented bound: got = d·q with q an integer in [-127, 127] and
// |block[j] - got| <= d/2.
func checkQ8Element(t *testing.T, block []float32, j int, got float32) {
	t.Helper()
	var amax float32
	for _, v := range block {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := refQ8Scale(amax)
	x := float64(block[j])
	if d == 0 {
		if got != 0 {
			t.Fatalf("all-zero block: element %d = %v", j, got)
		}
		return
	}
	q := float64(got) / d
	if q != math.Trunc(q) || math.Abs(q) > 127 {
		t.Fatalf("element %d = %v is not an integer multiple of d = %v up to 127 (amax %v)", j, got, d, amax)
	}
	if err := math.Abs(x - float64(got)); err > d/2*(1+1e-12) {
		t.Fatalf("element %d: %v became %v, error %v > d/2 = %v", j, x, got, err, d/2)
	}
}

func TestQ8_0Bound(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	scales := []float64{1e-12, 1e-9, 1e-7, 3e-6, 1e-4, 0.01, 1, 100, 6e4, 8e6 / 4}
	var blocks [][]float32
	for _, s := range scales {
		for range 200 {
			x := make([]float32, 32)
			for i := range x {
				x[i] = float32(r.NormFloat64() * s)
			}
			blocks = append(blocks, x)
			y := make([]float32, 32)
			for i := range y {
				y[i] = float32((r.Float64()*2 - 1) * s)
			}
			y[r.IntN(32)] = float32(s * 10) // an outlier
			blocks = append(blocks, y)
		}
	}
	zeros := make([]float32, 32)
	same := make([]float32, 32)
	neg := make([]float32, 32)
	tiny := make([]float32, 32)
	for i := range same {
		same[i] = 0.1
		neg[i] = -float32(i) / 7
		tiny[i] = float32(i) * 1e-10
	}
	edge := make([]float32, 32)
	edge[0] = q8MaxAbs
	edge[1] = -q8MaxAbs / 3
	blocks = append(blocks, zeros, same, neg, tiny, edge)

	rejected := 0
	for _, x := range blocks {
		if err := checkQ8(x); err != nil {
			// Only magnitudes beyond 127 × 65504 are refused.
			if !slices.ContainsFunc(x, func(v float32) bool { return math.Abs(float64(v)) > q8MaxAbs }) {
				t.Fatalf("checkQ8 refused a representable block: %v", err)
			}
			rejected++
			continue
		}
		enc := encode(nil, Q8_0, x)
		if len(enc) != q8BlockBytes {
			t.Fatalf("%d bytes for one block", len(enc))
		}
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if d := float64(f16ToF32(binary.LittleEndian.Uint16(enc))); d != refQ8Scale(amax) {
			t.Fatalf("scale %v, want %v (amax %v)", d, refQ8Scale(amax), amax)
		}
		got := decode(Q8_0, enc, 32)
		for j := range x {
			checkQ8Element(t, x, j, got[j])
		}
	}
	if rejected == 0 || rejected > len(blocks)/10 {
		t.Errorf("%d of %d blocks out of range", rejected, len(blocks))
	}
}

func TestQ8_0Exact(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for range 5000 {
		// A random positive finite binary16 scale, normal or subnormal.
		h := uint16(1 + r.IntN(0x7bff))
		d := f16ToF32(h)
		x := make([]float32, 32)
		k := make([]int, 32)
		for i := range x {
			k[i] = r.IntN(255) - 127
		}
		k[r.IntN(32)] = 127 * (1 - 2*r.IntN(2)) // the block's amax is 127·d
		for i := range x {
			x[i] = d * float32(k[i]) // exact: 11 × 7 significant bits
		}
		enc := encode(nil, Q8_0, x)
		if got := binary.LittleEndian.Uint16(enc); got != h {
			t.Fatalf("scale %#04x, want %#04x", got, h)
		}
		for i := range k {
			if q := int(int8(enc[2+i])); q != k[i] {
				t.Fatalf("q[%d] = %d, want %d (d = %v)", i, q, k[i], d)
			}
		}
		if got := decode(Q8_0, enc, 32); !bitsEqual(got, x) {
			t.Fatalf("decode = %v, want %v", got, x)
		}
	}
}

func TestQ8_0Rounding(t *testing.T) {
	x := make([]float32, 32)
	x[0] = 127 // d = 1
	want := map[int]int8{1: 1, 2: -1, 3: 2, 4: -3, 5: 2, 6: 3, 7: 0, 8: 126}
	vals := map[int]float32{1: 0.5, 2: -0.5, 3: 1.5, 4: -2.5, 5: 2.4999998, 6: 2.5000002, 7: 0.49999997, 8: 125.5}
	for i, v := range vals {
		x[i] = v
	}
	enc := encode(nil, Q8_0, x)
	if d := binary.LittleEndian.Uint16(enc); d != 0x3c00 {
		t.Fatalf("scale %#04x, want 1", d)
	}
	for i, w := range want {
		if q := int8(enc[2+i]); q != w {
			t.Errorf("round(%v) = %d, want %d (halves away from zero)", vals[i], q, w)
		}
	}
}

func TestQ8_0Multiblock(t *testing.T) {
	// Rows of several blocks, and more values than one write chunk.
	r := rand.New(rand.NewPCG(15, 16))
	n := chunkElems + 3*32
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64()) * float32(1+i%97)
	}
	enc := encode(nil, Q8_0, x)
	if len(enc) != n/32*34 {
		t.Fatalf("%d bytes", len(enc))
	}
	got := decode(Q8_0, enc, n)
	for i := range x {
		checkQ8Element(t, x[i/32*32:][:32], i%32, got[i])
	}
}
