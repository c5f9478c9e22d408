package stats

import "math"

// Wilson returns the Wilson score interval for a proportion of successes out
// of n trials at the given two-sided confidence (e.g. 0.95). Estimate is the
// observed proportion successes/n. With z the normal quantile for the
// confidence and p̂ = successes/n, the bounds are
//
//	(p̂ + z²/2n ± z·√(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)
//
// which, unlike the Wald interval p̂ ± z·√(p̂(1-p̂)/n), stays inside [0,1] and
// does not collapse to a point at 0/n or n/n.
//
// n = 0 gives a NaN estimate, the interval [0,1] and a warning; invalid
// counts (negative, or successes > n) give NaN bounds and a warning; an
// invalid confidence is replaced by 0.95 with a warning. Fewer than 10
// trials add a warning that the interval is wide.
func Wilson(successes, n int, confidence float64) Interval {
	conf, warns := checkConfidence(confidence)
	iv := Interval{N: n, Confidence: conf, Warnings: warns}
	switch {
	case n < 0 || successes < 0 || successes > n:
		iv.Estimate, iv.Low, iv.High = math.NaN(), math.NaN(), math.NaN()
		iv.Warnings = append(iv.Warnings, warnf("invalid counts: %d successes out of %d", successes, n))
		return iv
	case n == 0:
		iv.Estimate, iv.Low, iv.High = math.NaN(), 0, 1
		iv.Warnings = append(iv.Warnings, warnf("0 samples: proportion is undefined"))
		return iv
	}
	z := twoSidedZ(conf)
	nf := float64(n)
	p := float64(successes) / nf
	z2 := z * z
	denom := 1 + z2/nf
	center := (p + z2/(2*nf)) / denom
	half := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / denom
	iv.Estimate = p
	iv.Low = math.Max(0, center-half)
	iv.High = math.Min(1, center+half)
	// Rounding can push a bound a hair past the estimate at 0/n or n/n.
	if successes == 0 {
		iv.Low = 0
	}
	if successes == n {
		iv.High = 1
	}
	if n < fewSamples {
		iv.Warnings = append(iv.Warnings, warnf("%d samples: interval is wide", n))
	}
	return iv
}
