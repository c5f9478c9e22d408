package stats

import "math"

// PairedDifference returns Newcombe's square-and-add interval (his method
// 10, with the corrected correlation) for the difference pA - pB of two
// proportions measured on the same n pairs: both pairs succeed on both,
// onlyA on A alone, onlyB on B alone, neither on neither; pA = (both+onlyA)/n
// and pB = (both+onlyB)/n. With lA, uA and lB, uB the Wilson intervals of pA
// and pB and ψ the correlation of the two proportions,
//
//	low  = d - √((pA-lA)² + (uB-pB)² - 2ψ(pA-lA)(uB-pB))
//	high = d + √((pB-lB)² + (uA-pA)² - 2ψ(pB-lB)(uA-pA))
//
// where ψ = (both·neither - onlyA·onlyB - n/2)/√(product of the four
// margins) when both·neither - onlyA·onlyB exceeds n/2, the plain
// correlation when that product difference is negative, and 0 otherwise or
// when a margin is 0. It stays inside [-1, 1], does not collapse to a point
// when the pairs all agree (a paired t-interval of the differences does),
// and is one of the intervals recommended for paired proportions
// (Fagerland, Lydersen and Laake, 2014).
//
// n = 0 gives a NaN estimate, the interval [-1, 1] and a warning; negative
// counts give NaN bounds and a warning; fewer than 10 pairs add a warning
// that the interval is wide.
func PairedDifference(both, onlyA, onlyB, neither int, confidence float64) Interval {
	conf, warns := checkConfidence(confidence)
	n := both + onlyA + onlyB + neither
	iv := Interval{N: n, Confidence: conf, Warnings: warns}
	switch {
	case both < 0 || onlyA < 0 || onlyB < 0 || neither < 0:
		iv.Estimate, iv.Low, iv.High = math.NaN(), math.NaN(), math.NaN()
		iv.Warnings = append(iv.Warnings, warnf("invalid counts: %d, %d, %d, %d pairs", both, onlyA, onlyB, neither))
		return iv
	case n == 0:
		iv.Estimate, iv.Low, iv.High = math.NaN(), -1, 1
		iv.Warnings = append(iv.Warnings, warnf("0 pairs: difference is undefined"))
		return iv
	}
	nf := float64(n)
	sa, sb := both+onlyA, both+onlyB // successes of A and of B
	pa, pb := float64(sa)/nf, float64(sb)/nf
	a, b := Wilson(sa, n, conf), Wilson(sb, n, conf)
	psi := 0.0
	if sa > 0 && sa < n && sb > 0 && sb < n {
		margins := math.Sqrt(float64(sa) * float64(n-sa) * float64(sb) * float64(n-sb))
		switch cross := float64(both)*float64(neither) - float64(onlyA)*float64(onlyB); {
		case cross > nf/2:
			psi = (cross - nf/2) / margins
		case cross < 0:
			psi = cross / margins
		}
	}
	d := pa - pb
	da, ua := pa-a.Low, a.High-pa
	db, ub := pb-b.Low, b.High-pb
	iv.Estimate = d
	iv.Low = math.Max(-1, d-math.Sqrt(math.Max(0, da*da+ub*ub-2*psi*da*ub)))
	iv.High = math.Min(1, d+math.Sqrt(math.Max(0, db*db+ua*ua-2*psi*db*ua)))
	if n < fewSamples {
		iv.Warnings = append(iv.Warnings, warnf("%d pairs: interval is wide", n))
	}
	return iv
}
