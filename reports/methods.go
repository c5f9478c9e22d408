package reports

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	rstats "github.com/evalctl/evalctl/reports/stats"
)

// The method comparison answers "which attention method should I use at
// this length for this kind of task?" from records alone. A method is a
// backend label (dense, sparse-topk16, model-streaming, ...); a task family
// is a task name with its configurations pooled ("needle (keys=4)" and
// "needle (keys=1)" are the family needle), since the question is about
// kinds of tasks, not about one parameter set; the per-configuration
// numbers stay in the task sections.
//
// For each family, length and method it reports:
//
//   - accuracy: the family's headline score (needle_recall, else
//     string_match_all, exact_match, acc or string_match_part, else its
//     first score), the mean with its 95% interval (Wilson for pass/fail
//     scores);
//   - the paired difference to dense (the task's reference backend, see
//     Summary.Reference) on the same samples: Newcombe's square-and-add
//     interval for pass/fail scores, the t-interval of the differences
//     otherwise;
//   - the measured speedup over dense for prefill and for decode: the
//     records' own speedup_prefill / speedup_decode where they carry one
//     (the attention suite times the fast dense kernels on each sample),
//     else the ratio of dense's prefill_ms / decode_ms to the method's on
//     the same sample; the geometric mean over samples with the 95%
//     t-interval of the mean log ratio, exponentiated;
//   - the attended density, the fraction of causally visible keys attended,
//     for prefill and decode: the metric density_<phase>, else
//     attended_fraction_<phase>, else density, else attended_fraction.
//
// The rule naming the best method per family and length: among the
// methods whose mean accuracy on the paired samples is at most Tolerance
// (0.02) below dense's and that have no error record there, the fastest
// (highest geometric-mean speedup of the ranking phase, prefill by
// default) whose speedup is measurably above 1 (the lower end of its 95%
// interval above 1; one sample: its value); dense when none is. Ties go to
// the higher accuracy, then to the earlier backend. There is no verdict
// where dense scores 0 (every method would "match" it) or where the family
// has no dense backend. The tolerance is absolute on the [0, 1] score
// scale, as compare's --max-score-drop; with few samples one lost sample
// exceeds it, so a method wins only where it lost nothing on these samples
// (the intervals say how little that proves).

// DefaultMethodTolerance is the largest mean accuracy drop against dense
// at which a method still matches dense in the comparison.
const DefaultMethodTolerance = 0.02

// MethodOptions configures the method comparison.
type MethodOptions struct {
	// Phase is the timed phase whose speedup ranks methods: "prefill" (the
	// default) or "decode".
	Phase string
	// Tolerance is the largest mean accuracy drop against dense at which a
	// method still matches dense; 0 means DefaultMethodTolerance.
	Tolerance float64
}

func (o MethodOptions) resolve() (MethodOptions, error) {
	if o.Phase == "" {
		o.Phase = "prefill"
	}
	if o.Phase != "prefill" && o.Phase != "decode" {
		return o, fmt.Errorf("reports: method phase %q: want prefill or decode", o.Phase)
	}
	if o.Tolerance == 0 {
		o.Tolerance = DefaultMethodTolerance
	}
	if !(o.Tolerance > 0 && o.Tolerance < 1) {
		return o, fmt.Errorf("reports: method tolerance %v: want a value in (0, 1)", o.Tolerance)
	}
	return o, nil
}

// methodPhases are the timed phases, in display order.
var methodPhases = []string{"prefill", "decode"}

// Ratio is a geometric mean of ratios with its 95% interval.
type Ratio struct {
	N           int
	Mean        float64 // geometric mean
	Low, High   float64 // exp of the t-interval of the mean log; Mean when N < 2
	HasInterval bool
	Source      string // the metric or timing it comes from
}

// MethodRow is one method at one length of a task family.
type MethodRow struct {
	Method      string
	HasAccuracy bool
	Accuracy    Stat
	// Diff is the accuracy difference method - dense on the samples both
	// have (NaN estimate when none; 0 for dense itself).
	Diff    rstats.Interval
	Speedup map[string]Ratio // by phase, where measured
	Density map[string]Stat  // by phase, where measured
	// DensitySource names the metric of each phase's density; a phase-less
	// metric (density, attended_fraction) serves both phases.
	DensitySource map[string]string
	Errors        int // error records of this method at this length
	// Matches: its mean paired accuracy is at most the tolerance below
	// dense's. Faster: its speedup in the ranking phase is measurably
	// above 1. Best: the rule's choice.
	Matches, Faster, Best bool
}

// MethodLength is the comparison of one family at one length.
type MethodLength struct {
	Length int
	Rows   []MethodRow // backends in first-seen order
	// Best is the chosen method, "" when there is no verdict; NoVerdict
	// says why.
	Best      string
	NoVerdict string
}

// MethodFamily is the comparison of one task family.
type MethodFamily struct {
	Family    string
	Tasks     []string // the configurations pooled
	Score     string
	Reference string // the dense backend, "" when none
	Lengths   []MethodLength
}

// headlineScores is the order in which a family's accuracy score is chosen.
var headlineScores = []string{"needle_recall", "string_match_all", "exact_match", "acc", "string_match_part"}

// taskFamily is the task name without the configuration label LabelTasks
// adds.
func taskFamily(task string) string {
	if i := strings.Index(task, " ("); i > 0 {
		return task[:i]
	}
	return task
}

// MethodComparison compares the methods of every task family with a score
// and a reference backend or at least two backends; see the comment at the
// top of this file for what is compared and the rule.
func (s *Summary) MethodComparison(opts MethodOptions) ([]MethodFamily, error) {
	opts, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	byFamily := map[string][]string{}
	var families []string
	for _, t := range s.Tasks() {
		f := taskFamily(t)
		if byFamily[f] == nil {
			families = append(families, f)
		}
		byFamily[f] = append(byFamily[f], t)
	}
	var out []MethodFamily
	for _, f := range families {
		if mf, ok := s.methodFamily(f, byFamily[f], opts); ok {
			out = append(out, mf)
		}
	}
	return out, nil
}

func (s *Summary) methodFamily(family string, tasks []string, opts MethodOptions) (MethodFamily, bool) {
	mf := MethodFamily{Family: family, Tasks: tasks}
	scores := map[string]bool{}
	var firstScore string
	var backends []string
	seen := map[string]bool{}
	lengthSet := map[int]bool{}
	for _, t := range tasks {
		for _, m := range s.Metrics(t) {
			if m.Kind == KindScore && s.hasData(t, m.Name) {
				scores[m.Name] = true
				if firstScore == "" || m.Name < firstScore {
					firstScore = m.Name
				}
			}
		}
		for _, b := range s.Backends(t) {
			if !seen[b] {
				seen[b] = true
				backends = append(backends, b)
			}
		}
		for _, l := range s.Lengths(t) {
			lengthSet[l] = true
		}
		if mf.Reference == "" {
			mf.Reference = s.Reference(t)
		}
	}
	mf.Score = firstScore
	for _, h := range slices.Backward(headlineScores) {
		if scores[h] {
			mf.Score = h
		}
	}
	if mf.Score == "" || (len(backends) < 2 && mf.Reference == "") {
		return mf, false
	}
	for _, l := range sortedKeys(lengthSet) {
		ml := MethodLength{Length: l}
		for _, b := range backends {
			if row, ok := s.methodRow(tasks, mf.Score, b, mf.Reference, l); ok {
				ml.Rows = append(ml.Rows, row)
			}
		}
		if len(ml.Rows) == 0 {
			continue
		}
		decide(&ml, mf.Reference, opts)
		mf.Lengths = append(mf.Lengths, ml)
	}
	return mf, len(mf.Lengths) > 0
}

// pooled returns the values of one metric of one backend at one length,
// pooled over tasks, with their sample ids.
func (s *Summary) pooled(tasks []string, metric, backend string, length int) ([]float64, []sampleID) {
	var xs []float64
	var ids []sampleID
	for _, t := range tasks {
		td := s.tasks[t]
		if td == nil || td.metrics[metric] == nil {
			continue
		}
		if c := td.metrics[metric].cells[cellKey{backend, length}]; c != nil {
			xs = append(xs, c.xs...)
			ids = append(ids, c.ids...)
		}
	}
	return xs, ids
}

// metricKind returns the kind a metric has in the first of tasks that has
// it.
func (s *Summary) metricKind(tasks []string, metric string) (Kind, bool) {
	for _, t := range tasks {
		if td := s.tasks[t]; td != nil && td.metrics[metric] != nil {
			return td.metrics[metric].info.Kind, true
		}
	}
	return "", false
}

// paired pairs the values of two backends by sample: for each sample of b
// that ref also has, (ref value, b value).
func paired(refXs []float64, refIDs []sampleID, xs []float64, ids []sampleID) (rs, bs []float64) {
	byID := make(map[sampleID]float64, len(refIDs))
	for i, id := range refIDs {
		byID[id] = refXs[i]
	}
	for i, id := range ids {
		if r, ok := byID[id]; ok {
			rs = append(rs, r)
			bs = append(bs, xs[i])
		}
	}
	return rs, bs
}

func (s *Summary) methodRow(tasks []string, score, backend, ref string, length int) (MethodRow, bool) {
	row := MethodRow{Method: backend, Speedup: map[string]Ratio{}, Density: map[string]Stat{}, DensitySource: map[string]string{}}
	for _, t := range tasks {
		row.Errors += s.Errors(t, backend, length)
	}
	xs, ids := s.pooled(tasks, score, backend, length)
	if len(xs) == 0 && row.Errors == 0 {
		return row, false
	}
	row.Diff = rstats.Interval{Estimate: math.NaN(), Low: math.NaN(), High: math.NaN()}
	if len(xs) > 0 {
		row.HasAccuracy = true
		row.Accuracy = Describe(xs)
		wilsonIfBinary(&row.Accuracy, xs)
		if ref != "" {
			rx, rids := s.pooled(tasks, score, ref, length)
			if rs, bs := paired(rx, rids, xs, ids); len(rs) > 0 {
				row.Diff = pairedDiff(rs, bs)
			}
		}
	}
	for _, phase := range methodPhases {
		if r, ok := s.speedup(tasks, backend, ref, length, phase); ok {
			row.Speedup[phase] = r
		}
		for _, name := range []string{"density_" + phase, "attended_fraction_" + phase, "density", "attended_fraction"} {
			if k, ok := s.metricKind(tasks, name); !ok || k != KindMetric {
				continue
			}
			if d, _ := s.pooled(tasks, name, backend, length); len(d) > 0 {
				row.Density[phase] = Describe(d)
				row.DensitySource[phase] = name
				break
			}
		}
	}
	return row, true
}

// pairedDiff is the interval of mean(bs - rs): Newcombe's for pass/fail
// values, the t-interval of the differences otherwise.
func pairedDiff(rs, bs []float64) rstats.Interval {
	binary := true
	var both, onlyB, onlyR, neither int
	diffs := make([]float64, len(rs))
	for i := range rs {
		diffs[i] = bs[i] - rs[i]
		for _, v := range []float64{rs[i], bs[i]} {
			if v != 0 && v != 1 {
				binary = false
			}
		}
		switch {
		case rs[i] == 1 && bs[i] == 1:
			both++
		case bs[i] == 1:
			onlyB++
		case rs[i] == 1:
			onlyR++
		default:
			neither++
		}
	}
	if binary {
		return rstats.PairedDifference(both, onlyB, onlyR, neither, 0.95)
	}
	st := Describe(diffs)
	return rstats.Interval{Estimate: st.Mean, Low: st.Low, High: st.High, N: st.N, Confidence: 0.95}
}

// speedup measures one phase's speedup of backend over ref: from the
// records' speedup_<phase> metric when the family has it, else from the
// paired <phase>_ms timings. The reference itself is 1 by definition when
// timings are paired.
func (s *Summary) speedup(tasks []string, backend, ref string, length int, phase string) (Ratio, bool) {
	metric := "speedup_" + phase
	if k, ok := s.metricKind(tasks, metric); ok && k == KindMetric {
		xs, _ := s.pooled(tasks, metric, backend, length)
		return geoMean(xs, metric)
	}
	timing := phase + "_ms"
	if k, ok := s.metricKind(tasks, timing); !ok || k != KindTiming || ref == "" {
		return Ratio{}, false
	}
	rx, rids := s.pooled(tasks, timing, ref, length)
	xs, ids := s.pooled(tasks, timing, backend, length)
	rs, bs := paired(rx, rids, xs, ids)
	ratios := make([]float64, 0, len(rs))
	for i := range rs {
		if rs[i] > 0 && bs[i] > 0 {
			ratios = append(ratios, rs[i]/bs[i])
		}
	}
	return geoMean(ratios, "paired "+timing)
}

// geoMean is the geometric mean of positive ratios with the exponentiated
// t-interval of their mean log.
func geoMean(xs []float64, source string) (Ratio, bool) {
	logs := make([]float64, 0, len(xs))
	for _, x := range xs {
		if x > 0 && !math.IsInf(x, 0) {
			logs = append(logs, math.Log(x))
		}
	}
	if len(logs) == 0 {
		return Ratio{}, false
	}
	st := Describe(logs)
	return Ratio{N: st.N, Mean: math.Exp(st.Mean), Low: math.Exp(st.Low), High: math.Exp(st.High),
		HasInterval: st.HasInterval, Source: source}, true
}

// decide applies the rule to one length.
func decide(ml *MethodLength, ref string, opts MethodOptions) {
	var refRow *MethodRow
	for i := range ml.Rows {
		r := &ml.Rows[i]
		if r.Method == ref {
			refRow = r
			r.Diff = rstats.Interval{Estimate: 0, Low: 0, High: 0, N: r.Accuracy.N}
		}
		if sp, ok := r.Speedup[opts.Phase]; ok {
			r.Faster = sp.Low > 1
		}
		r.Matches = r.HasAccuracy && r.Errors == 0 && !math.IsNaN(r.Diff.Estimate) && -r.Diff.Estimate <= opts.Tolerance+1e-12
	}
	switch {
	case ref == "":
		ml.NoVerdict = "no dense backend"
		return
	case refRow == nil || !refRow.HasAccuracy:
		ml.NoVerdict = "no dense record"
		return
	case refRow.Accuracy.Mean == 0:
		ml.NoVerdict = "dense scores 0"
		return
	}
	best := refRow
	for i := range ml.Rows {
		r := &ml.Rows[i]
		if r == refRow || !r.Matches || !r.Faster {
			continue
		}
		if best == refRow {
			best = r
			continue
		}
		a, b := r.Speedup[opts.Phase].Mean, best.Speedup[opts.Phase].Mean
		if a > b || (a == b && r.Accuracy.Mean > best.Accuracy.Mean) {
			best = r
		}
	}
	best.Best = true
	ml.Best = best.Method
}

// writeMethods writes the method comparison section of the markdown
// report: the rule, the best method per family and length, and per family
// one table of every method at every length. Nothing when no family has
// two methods.
func (s *Summary) writeMethods(w io.Writer) {
	opts, _ := MethodOptions{}.resolve()
	fams, err := s.MethodComparison(opts)
	if err != nil || len(fams) == 0 {
		return
	}
	if fams = comparedFamilies(fams); len(fams) > 0 {
		writeMethodSection(w, fams, opts)
	}
}

// hasMethodSection reports whether the report has a method comparison.
func (s *Summary) hasMethodSection() bool {
	fams, err := s.MethodComparison(MethodOptions{})
	return err == nil && len(comparedFamilies(fams)) > 0
}

// comparedFamilies keeps the families the section shows. The section is a
// comparison across methods: it appears when some family has at least two
// methods besides dense at one length (one method against dense is what
// the task sections' paired tables already show), and then lists every
// family with at least two methods at one length.
func comparedFamilies(fams []MethodFamily) []MethodFamily {
	var out []MethodFamily
	across := false
	for _, f := range fams {
		most := 0
		for _, ml := range f.Lengths {
			n := 0
			for _, r := range ml.Rows {
				if r.Method != f.Reference {
					n++
				}
			}
			most = max(most, n)
			if len(ml.Rows) > 1 && (len(out) == 0 || out[len(out)-1].Family != f.Family) {
				out = append(out, f)
			}
		}
		across = across || most >= 2
	}
	if !across {
		return nil
	}
	return out
}

// methodRule is the rule in one paragraph.
func methodRule(opts MethodOptions) string {
	return fmt.Sprintf("Methods are backends; task families pool a task's configurations. Accuracy is the family's headline score "+
		"(mean, 95%% interval); vs dense is the paired difference on the same samples (Newcombe's interval for pass/fail scores); "+
		"speedups are measured over dense on the same samples (geometric mean, 95%% interval); density is the fraction of causally "+
		"visible keys attended. Best: the fastest method in %s whose accuracy is at most %s below dense's on the same samples, "+
		"with no error record, and whose speedup interval lies above 1 (one sample: its value); dense when none is. "+
		"No verdict where dense scores 0.", opts.Phase, strconv.FormatFloat(opts.Tolerance, 'g', -1, 64))
}
