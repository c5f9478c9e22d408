package reports

import (
	"math"

	"github.com/montanaflynn/stats"
)

// Stat describes the values of one group (task, metric, backend, length).
type Stat struct {
	N      int     // number of values
	Mean   float64 // arithmetic mean
	Median float64 // median (mean of the two middle values when N is even)
	StdDev float64 // sample standard deviation (N-1 denominator); 0 when N < 2
	Min    float64 // smallest value
	Max    float64 // largest value

	// HasInterval reports whether Low and High hold a 95% confidence
	// interval for the mean. It is false when N < 2; Low and High then
	// equal Mean.
	HasInterval bool
	Low, High   float64
	// Method names the interval: "" for the t-interval of the mean,
	// "wilson" for the Wilson interval of a pass/fail score (asymmetric).
	Method string
}

// HalfWidth returns the half-width of the 95% interval for the mean, or 0
// when there is no interval.
func (s Stat) HalfWidth() float64 {
	if !s.HasInterval {
		return 0
	}
	return (s.High - s.Low) / 2
}

// Describe computes a Stat for values. The 95% interval for the mean is
// mean ± t(0.975, N-1)·sd/√N with Student's t quantile, which is wider than
// the normal approximation (1.96) for small N, as it should be. An empty
// input gives the zero Stat. Values should be finite; the caller filters
// NaN and infinities (Summary does, and warns about them).
func Describe(values []float64) Stat {
	if len(values) == 0 {
		return Stat{}
	}
	data := stats.Float64Data(values)
	// The errors below can only report an empty input, excluded above.
	mean, _ := stats.Mean(data)
	median, _ := stats.Median(data)
	lo, _ := stats.Min(data)
	hi, _ := stats.Max(data)
	s := Stat{N: len(values), Mean: mean, Median: median, Min: lo, Max: hi, Low: mean, High: mean}
	if s.N < 2 {
		return s
	}
	sd, err := stats.StandardDeviationSample(data)
	if err != nil || math.IsNaN(sd) {
		return s
	}
	s.StdDev = sd
	hw := tQuantile975(s.N-1) * sd / math.Sqrt(float64(s.N))
	s.HasInterval = true
	s.Low, s.High = mean-hw, mean+hw
	return s
}

// t975 holds the 0.975 quantile of Student's t distribution for 1..30
// degrees of freedom.
var t975 = [...]float64{
	12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
	2.2010, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
	2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423,
}

// tQuantile975 returns the 0.975 quantile of Student's t distribution with
// df degrees of freedom: from a table up to 30, and beyond it from the
// Cornish–Fisher expansion around the normal quantile, which agrees with the
// exact value to four decimals there.
func tQuantile975(df int) float64 {
	if df < 1 {
		return math.NaN()
	}
	if df <= len(t975) {
		return t975[df-1]
	}
	const z = 1.959963984540054
	v := float64(df)
	z3, z5, z7 := z*z*z, math.Pow(z, 5), math.Pow(z, 7)
	return z + (z3+z)/(4*v) + (5*z5+16*z3+3*z)/(96*v*v) + (3*z7+19*z5+17*z3-15*z)/(384*v*v*v)
}
