package stats

import (
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultResamples is the number of bootstrap resamples used when a caller
// passes resamples <= 0.
const DefaultResamples = 2000

// BootstrapMean returns a percentile-bootstrap confidence interval for the
// mean of values. See [BootstrapMedian] for the method.
func BootstrapMean(values []float64, confidence float64, resamples int, seed uint64) Interval {
	return bootstrap(values, confidence, resamples, seed, mean)
}

// BootstrapMedian returns a percentile-bootstrap confidence interval for the
// median of values (the mean of the two middle values when the count is
// even).
//
// Method: draw resamples samples of len(values) with replacement, compute
// the statistic on each, and take the (1-confidence)/2 and
// 1-(1-confidence)/2 percentiles (as defined by [Percentiles]) of those
// statistics as the bounds. Estimate is the statistic of the original
// values. The draws come from math/rand/v2's PCG seeded with seed, so the
// same input, confidence, resamples and seed always give the same interval.
//
// Non-finite values are dropped with a warning. No values give NaN and a
// warning; one value gives a zero-width interval and a warning. The
// percentile bootstrap tends to be too narrow for small samples, so fewer
// than 10 values add a warning. resamples <= 0 means [DefaultResamples].
func BootstrapMedian(values []float64, confidence float64, resamples int, seed uint64) Interval {
	return bootstrap(values, confidence, resamples, seed, median)
}

func bootstrap(values []float64, confidence float64, resamples int, seed uint64, stat func([]float64) float64) Interval {
	conf, warns := checkConfidence(confidence)
	xs := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			xs = append(xs, v)
		}
	}
	iv := Interval{N: len(xs), Confidence: conf, Warnings: warns}
	if dropped := len(values) - len(xs); dropped > 0 {
		iv.Warnings = append(iv.Warnings, warnf("%d non-finite values dropped", dropped))
	}
	n := len(xs)
	switch n {
	case 0:
		iv.Estimate, iv.Low, iv.High = math.NaN(), math.NaN(), math.NaN()
		iv.Warnings = append(iv.Warnings, warnf("0 samples: no interval"))
		return iv
	case 1:
		iv.Estimate, iv.Low, iv.High = xs[0], xs[0], xs[0]
		iv.Warnings = append(iv.Warnings, warnf("1 sample: no spread, interval has zero width"))
		return iv
	}
	if resamples <= 0 {
		resamples = DefaultResamples
	}
	iv.Estimate = stat(slices.Clone(xs))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	stats := make([]float64, resamples)
	buf := make([]float64, n)
	for r := range stats {
		for i := range buf {
			buf[i] = xs[rng.IntN(n)]
		}
		stats[r] = stat(buf)
	}
	slices.Sort(stats)
	alpha := 1 - conf
	iv.Low = percentileSorted(stats, 100*alpha/2)
	iv.High = percentileSorted(stats, 100*(1-alpha/2))
	if n < fewSamples {
		iv.Warnings = append(iv.Warnings, warnf("%d samples: interval is wide and the bootstrap may understate it", n))
	}
	return iv
}

// mean is the arithmetic mean of xs (non-empty, finite).
func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// median sorts xs in place and returns its median (non-empty, finite).
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 1 {
		return xs[m]
	}
	return xs[m-1] + (xs[m]-xs[m-1])/2
}
