package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
)

// f16ToF32 converts IEEE 754 binary16 bits to float32; every binary16 value,
// subnormals included, is exact in float32. NaN payloads are kept.
func f16ToF32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch exp {
	case 0: // zero or subnormal: frac × 2^-24
		return math.Float32frombits(sign | math.Float32bits(float32(frac)*0x1p-24))
	case 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+(127-15))<<23 | frac<<13)
}

// f16Table maps every binary16 bit pattern to its float32 value (256 KiB,
// built on first use); decoding through it is several times faster than
// branching per element.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = f16ToF32(uint16(i))
	}
	return &t
})

// f32ToF16 converts a float32 to binary16 bits, rounding to nearest with
// ties to even. Magnitudes from 65520 up become ±Inf; NaN stays NaN, made
// quiet, keeping the top 9 payload bits.
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	frac := b & 0x7fffff
	if exp == 0xff {
		if frac == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(frac>>13)
	}
	e := exp - 127 + 15 // the binary16 biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e > 0 {
		// Normal binary16: keep 10 of the 23 fraction bits. Rounding may
		// carry into the exponent, which is then still the right encoding
		// (up to 0x7c00, Inf).
		h := uint32(e)<<10 | frac>>13
		return sign | uint16(roundEven(h, frac&0x1fff, 13))
	}
	// Subnormal binary16 or zero: the value in units of 2^-24 is
	// m × 2^(exp-126) with m the significand including its leading bit.
	if exp == 0 {
		return sign // float32 subnormals are below 2^-126, far under 2^-25
	}
	m := frac | 1<<23
	shift := uint32(126 - exp) // at least 14
	if shift > 24 {
		return sign // below half the smallest subnormal (m < 2^24)
	}
	return sign | uint16(roundEven(m>>shift, m&(1<<shift-1), shift))
}

// roundEven rounds the truncated value h, whose shift discarded low bits
// were rem, to nearest with ties to even.
func roundEven(h, rem, shift uint32) uint32 {
	half := uint32(1) << (shift - 1)
	if rem > half || rem == half && h&1 == 1 {
		h++
	}
	return h
}

// bf16ToF32 widens bfloat16 bits to float32 (exactly: bfloat16 is the top
// half of a float32).
func bf16ToF32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// f32ToBF16 converts a float32 to bfloat16 bits, rounding to nearest with
// ties to even (overflowing to ±Inf); NaN stays NaN, made quiet.
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40
	}
	// Adding just under half an ulp, plus one if the kept part is odd,
	// carries into the kept bits exactly when rounding up is due.
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// q8MaxAbs is the largest magnitude Q8_0 can hold: 127 × the largest
// finite binary16 scale.
const q8MaxAbs = 127 * 65504

// q8Scale returns the binary16 scale of a Q8_0 block whose largest
// magnitude is amax (0 <= amax <= q8MaxAbs): the smallest binary16 value d
// with 127·d >= amax. Rounding the scale up rather than to nearest keeps
// every |x/d| <= 127, so no quantized value is clipped and the error of each
// element stays within d/2, even where the scale is a binary16 subnormal.
func q8Scale(amax float32) uint16 {
	if amax == 0 {
		return 0
	}
	h := f32ToF16(amax / 127)
	for float64(f16ToF32(h))*127 < float64(amax) {
		h++ // the next binary16 up; amax <= q8MaxAbs keeps this finite
	}
	return h
}

// checkQ8 reports why x cannot be quantized to Q8_0, if it cannot: a
// non-finite value, or a magnitude beyond q8MaxAbs.
func checkQ8(x []float32) error {
	for i, v := range x {
		if v != v || math.IsInf(float64(v), 0) {
			return fmt.Errorf("element %d is %v, which Q8_0 cannot represent", i, v)
		}
		if math.Abs(float64(v)) > q8MaxAbs {
			return fmt.Errorf("element %d (%v) exceeds the Q8_0 range of ±%d", i, v, q8MaxAbs)
		}
	}
	return nil
}

// quantizeQ8Block stores the 32 values of x (checked by checkQ8) as one
// 34-byte Q8_0 block in dst: the binary16 scale d, then q = round(x/d),
// rounding halves away from zero (q = 0 throughout when d = 0).
func quantizeQ8Block(dst []byte, x []float32) {
	_ = dst[q8BlockBytes-1]
	_ = x[q8BlockLen-1]
	var amax float32
	for _, v := range x[:q8BlockLen] {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	h := q8Scale(amax)
	binary.LittleEndian.PutUint16(dst, h)
	d := float64(f16ToF32(h))
	q := dst[2:q8BlockBytes]
	if d == 0 {
		clear(q)
		return
	}
	for j, v := range x[:q8BlockLen] {
		r := math.Round(float64(v) / d)
		r = max(-127, min(127, r)) // a no-op, by the choice of d
		q[j] = byte(int8(r))
	}
}

const (
	q8BlockLen   = 32
	q8BlockBytes = 34
)

// encode appends the encoding of x as type t (F32, F16, BF16 or Q8_0; for
// Q8_0 len(x) is a multiple of 32 and x passed checkQ8) to dst.
func encode(dst []byte, t GGMLType, x []float32) []byte {
	switch t {
	case F32:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
		}
	case F16:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint16(dst, f32ToF16(v))
		}
	case BF16:
		for _, v := range x {
			dst = binary.LittleEndian.AppendUint16(dst, f32ToBF16(v))
		}
	case Q8_0:
		for i := 0; i+q8BlockLen <= len(x); i += q8BlockLen {
			n := len(dst)
			dst = append(dst, make([]byte, q8BlockBytes)...)
			quantizeQ8Block(dst[n:], x[i:i+q8BlockLen])
		}
	default:
		panic("gguf: encode: unsupported type " + t.String())
	}
	return dst
}

// decode converts the bytes b of n elements of type t (F32, F16, BF16 or
// Q8_0; len(b) already checked against n) to float32.
func decode(t GGMLType, b []byte, n int) []float32 {
	out := make([]float32, n)
	switch t {
	case F32:
		b = b[:4*n]
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F16:
		b = b[:2*n]
		tab := f16Table()
		for i := range out {
			out[i] = tab[uint16(b[2*i])|uint16(b[2*i+1])<<8]
		}
	case BF16:
		b = b[:2*n]
		for i := range out {
			out[i] = bf16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case Q8_0:
		tab := f16Table()
		for k := range n / q8BlockLen {
			blk := (*[q8BlockBytes]byte)(b[k*q8BlockBytes:])
			o := (*[q8BlockLen]float32)(out[k*q8BlockLen:])
			d := tab[uint16(blk[0])|uint16(blk[1])<<8]
			for j := range o {
				o[j] = d * float32(int8(blk[2+j]))
			}
		}
	default:
		panic("gguf: decode: unsupported type " + t.String())
	}
	return out
}
