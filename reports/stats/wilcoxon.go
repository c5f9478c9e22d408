package stats

import (
	"math"
	"slices"
)

// wilcoxonExactMax is the largest number of nonzero differences for which
// Wilcoxon enumerates the exact null distribution.
const wilcoxonExactMax = 20

// Wilcoxon runs the two-sided Wilcoxon signed-rank test on paired values,
// typically latencies of two backends on the same samples: x[i] and y[i]
// belong to sample i.
//
// The differences d = x - y that are zero are dropped (Wilcoxon's original
// treatment), the rest are ranked by |d| with tied magnitudes given the
// average of their ranks, and Statistic is W+, the sum of the ranks of the
// positive differences (large W+ means x tends to exceed y). N is the number
// of nonzero differences.
//
// With N <= 20 and no tied magnitudes the p-value is exact: the null
// distribution of W+ (each rank's sign a fair coin) is enumerated by dynamic
// programming over rank sums, and p = min(1, 2·P(W+ <= min(W+, W-))).
// Otherwise it uses the normal approximation with mean N(N+1)/4, variance
// N(N+1)(2N+1)/24 - Σ(t³-t)/48 over groups of t tied magnitudes, and a
// continuity correction of 1/2 on |W+ - mean|.
//
// Pairs with a non-finite value are dropped with a warning; slices of
// different lengths give NaN with a warning; no nonzero differences give
// p = 1 with a warning.
func Wilcoxon(x, y []float64) Test {
	t := Test{Method: MethodNone}
	if len(x) != len(y) {
		t.Statistic, t.PValue = math.NaN(), math.NaN()
		t.Warnings = append(t.Warnings, warnf("unpaired input: %d and %d values", len(x), len(y)))
		return t
	}
	var d []float64
	zeros, bad := 0, 0
	for i := range x {
		di := x[i] - y[i]
		switch {
		case math.IsNaN(di) || math.IsInf(di, 0) || math.IsInf(x[i], 0) || math.IsInf(y[i], 0):
			bad++
		case di == 0:
			zeros++
		default:
			d = append(d, di)
		}
	}
	if bad > 0 {
		t.Warnings = append(t.Warnings, warnf("%d pairs with non-finite values dropped", bad))
	}
	if zeros > 0 && len(d) > 0 {
		t.Warnings = append(t.Warnings, warnf("%d zero differences dropped", zeros))
	}
	n := len(d)
	t.N = n
	if n == 0 {
		t.Statistic, t.PValue = 0, 1
		if len(x) == 0 {
			t.Warnings = append(t.Warnings, warnf("0 samples: nothing to test"))
		} else {
			t.Warnings = append(t.Warnings, warnf("all differences are zero"))
		}
		return t
	}

	wPlus, tieGroups := signedRankSum(d)
	t.Statistic = wPlus
	nf := float64(n)
	total := nf * (nf + 1) / 2

	if n <= wilcoxonExactMax && len(tieGroups) == 0 {
		t.Method = MethodExactRankSum
		// Without ties W+ is an integer; round away float noise.
		k := int(math.Round(math.Min(wPlus, total-wPlus)))
		t.PValue = math.Min(1, 2*signedRankCDF(k, n))
	} else {
		if n <= wilcoxonExactMax {
			t.Warnings = append(t.Warnings, warnf("tied differences: normal approximation used with %d pairs", n))
		}
		t.Method = MethodNormalTiesCC
		variance := nf * (nf + 1) * (2*nf + 1) / 24
		for _, g := range tieGroups {
			tf := float64(g)
			variance -= (tf*tf*tf - tf) / 48
		}
		dev := math.Max(0, math.Abs(wPlus-total/2)-0.5)
		if variance <= 0 {
			t.PValue = 1
		} else {
			t.PValue = clamp01(normalSurvival2(dev / math.Sqrt(variance)))
		}
	}
	if n < 6 {
		// The smallest exact two-sided p with n pairs is 2/2^n > 0.05 for n <= 5.
		t.Warnings = append(t.Warnings, warnf("%d nonzero differences: the test cannot reach p < 0.05", n))
	}
	return t
}

// signedRankSum ranks the nonzero differences d by magnitude (average ranks
// for ties) and returns the sum of ranks of the positive ones and the sizes
// of the groups of tied magnitudes (only groups of 2 or more).
func signedRankSum(d []float64) (wPlus float64, tieGroups []int) {
	idx := make([]int, len(d))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		return cmpFloat(math.Abs(d[a]), math.Abs(d[b]))
	})
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && math.Abs(d[idx[j]]) == math.Abs(d[idx[i]]) {
			j++
		}
		// Positions i..j-1 (ranks i+1..j) share the average rank.
		rank := float64(i+1+j) / 2
		for _, k := range idx[i:j] {
			if d[k] > 0 {
				wPlus += rank
			}
		}
		if j-i > 1 {
			tieGroups = append(tieGroups, j-i)
		}
		i = j
	}
	return wPlus, tieGroups
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// signedRankCDF returns P(W+ <= k) under the null hypothesis for n untied
// ranks 1..n, each included in W+ independently with probability 1/2. It
// counts the subsets of {1..n} with each sum s by dynamic programming:
// adding rank r, count[s] += count[s-r].
func signedRankCDF(k, n int) float64 {
	if k < 0 {
		return 0
	}
	maxSum := n * (n + 1) / 2
	if k >= maxSum {
		return 1
	}
	count := make([]float64, maxSum+1) // exact: counts stay below 2^20
	count[0] = 1
	for r := 1; r <= n; r++ {
		for s := r * (r + 1) / 2; s >= r; s-- {
			count[s] += count[s-r]
		}
	}
	var below float64
	for s := 0; s <= k; s++ {
		below += count[s]
	}
	return below / math.Exp2(float64(n))
}
