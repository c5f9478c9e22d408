package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/reports/stats"
)

// Thresholds decide what Compare calls a regression.
type Thresholds struct {
	// MaxScoreDrop is the largest allowed drop of a score's mean (absolute,
	// scores are in [0,1] or [0,100] as the task reports them). Scores are
	// deterministic for a suite and seed, so any drop beyond it counts,
	// significant or not.
	MaxScoreDrop float64
	// MaxSlowdown is the largest allowed ratio of a timing's median, new
	// over base (1.10: 10% slower). Timings are noisy: a slowdown beyond it
	// counts only when the paired Wilcoxon test on the same cells gives
	// p < Alpha.
	MaxSlowdown float64
	Alpha       float64
}

// DefaultThresholds allow a 0.02 score drop and a 10% slowdown at p < 0.05.
func DefaultThresholds() Thresholds {
	return Thresholds{MaxScoreDrop: 0.02, MaxSlowdown: 1.10, Alpha: 0.05}
}

// Diff compares one metric of one (task, backend, length) group.
type Diff struct {
	Task, Metric, Backend string
	Length                int
	Kind                  Kind
	Unit                  string
	Base, New             float64 // means for scores and metrics, medians for timings
	Pairs                 int     // cells present and successful in both runs
	P                     float64 // paired Wilcoxon p-value; NaN when not computed
	Regression            bool
	Improvement           bool
	Note                  string
}

// Comparison is the result of Compare.
type Comparison struct {
	Thresholds Thresholds
	Diffs      []Diff // sorted by task, metric, backend, length
	// NewErrors counts groups where the new run has more error records.
	NewErrors   []string
	Regressions int
	BaseRuns    []string
	NewRuns     []string
}

type groupKey struct {
	task, metric, backend string
	length                int
}

type sample struct {
	kind  Kind
	unit  string
	value float64
}

// collect maps group -> cell key -> value, and counts error records per
// (task, backend, length).
func collect(recs []*record.Record) (map[groupKey]map[string]sample, map[string]int, []string) {
	out := map[groupKey]map[string]sample{}
	errs := map[string]int{}
	runs := map[string]bool{}
	add := func(r *record.Record, name string, s sample) {
		if math.IsNaN(s.value) || math.IsInf(s.value, 0) {
			return
		}
		k := groupKey{r.Task, name, r.Backend, r.Length}
		if out[k] == nil {
			out[k] = map[string]sample{}
		}
		out[k][r.Key] = s
	}
	for _, r := range recs {
		if r == nil {
			continue
		}
		runs[r.Run] = true
		if !r.OK() {
			errs[fmt.Sprintf("%s/%s/%s", r.Task, r.Backend, FormatLength(r.Length))]++
			continue
		}
		for n, v := range r.Scores {
			add(r, n, sample{KindScore, "score", v})
		}
		for n, v := range r.Metrics {
			add(r, n, sample{KindMetric, v.Unit, v.Value})
		}
		for n, v := range r.Timings {
			add(r, n, sample{KindTiming, v.Unit, v.Value})
		}
	}
	var rs []string
	for r := range runs {
		rs = append(rs, r)
	}
	sort.Strings(rs)
	return out, errs, rs
}

// Compare pairs the records of two runs cell by cell (cell keys are stable
// across runs of the same suite) and judges every score and timing against
// th. Metrics that are neither are reported, never gated.
func Compare(base, new []*record.Record, th Thresholds) *Comparison {
	bg, be, br := collect(base)
	ng, ne, nr := collect(new)
	c := &Comparison{Thresholds: th, BaseRuns: br, NewRuns: nr}
	for k, nv := range ng {
		bv, ok := bg[k]
		if !ok {
			continue
		}
		var xs, ys []float64
		var kind Kind
		var unit string
		for key, s := range nv {
			if b, ok := bv[key]; ok {
				xs = append(xs, b.value)
				ys = append(ys, s.value)
				kind, unit = s.kind, s.unit
			}
		}
		if len(xs) == 0 {
			continue
		}
		d := Diff{Task: k.task, Metric: k.metric, Backend: k.backend, Length: k.length, Kind: kind, Unit: unit, Pairs: len(xs), P: math.NaN()}
		switch kind {
		case KindTiming:
			q := stats.Percentiles(xs, 50)
			r := stats.Percentiles(ys, 50)
			d.Base, d.New = q[0], r[0]
			test := stats.Wilcoxon(ys, xs)
			d.P = test.PValue
			if d.Base > 0 {
				ratio := d.New / d.Base
				significant := !math.IsNaN(d.P) && d.P < th.Alpha
				switch {
				case ratio > th.MaxSlowdown && significant:
					d.Regression = true
					d.Note = fmt.Sprintf("%.2fx slower (p=%.3g)", ratio, d.P)
				case ratio > th.MaxSlowdown:
					d.Note = fmt.Sprintf("%.2fx slower, not significant (p=%.3g, %d pairs)", ratio, d.P, d.Pairs)
				case ratio < 1/th.MaxSlowdown && significant:
					d.Improvement = true
					d.Note = fmt.Sprintf("%.2fx faster (p=%.3g)", 1/ratio, d.P)
				}
			}
		default:
			d.Base, d.New = meanOf(xs), meanOf(ys)
			if kind == KindScore {
				if len(xs) >= 2 {
					d.P = stats.Wilcoxon(ys, xs).PValue
				}
				switch drop := d.Base - d.New; {
				case drop > th.MaxScoreDrop:
					d.Regression = true
					d.Note = fmt.Sprintf("score dropped by %.4g", drop)
				case -drop > th.MaxScoreDrop:
					d.Improvement = true
					d.Note = fmt.Sprintf("score rose by %.4g", -drop)
				}
			}
		}
		if d.Regression {
			c.Regressions++
		}
		c.Diffs = append(c.Diffs, d)
	}
	for g, n := range ne {
		if n > be[g] {
			c.NewErrors = append(c.NewErrors, fmt.Sprintf("%s: %d error records (base %d)", g, n, be[g]))
			c.Regressions++
		}
	}
	sort.Strings(c.NewErrors)
	sort.Slice(c.Diffs, func(i, j int) bool {
		a, b := c.Diffs[i], c.Diffs[j]
		if a.Task != b.Task {
			return a.Task < b.Task
		}
		if a.Metric != b.Metric {
			return a.Metric < b.Metric
		}
		if a.Backend != b.Backend {
			return a.Backend < b.Backend
		}
		return a.Length < b.Length
	})
	return c
}

func meanOf(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Markdown writes the verdict, then a table of the regressions and
// improvements (unchanged groups are counted, not listed), suitable for a
// CI step summary.
func (c *Comparison) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	verdict := "no regression"
	if c.Regressions > 0 {
		verdict = fmt.Sprintf("%d regression(s)", c.Regressions)
	}
	fmt.Fprintf(bw, "## Comparison: %s\n\n", verdict)
	fmt.Fprintf(bw, "Base %s, new %s. Thresholds: score drop > %g, timing median > %.2fx at p < %g (paired Wilcoxon over cells present in both runs).\n\n",
		runsText(c.BaseRuns), runsText(c.NewRuns), c.Thresholds.MaxScoreDrop, c.Thresholds.MaxSlowdown, c.Thresholds.Alpha)
	for _, e := range c.NewErrors {
		fmt.Fprintf(bw, "- new errors: %s\n", e)
	}
	if len(c.NewErrors) > 0 {
		fmt.Fprintln(bw)
	}
	var listed, unchanged int
	for _, d := range c.Diffs {
		if d.Regression || d.Improvement || d.Note != "" {
			listed++
		} else {
			unchanged++
		}
	}
	if listed > 0 {
		fmt.Fprintln(bw, "| verdict | task | metric | backend | length | base | new | pairs | note |")
		fmt.Fprintln(bw, "|:--|:--|:--|:--|--:|--:|--:|--:|:--|")
		for _, d := range c.Diffs {
			if !(d.Regression || d.Improvement || d.Note != "") {
				continue
			}
			v := "changed"
			switch {
			case d.Regression:
				v = "REGRESSION"
			case d.Improvement:
				v = "improved"
			}
			fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %d | %s |\n", v, escapeCell(d.Task), escapeCell(d.Metric),
				escapeCell(d.Backend), FormatLength(d.Length), formatValue(d.Base), formatValue(d.New), d.Pairs, escapeCell(d.Note))
		}
		fmt.Fprintln(bw)
	}
	fmt.Fprintf(bw, "%d groups compared, %d within thresholds.\n", len(c.Diffs), unchanged)
	return bw.Flush()
}
