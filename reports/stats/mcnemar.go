package stats

import "math"

// Methods reported in [Test.Method].
const (
	MethodExactBinomial = "exact binomial"
	MethodChiSquareCC   = "chi-square with continuity correction"
	MethodExactRankSum  = "exact signed-rank distribution"
	MethodNormalTiesCC  = "normal approximation with tie and continuity correction"
	MethodNone          = "none"
)

// mcnemarExactBelow is the number of discordant pairs below which McNemar
// uses the exact binomial test.
const mcnemarExactBelow = 25

// McNemar tests whether two backends scored on the same samples have the
// same accuracy. b counts samples the first got right and the second wrong,
// c the reverse; concordant samples carry no information and are not
// needed. N is b+c.
//
// Under the null hypothesis each discordant pair is equally likely to go
// either way, so b ~ Binomial(b+c, 1/2). When b+c < 25 the p-value is the
// exact two-sided binomial one, min(1, 2·P(X <= min(b,c))), and Statistic is
// min(b,c). Otherwise Statistic is the continuity-corrected chi-square
// (|b-c|-1)²/(b+c) (0 when b = c) and the p-value its upper tail with one
// degree of freedom.
//
// b+c = 0 gives p = 1 with a warning; negative counts give NaN with a warning.
func McNemar(b, c int) Test {
	t := Test{Method: MethodNone}
	if b < 0 || c < 0 || b > math.MaxInt-c {
		t.Statistic, t.PValue = math.NaN(), math.NaN()
		t.Warnings = append(t.Warnings, warnf("invalid counts: b=%d c=%d", b, c))
		return t
	}
	n := b + c
	t.N = n
	if n == 0 {
		t.Statistic, t.PValue = 0, 1
		t.Warnings = append(t.Warnings, warnf("no discordant pairs: the backends agree on every sample"))
		return t
	}
	if n < mcnemarExactBelow {
		k := min(b, c)
		t.Method = MethodExactBinomial
		t.Statistic = float64(k)
		t.PValue = math.Min(1, 2*binomialHalfCDF(k, n))
		if n < 6 {
			// The smallest exact two-sided p with n pairs is 2/2^n > 0.05 for n <= 5.
			t.Warnings = append(t.Warnings, warnf("%d discordant pairs: the test cannot reach p < 0.05", n))
		}
		return t
	}
	nf := float64(n)
	d := math.Max(0, math.Abs(float64(b)-float64(c))-1)
	t.Method = MethodChiSquareCC
	t.Statistic = d * d / nf
	// Upper tail of chi-square with 1 df: P(χ² >= s) = P(|Z| >= √s).
	t.PValue = clamp01(normalSurvival2(math.Sqrt(t.Statistic)))
	return t
}

// binomialHalfCDF returns P(X <= k) for X ~ Binomial(n, 1/2), 0 <= k <= n,
// for the small n McNemar uses it with.
func binomialHalfCDF(k, n int) float64 {
	coef := 1.0 // C(n, 0)
	sum := 0.0
	for i := 0; i <= k; i++ {
		sum += coef
		coef = coef * float64(n-i) / float64(i+1)
	}
	return sum / math.Exp2(float64(n))
}

func clamp01(p float64) float64 {
	if math.IsNaN(p) {
		return p
	}
	return math.Max(0, math.Min(1, p))
}
