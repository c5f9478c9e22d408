package model

import "math"

// rotary holds the frequencies of one forward call.
type rotary struct {
	invFreq []float64 // d/2
	scale   float64   // multiplies cos and sin (YaRN's attention factor)
}

// ropeFor returns the rotary frequencies of the Hugging Face rope type for
// a forward call whose largest position is seqLen-1. Only "dynamic" depends
// on seqLen: like transformers, it recomputes the base for the call's
// length once that exceeds max_position_embeddings; keys already cached keep
// the rotation they were stored with.
//
// Frequencies and angles are computed in float64 (transformers uses
// float32); the difference is below 1e-6 relative at the positions of the
// reference tests and only makes long positions more accurate.
func ropeFor(c *Config, seqLen int) rotary {
	r := c.Rope
	dim := c.HeadDim
	half := dim / 2
	base := r.Theta
	inv := make([]float64, half)
	fill := func(b float64) {
		for i := range inv {
			inv[i] = 1 / math.Pow(b, float64(2*i)/float64(dim))
		}
	}
	scale := 1.0
	switch r.Type {
	case "linear":
		fill(base)
		for i := range inv {
			inv[i] /= r.Factor
		}
	case "dynamic":
		n := max(seqLen, c.MaxPos)
		b := base * math.Pow(r.Factor*float64(n)/float64(c.MaxPos)-(r.Factor-1), float64(dim)/float64(dim-2))
		fill(b)
	case "yarn":
		factor := r.Factor
		orig := c.MaxPos
		if r.OriginalMaxPos > 0 {
			// The explicit factor wins over max_position_embeddings /
			// original_max_position_embeddings when they disagree, as in
			// transformers 5 (older versions used the ratio; the
			// llama-rope-yarn2 reference pins this).
			orig = r.OriginalMaxPos
		}
		getM := func(s, m float64) float64 {
			if s <= 1 {
				return 1
			}
			return 0.1*m*math.Log(s) + 1
		}
		scale = r.AttentionFactor
		if scale == 0 {
			if r.Mscale != 0 && r.MscaleAllDim != 0 {
				scale = getM(factor, r.Mscale) / getM(factor, r.MscaleAllDim)
			} else {
				scale = getM(factor, 1)
			}
		}
		corr := func(rot float64) float64 {
			return float64(dim) * math.Log(float64(orig)/(rot*2*math.Pi)) / (2 * math.Log(base))
		}
		lo, hi := corr(r.BetaFast), corr(r.BetaSlow)
		if r.Truncate {
			lo, hi = math.Floor(lo), math.Ceil(hi)
		}
		lo, hi = max(lo, 0), min(hi, float64(dim-1))
		if lo == hi {
			hi += 0.001
		}
		for i := range inv {
			pf := math.Pow(base, float64(2*i)/float64(dim))
			extra, inter := 1/pf, 1/(factor*pf)
			ramp := min(max((float64(i)-lo)/(hi-lo), 0), 1)
			ef := 1 - ramp // extrapolation weight
			inv[i] = inter*(1-ef) + extra*ef
		}
	case "llama3":
		fill(base)
		old := float64(r.OriginalMaxPos)
		lowWave, highWave := old/r.LowFreqFactor, old/r.HighFreqFactor
		for i, f := range inv {
			wave := 2 * math.Pi / f
			switch {
			case wave < highWave:
				// high frequency: unchanged
			case wave > lowWave:
				inv[i] = f / r.Factor
			default:
				s := (old/wave - r.LowFreqFactor) / (r.HighFreqFactor - r.LowFreqFactor)
				inv[i] = (1-s)*f/r.Factor + s*f
			}
		}
	case "freqs":
		fill(base)
		for i := range inv {
			inv[i] /= r.FreqFactors[i]
		}
	default:
		fill(base)
	}
	return rotary{invFreq: inv, scale: scale}
}

// table holds cos and sin (times the attention factor) of the positions
// pos0 .. pos0+m-1: m rows of d/2.
type ropeTable struct {
	half    int
	cos, sn []float32
}

func (r rotary) table(m, pos0 int) ropeTable {
	half := len(r.invFreq)
	t := ropeTable{half: half, cos: make([]float32, m*half), sn: make([]float32, m*half)}
	for i := 0; i < m; i++ {
		p := float64(pos0 + i)
		for j, f := range r.invFreq {
			s, c := math.Sincos(p * f)
			t.cos[i*half+j], t.sn[i*half+j] = float32(c*r.scale), float32(s*r.scale)
		}
	}
	return t
}

// apply rotates the heads of m tokens in place, the Hugging Face way
// (rotate_half: dimension i pairs with i+d/2). x holds m*heads*d floats,
// token-major.
func (t ropeTable) apply(x []float32, m, heads int) {
	half := t.half
	d := 2 * half
	for i := 0; i < m; i++ {
		cs := t.cos[i*half : (i+1)*half]
		sn := t.sn[i*half : (i+1)*half]
		for h := 0; h < heads; h++ {
			v := x[(i*heads+h)*d : (i*heads+h+1)*d]
			a, b := v[:half], v[half:d]
			for j := range cs {
				a0, b0 := a[j], b[j]
				a[j] = a0*cs[j] - b0*sn[j]
				b[j] = b0*cs[j] + a0*sn[j]
			}
		}
	}
}
