// Package stats owns the inferential statistics of evalctl reports:
// confidence intervals (Wilson score for proportions, Newcombe's
// square-and-add for a paired difference of proportions, percentile
// bootstrap for means and medians), percentiles, and paired tests comparing two
// backends on the same samples (McNemar for correctness, Wilcoxon
// signed-rank for latencies), together with the normal quantile they need.
//
// Nothing here fails a run or panics on bad data. Every result is a plain
// value ([Interval] or [Test]) that carries its own [Warning] values
// ("3 samples: interval is wide", "all differences are zero", ...); a result
// that cannot be computed holds NaN and says why. Rendering and deciding
// what to do with a warning belong to the caller (package reports).
//
// Whether a higher value is better is a property of the metric's unit and is
// carried by the caller; these functions are direction-free: intervals are
// two-sided and tests are two-sided.
package stats

import "fmt"

// Warning is something that makes a result less trustworthy. It is data to
// be shown next to the number, never an error.
type Warning struct {
	Message string
}

func (w Warning) String() string { return w.Message }

func warnf(format string, args ...any) Warning {
	return Warning{Message: fmt.Sprintf(format, args...)}
}

// Interval is a two-sided confidence interval around a point estimate.
type Interval struct {
	Estimate   float64 // point estimate (proportion, mean or median); NaN when undefined
	Low, High  float64 // interval bounds; Low <= High (a bootstrap interval need not contain Estimate)
	N          int     // number of observations used
	Confidence float64 // nominal coverage, e.g. 0.95
	Warnings   []Warning
}

// Test is the result of a two-sided hypothesis test.
type Test struct {
	Statistic float64 // test statistic; its meaning depends on Method
	PValue    float64 // two-sided p-value in [0,1]; NaN when the test could not run
	N         int     // number of informative observations (discordant pairs, nonzero differences)
	Method    string  // how PValue was computed
	Warnings  []Warning
}

// fewSamples is the sample size below which intervals get a warning.
const fewSamples = 10

// checkConfidence returns confidence when it is in (0,1), else 0.95 and a warning.
func checkConfidence(confidence float64) (float64, []Warning) {
	if confidence > 0 && confidence < 1 {
		return confidence, nil
	}
	return 0.95, []Warning{warnf("confidence %v is not in (0,1): using 0.95", confidence)}
}
