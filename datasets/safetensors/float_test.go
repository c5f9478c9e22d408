package safetensors

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestF16ToF32Table(t *testing.T) {
	cases := []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0},
		{0x3c00, 1},
		{0xc000, -2},
		{0x7bff, 65504},                 // largest finite
		{0xfbff, -65504},                //
		{0x0400, 1.0 / (1 << 14)},       // smallest normal
		{0x0001, 1.0 / (1 << 24)},       // smallest subnormal, 5.96e-8
		{0x8001, -1.0 / (1 << 24)},      //
		{0x03ff, 1023.0 / (1 << 24)},    // largest subnormal
		{0x0200, 1.0 / (1 << 15)},       // a subnormal power of two
		{0x3555, 0.333251953125},        // nearest half to 1/3
		{0x3c01, 1 + 1.0/1024},          // 1 + ulp
		{0x7c00, float32(math.Inf(1))},  //
		{0xfc00, float32(math.Inf(-1))}, //
	}
	for _, c := range cases {
		got := f16ToF32(c.h)
		if math.Float32bits(got) != math.Float32bits(c.want) {
			t.Errorf("f16ToF32(%#04x) = %v (%#08x), want %v", c.h, got, math.Float32bits(got), c.want)
		}
	}
	if got := f16ToF32(0x8000); got != 0 || !math.Signbit(float64(got)) {
		t.Errorf("f16ToF32(0x8000) = %v, want -0", got)
	}
	for _, h := range []uint16{0x7e00, 0xfe00, 0x7c01, 0x7fff} {
		if got := f16ToF32(h); !isNaN32(got) {
			t.Errorf("f16ToF32(%#04x) = %v, want NaN", h, got)
		}
	}
	if got := math.Float32bits(f16ToF32(0x7e00)); got != 0x7fc00000 {
		t.Errorf("f16ToF32(0x7e00) bits = %#08x, want canonical quiet NaN 0x7fc00000", got)
	}
}

// TestF16ToF32Exhaustive checks every half against the defining formula.
func TestF16ToF32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		sign := 1.0
		if h&0x8000 != 0 {
			sign = -1
		}
		e := int(h>>10) & 0x1f
		m := float64(h & 0x3ff)
		var want float64
		switch e {
		case 0:
			want = sign * math.Ldexp(m, -24)
		case 31:
			if m == 0 {
				want = math.Inf(int(sign))
			} else {
				want = math.NaN()
			}
		default:
			want = sign * math.Ldexp(1+m/1024, e-15)
		}
		got := f16ToF32(h)
		if math.IsNaN(want) {
			if !isNaN32(got) {
				t.Fatalf("f16ToF32(%#04x) = %v, want NaN", h, got)
			}
			continue
		}
		if float64(got) != want || math.Signbit(float64(got)) != math.Signbit(want) {
			t.Fatalf("f16ToF32(%#04x) = %v, want %v", h, got, want)
		}
	}
}

func TestF32ToF16Table(t *testing.T) {
	p := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	cases := []struct {
		name string
		f    float32
		want uint16
	}{
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"max", 65504, 0x7bff},
		{"just below overflow tie", 65519.99, 0x7bff},
		{"overflow tie rounds to even (inf)", 65520, 0x7c00},
		{"large", 1e6, 0x7c00},
		{"-large", -1e6, 0xfc00},
		{"smallest subnormal", p(-24), 0x0001},
		{"half smallest subnormal ties to zero", p(-25), 0x0000},
		{"-half smallest subnormal", -p(-25), 0x8000},
		{"above half smallest subnormal", p(-25) * 1.0000001, 0x0001},
		{"1.5 units ties to 2", 3 * p(-25), 0x0002},
		{"2.5 units ties to 2", 5 * p(-25), 0x0002},
		{"largest subnormal", 1023 * p(-24), 0x03ff},
		{"subnormal carries into smallest normal", 1023.5 * p(-24), 0x0400},
		{"smallest normal", p(-14), 0x0400},
		{"tiny", 1e-10, 0x0000},
		{"-tiny", -1e-10, 0x8000},
		{"float32 subnormal", math.Float32frombits(1), 0x0000},
		{"tie below 1+ulp rounds to even 1", 1 + p(-11), 0x3c00},
		{"tie above 1+ulp rounds to even 1+2ulp", 1 + 3*p(-11), 0x3c02},
		{"just above tie", 1 + p(-11) + p(-23), 0x3c01},
		{"one third", 1.0 / 3, 0x3555},
		{"inf", float32(math.Inf(1)), 0x7c00},
		{"-inf", float32(math.Inf(-1)), 0xfc00},
		{"zero", 0, 0x0000},
		{"-zero", float32(math.Copysign(0, -1)), 0x8000},
	}
	for _, c := range cases {
		if got := f32ToF16(c.f); got != c.want {
			t.Errorf("%s: f32ToF16(%v) = %#04x, want %#04x", c.name, c.f, got, c.want)
		}
	}
	for _, bits := range []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff} {
		h := f32ToF16(math.Float32frombits(bits))
		if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
			t.Errorf("f32ToF16(NaN %#08x) = %#04x, want a NaN", bits, h)
		}
		if h>>15 != uint16(bits>>31) {
			t.Errorf("f32ToF16(NaN %#08x) = %#04x lost the sign", bits, h)
		}
	}
}

// TestF16RoundTrip checks that every non-NaN half survives f16 -> f32 -> f16
// and that quiet NaNs keep their payload.
func TestF16RoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		got := f32ToF16(f16ToF32(h))
		isNaN := h&0x7c00 == 0x7c00 && h&0x3ff != 0
		if isNaN && h&0x200 == 0 {
			if got != h|0x200 {
				t.Fatalf("signalling NaN %#04x -> %#04x, want quieted %#04x", h, got, h|0x200)
			}
			continue
		}
		if got != h {
			t.Fatalf("round trip %#04x -> %v -> %#04x", h, f16ToF32(h), got)
		}
	}
}

// TestF32ToF16Nearest checks round-to-nearest-even on random float32 values
// against the exhaustively verified f16ToF32.
func TestF32ToF16Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		var x float32
		// Concentrate on the f16 range, including subnormals.
		x = float32(math.Ldexp(r.Float64()*2-1, r.IntN(44)-28))
		if i%4 == 0 {
			// halfway points and their neighbours
			h := uint16(r.IntN(0x7bff))
			mid := (float64(f16ToF32(h)) + float64(f16ToF32(h+1))) / 2
			x = float32(mid)
			switch r.IntN(3) {
			case 1:
				x = math.Nextafter32(x, float32(math.Inf(1)))
			case 2:
				x = math.Nextafter32(x, float32(math.Inf(-1)))
			}
		}
		h := f32ToF16(x)
		ax := math.Abs(float64(x))
		mag := h & 0x7fff
		if mag == 0x7c00 { // overflow: only allowed at or beyond the rounding threshold 65520
			if ax < 65520 {
				t.Fatalf("f32ToF16(%v) = inf", x)
			}
			continue
		}
		d := math.Abs(float64(f16ToF32(mag)) - ax)
		for _, nb := range []uint16{mag - 1, mag + 1} {
			if nb > 0x7c00 || (mag == 0 && nb == 0xffff) {
				continue
			}
			dn := math.Abs(float64(f16ToF32(nb)) - ax)
			if dn < d || (dn == d && mag&1 == 1) {
				t.Fatalf("f32ToF16(%v) = %#04x (%v), but %#04x (%v) is nearer or the even tie",
					x, h, f16ToF32(h), nb, f16ToF32(nb))
			}
		}
		if x != 0 && (h>>15 == 1) != (x < 0) {
			t.Fatalf("f32ToF16(%v) = %#04x has the wrong sign", x, h)
		}
	}
}

func TestBF16Table(t *testing.T) {
	cases := []struct {
		f    uint32 // float32 bits
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1.0
		{0xc0000000, 0xc000}, // -2.0
		{0x3f808000, 0x3f80}, // tie, rounds to even (down)
		{0x3f818000, 0x3f82}, // tie, rounds to even (up)
		{0x3f808001, 0x3f81}, // just above tie
		{0x3f807fff, 0x3f80}, // just below tie
		{0x7f7fffff, 0x7f80}, // max float32 rounds to inf
		{0x7f800000, 0x7f80}, // inf
		{0xff800000, 0xff80}, // -inf
		{0x00000001, 0x0000}, // tiny subnormal
		{0x00010000, 0x0001}, // smallest bf16 subnormal
		{0x80000000, 0x8000}, // -0
		{0x477fe000, 0x4780}, // 65504 -> 65536
	}
	for _, c := range cases {
		if got := f32ToBF16(math.Float32frombits(c.f)); got != c.want {
			t.Errorf("f32ToBF16(%#08x) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	for _, bits := range []uint32{0x7fc00000, 0x7f800001, 0xff800001, 0x7fffffff} {
		h := f32ToBF16(math.Float32frombits(bits))
		if !isNaN32(bf16ToF32(h)) || h>>15 != uint16(bits>>31) {
			t.Errorf("f32ToBF16(NaN %#08x) = %#04x, want a NaN with the same sign", bits, h)
		}
	}
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := bf16ToF32(h)
		if math.Float32bits(f) != uint32(h)<<16 {
			t.Fatalf("bf16ToF32(%#04x) bits = %#08x", h, math.Float32bits(f))
		}
		if !isNaN32(f) || h&0x40 != 0 {
			if got := f32ToBF16(f); got != h {
				t.Fatalf("bf16 round trip %#04x -> %#04x", h, got)
			}
		}
	}
	if got := bf16ToF32(0x3f80); got != 1 {
		t.Errorf("bf16ToF32(0x3f80) = %v", got)
	}
	if got := bf16ToF32(0xc000); got != -2 {
		t.Errorf("bf16ToF32(0xc000) = %v", got)
	}
}

func isNaN32(f float32) bool { return f != f }
