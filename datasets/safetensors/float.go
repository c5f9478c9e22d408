package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
)

// decodeFloats converts little-endian float data of the given dtype.
func decodeFloats(dtype string, b []byte) ([]float32, error) {
	size := dtypeSizes[dtype]
	if size == 0 || len(b)%size != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of %s elements", len(b), dtype)
	}
	out := make([]float32, len(b)/size)
	switch dtype {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:])))
		}
	case F16:
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	case BF16:
		for i := range out {
			out[i] = bf16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
	default:
		return nil, fmt.Errorf("dtype %s is not a float dtype (want F32, F16, BF16 or F64)", dtype)
	}
	return out, nil
}

// f16ToF32 converts IEEE 754 binary16 bits to float32 exactly.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		// Zero or subnormal: mant × 2^-24, exact in float32.
		v := float32(mant) * (1.0 / (1 << 24))
		return math.Float32frombits(sign | math.Float32bits(v))
	case 0x1f:
		// Inf (mant == 0) or NaN; the payload, including the quiet bit, is kept.
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// f32ToF16 converts a float32 to IEEE 754 binary16 bits, rounding to
// nearest with ties to even; out-of-range values become ±Inf and NaN stays
// NaN (quiet, keeping the top payload bits).
func f32ToF16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7c00 | 0x200 | uint16(mant>>13)
	}
	e := exp - 127 // unbiased exponent
	switch {
	case e > 15:
		return sign | 0x7c00
	case e >= -14:
		// Normal range: drop 13 mantissa bits with rounding; a carry out of
		// the mantissa correctly bumps the exponent (up to Inf).
		h := uint32(e+15)<<10 | mant>>13
		h = roundShifted(h, mant&0x1fff, 13)
		return sign | uint16(h)
	}
	// Subnormal f16 (or zero): value is m × 2^(e-23) with the implicit bit,
	// i.e. m × 2^(e+1) units of 2^-24.
	if exp == 0 {
		return sign // float32 subnormals are far below half the smallest f16 subnormal
	}
	m := mant | 1<<23
	shift := uint32(-(e + 1)) // >= 14
	if shift > 24 {
		return sign // below half of the smallest subnormal
	}
	h := m >> shift
	h = roundShifted(h, m&(1<<shift-1), shift)
	return sign | uint16(h)
}

// roundShifted rounds the truncated value h to nearest, ties to even, given
// the shift discarded bits rem.
func roundShifted(h, rem, shift uint32) uint32 {
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && h&1 == 1) {
		h++
	}
	return h
}

// bf16ToF32 converts bfloat16 bits to float32 (exact: bf16 is the top half
// of a float32).
func bf16ToF32(h uint16) float32 {
	return math.Float32frombits(uint32(h) << 16)
}

// f32ToBF16 converts a float32 to bfloat16 bits, rounding to nearest with
// ties to even; NaN stays NaN (quiet).
func f32ToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 { // NaN
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}
