package gguf

import (
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
)

// Reference conversions, written from the IEEE 754 definitions with float64
// arithmetic and searches over the value tables rather than bit tricks.

// refF16Value is the value of binary16 bits h (NaN for any NaN).
func refF16Value(h uint16) float32 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, m := int(h>>10&0x1f), float64(h&0x3ff)
	switch e {
	case 0:
		return float32(s * math.Ldexp(m/1024, -14))
	case 31:
		if m == 0 {
			return float32(math.Inf(int(s)))
		}
		return float32(math.NaN())
	}
	return float32(s * math.Ldexp(1+m/1024, e-15))
}

// refBF16Value is the value of bfloat16 bits h (NaN for any NaN).
func refBF16Value(h uint16) float32 {
	s := 1.0
	if h&0x8000 != 0 {
		s = -1
	}
	e, m := int(h>>7&0xff), float64(h&0x7f)
	switch e {
	case 0:
		return float32(s * math.Ldexp(m/128, -126))
	case 255:
		if m == 0 {
			return float32(math.Inf(int(s)))
		}
		return float32(math.NaN())
	}
	return float32(s * math.Ldexp(1+m/128, e-127))
}

// refF16Values and refBF16Values tabulate refF16Value and refBF16Value
// for the non-negative bit patterns up to Inf, for the searches below.
var (
	refF16Values = sync.OnceValue(func() []float64 {
		v := make([]float64, 0x7c01)
		for h := range v {
			v[h] = float64(refF16Value(uint16(h)))
		}
		return v
	})
	refBF16Values = sync.OnceValue(func() []float64 {
		v := make([]float64, 0x7f81)
		for h := range v {
			v[h] = float64(refBF16Value(uint16(h)))
		}
		return v
	})
)

// refRound returns the bits of the representable value nearest to the
// magnitude ax, ties to the even bit pattern, given val, the increasing
// value of each non-negative bit pattern up to inf (where val(inf) is the
// value one ulp above the largest finite one, so that overflow rounds like
// IEEE 754: to Inf from half an ulp above the largest finite value).
func refRound(ax float64, inf int, val func(int) float64) int {
	lo := sort.Search(inf+1, func(h int) bool { return val(h) > ax }) - 1
	if lo >= inf {
		return inf
	}
	mid := (val(lo) + val(lo+1)) / 2 // exact: one more bit than the format
	switch {
	case ax < mid:
		return lo
	case ax > mid:
		return lo + 1
	case lo%2 == 0:
		return lo
	}
	return lo + 1
}

// refF16 converts x to binary16 bits (0x7e00 with x's sign for NaN).
func refF16(x float32) uint16 {
	var sign uint16
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	ax := math.Abs(float64(x))
	if math.IsNaN(ax) {
		return sign | 0x7e00
	}
	if math.IsInf(ax, 1) {
		return sign | 0x7c00
	}
	vals := refF16Values()
	h := refRound(ax, 0x7c00, func(h int) float64 {
		if h == 0x7c00 {
			return 65536
		}
		return vals[h]
	})
	return sign | uint16(h)
}

// refBF16 converts x to bfloat16 bits (0x7fc0 with x's sign for NaN).
func refBF16(x float32) uint16 {
	var sign uint16
	if math.Signbit(float64(x)) {
		sign = 0x8000
	}
	ax := math.Abs(float64(x))
	if math.IsNaN(ax) {
		return sign | 0x7fc0
	}
	if math.IsInf(ax, 1) {
		return sign | 0x7f80
	}
	vals := refBF16Values()
	h := refRound(ax, 0x7f80, func(h int) float64 {
		if h == 0x7f80 {
			return math.Ldexp(1, 128)
		}
		return vals[h]
	})
	return sign | uint16(h)
}

func TestF16Decode(t *testing.T) {
	tab := f16Table()
	for i := range 1 << 16 {
		h := uint16(i)
		got, want := f16ToF32(h), refF16Value(h)
		if tab[h] != got && !(got != got && tab[h] != tab[h]) {
			t.Fatalf("table[%#04x] = %v, f16ToF32 = %v", h, tab[h], got)
		}
		if h&0x7c00 == 0x7c00 && h&0x3ff != 0 {
			// NaN: sign and payload kept, in the top fraction bits.
			b := math.Float32bits(got)
			if got == got || b>>31 != uint32(h>>15) || b>>13&0x3ff != uint32(h&0x3ff) {
				t.Fatalf("f16ToF32(%#04x) = %#08x, want NaN with the same sign and payload", h, b)
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("f16ToF32(%#04x) = %v (%#08x), want %v", h, got, math.Float32bits(got), want)
		}
	}
}

func TestBF16Decode(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got, want := bf16ToF32(h), refBF16Value(h)
		if got != got {
			if want == want || math.Float32bits(got)>>16 != uint32(h) {
				t.Fatalf("bf16ToF32(%#04x) = %#08x", h, math.Float32bits(got))
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("bf16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

// f16Inputs returns float32 values that probe binary16 rounding: every
// binary16 value, the midpoint (a tie) between each pair of neighbours and
// the float32 values just around it, and edge cases.
func f16Inputs() []float32 {
	var xs []float32
	for h := range 0x7c00 {
		v := refF16Value(uint16(h))
		xs = append(xs, v, -v)
		next := float32(65536)
		if h+1 < 0x7c00 {
			next = refF16Value(uint16(h + 1))
		}
		mid := float32((float64(v) + float64(next)) / 2) // exact
		for _, m := range []float32{mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9)} {
			xs = append(xs, m, -m)
		}
	}
	return append(xs,
		0x1p-25, 0x1p-26, 0x1.8p-25, 0x1.000002p-25, 0x1.7ffffep-25, 3*0x1p-26, 0x1p-30,
		65504, 65519.996, 65520, 65536, 1e10, math.MaxFloat32, math.SmallestNonzeroFloat32, 0x1p-126,
		float32(math.Inf(1)), float32(math.Inf(-1)))
}

func TestF16Encode(t *testing.T) {
	check := func(x float32) {
		got, want := f32ToF16(x), refF16(x)
		if got != want {
			t.Fatalf("f32ToF16(%v = %#08x) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
		}
	}
	for _, x := range f16Inputs() {
		check(x)
	}
	// Named edge cases, in case the reference is wrong in the same way.
	for x, want := range map[float32]uint16{
		65504: 0x7bff, 65519.996: 0x7bff, 65520: 0x7c00, -65520: 0xfc00,
		0x1p-24: 0x0001, 0x1p-25: 0x0000, 0x1.000002p-25: 0x0001, 3 * 0x1p-25: 0x0002, 5 * 0x1p-25: 0x0002,
		0x1p-14: 0x0400, 0x1.ffcp-15: 0x0400, 1: 0x3c00, 1 + 0x1p-11: 0x3c00, 1 + 3*0x1p-11: 0x3c02,
	} {
		if got := f32ToF16(x); got != want {
			t.Errorf("f32ToF16(%v) = %#04x, want %#04x", x, got, want)
		}
	}
	r := rand.New(rand.NewPCG(7, 8))
	n := 1 << 20
	if testing.Short() || raceEnabled {
		n = 1 << 16
	}
	for range n {
		x := math.Float32frombits(r.Uint32())
		if x != x {
			continue
		}
		check(x)
		check(x * 0x1p-100) // concentrate on the binary16 range
	}
}

func TestF16EncodeNaN(t *testing.T) {
	for _, b := range []uint32{0x7fc00000, 0x7f800001, 0xffc00000, 0x7fffffff, 0xff800400, 0x7fa00000} {
		x := math.Float32frombits(b)
		h := f32ToF16(x)
		if h&0x7c00 != 0x7c00 || h&0x200 == 0 || h>>15 != uint16(b>>31) {
			t.Errorf("f32ToF16(NaN %#08x) = %#04x, want a quiet NaN with the same sign", b, h)
		}
		if h&0x1ff != uint16(b>>13)&0x1ff {
			t.Errorf("f32ToF16(NaN %#08x) = %#04x: payload lost", b, h)
		}
		hb := f32ToBF16(x)
		if hb&0x7f80 != 0x7f80 || hb&0x40 == 0 || hb>>15 != uint16(b>>31) {
			t.Errorf("f32ToBF16(NaN %#08x) = %#04x, want a quiet NaN with the same sign", b, hb)
		}
	}
}

func TestBF16Encode(t *testing.T) {
	check := func(x float32) {
		if x != x {
			return
		}
		got, want := f32ToBF16(x), refBF16(x)
		if got != want {
			t.Fatalf("f32ToBF16(%v = %#08x) = %#04x, want %#04x", x, math.Float32bits(x), got, want)
		}
	}
	// Every bfloat16 value, every tie between neighbours, and one float32
	// ulp either side of it.
	for h := range 1 << 16 {
		b := uint32(h) << 16
		for _, v := range []uint32{b, b | 0x8000, b | 0x7fff, b | 0x8001, b | 0xffff} {
			check(math.Float32frombits(v))
		}
	}
	for x, want := range map[float32]uint16{
		1: 0x3f80, math.Float32frombits(0x3f808000): 0x3f80, math.Float32frombits(0x3f818000): 0x3f82,
		math.Float32frombits(0x3f808001): 0x3f81, math.MaxFloat32: 0x7f80, math.Float32frombits(0x7f7f7fff): 0x7f7f,
		math.SmallestNonzeroFloat32: 0x0000, math.Float32frombits(0x00008000): 0x0000, math.Float32frombits(0x00018000): 0x0002,
	} {
		if got := f32ToBF16(x); got != want {
			t.Errorf("f32ToBF16(%v) = %#04x, want %#04x", x, got, want)
		}
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 1 << 16 {
		check(math.Float32frombits(r.Uint32()))
	}
}
