package stats

import (
	"math"
	"slices"
)

// Percentiles returns the requested percentiles of values, each p in
// [0,100] (50 for the median, 90 for p90, 99 for p99).
//
// Definition: sort the n values ascending as v[0..n-1]; the p-th percentile
// is at fractional index h = (n-1)·p/100 and is v[⌊h⌋] + (h-⌊h⌋)·(v[⌊h⌋+1] -
// v[⌊h⌋]), linear interpolation between the two closest ranks. This is
// Hyndman & Fan's type 7, the default ("linear") method of numpy.percentile
// and of R's quantile. p = 0 is the minimum and p = 100 the maximum.
//
// NaN values are ignored. The result for a p outside [0,100] (or NaN), or
// when no values remain, is NaN. values is not modified.
func Percentiles(values []float64, ps ...float64) []float64 {
	sorted := make([]float64, 0, len(values))
	for _, v := range values {
		if !math.IsNaN(v) {
			sorted = append(sorted, v)
		}
	}
	slices.Sort(sorted)
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = percentileSorted(sorted, p)
	}
	return out
}

// percentileSorted is Percentiles for one p over already sorted, NaN-free values.
func percentileSorted(sorted []float64, p float64) float64 {
	if len(sorted) == 0 || math.IsNaN(p) || p < 0 || p > 100 {
		return math.NaN()
	}
	h := float64(len(sorted)-1) * p / 100
	lo := int(math.Floor(h))
	frac := h - float64(lo)
	if frac == 0 || lo+1 >= len(sorted) {
		return sorted[lo]
	}
	return sorted[lo] + frac*(sorted[lo+1]-sorted[lo])
}
