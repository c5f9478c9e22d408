package reports

import (
	"cmp"
	"fmt"
	rstats "github.com/evalctl/evalctl/reports/stats"
	"math"
	"slices"

	"github.com/evalctl/evalctl/harness/record"
)

// Kind says which part of a record a metric comes from.
type Kind string

// Metric kinds, in the order reports list them.
const (
	KindScore  Kind = "score"  // Record.Scores: accuracy-like, unit "score", higher is better
	KindMetric Kind = "metric" // Record.Metrics
	KindTiming Kind = "timing" // Record.Timings
)

// kindRank orders kinds for listing.
func kindRank(k Kind) int {
	switch k {
	case KindScore:
		return 0
	case KindMetric:
		return 1
	default:
		return 2
	}
}

// MetricInfo describes a metric of a task: its name, unit, direction of
// improvement and kind, as first seen in the records.
type MetricInfo struct {
	Name   string
	Unit   string
	Better record.Better
	Kind   Kind
}

// Warning is something that makes a number in a report less trustworthy.
// Warnings are data: they never fail a report.
//
// Backend is empty (and Length 0) for a warning about a metric as a whole,
// such as a unit conflict; Metric is empty for a warning about a cell as a
// whole, such as error records.
type Warning struct {
	Task    string
	Metric  string
	Backend string
	Length  int
	Message string
}

// String formats the warning on one line.
func (w Warning) String() string {
	where := w.Task
	if w.Metric != "" {
		where += " / " + w.Metric
	}
	if w.Backend != "" {
		where += " / " + w.Backend + " @ " + FormatLength(w.Length)
	}
	return where + ": " + w.Message
}

// minSamples is the number of values below which a group's interval is
// flagged as wide.
const minSamples = 5

// cellKey identifies a (backend, length) cell within a task.
type cellKey struct {
	backend string
	length  int
}

// values holds the accepted values of one group.
type values struct {
	xs        []float64
	ids       []sampleID // the sample of each value, for pairing backends
	nonFinite int        // NaN or infinite values, excluded
}

// sampleID identifies a sample across backends: records of one sample
// share its seed (and depth and index).
type sampleID struct {
	seed   int64
	depth  float64
	sample int
}

// conflict counts values excluded from a metric because their kind or unit
// differs from the first-seen one.
type conflict struct {
	kind Kind
	unit string
	n    int
}

type metricData struct {
	info      MetricInfo
	cells     map[cellKey]*values
	conflicts []conflict            // in first-seen order
	better    map[record.Better]int // values whose direction differs from info.Better
}

type taskData struct {
	metrics  map[string]*metricData
	backends []string // first-seen order
	seen     map[string]bool
	lengths  map[int]bool
	errors   map[cellKey]int
	runs     map[string]bool
}

// Summary accumulates records and summarizes each metric per task, backend
// and context length. The zero value is not usable; call New.
//
// Add is not safe for concurrent use; the accessors and renderers may be
// called concurrently with each other once all records are added.
type Summary struct {
	tasks map[string]*taskData
	runs  map[string]bool
}

// New returns an empty Summary.
func New() *Summary {
	return &Summary{tasks: map[string]*taskData{}, runs: map[string]bool{}}
}

// Add accumulates one record. A nil record is ignored. An error record
// (non-empty Error) is counted for its (task, backend, length) and
// contributes no values; its backend and length still appear in reports.
func (s *Summary) Add(r *record.Record) {
	if r == nil {
		return
	}
	t := s.tasks[r.Task]
	if t == nil {
		t = &taskData{
			metrics: map[string]*metricData{},
			seen:    map[string]bool{},
			lengths: map[int]bool{},
			errors:  map[cellKey]int{},
			runs:    map[string]bool{},
		}
		s.tasks[r.Task] = t
	}
	if r.Run != "" {
		s.runs[r.Run] = true
		t.runs[r.Run] = true
	}
	if !t.seen[r.Backend] {
		t.seen[r.Backend] = true
		t.backends = append(t.backends, r.Backend)
	}
	t.lengths[r.Length] = true
	key := cellKey{r.Backend, r.Length}
	if !r.OK() {
		t.errors[key]++
		return
	}
	id := sampleID{r.Seed, r.Depth, r.Sample}
	for name, v := range r.Scores {
		t.add(key, id, KindScore, name, v, "score", record.Higher)
	}
	for name, v := range r.Metrics {
		t.add(key, id, KindMetric, name, v.Value, v.Unit, v.Better)
	}
	for name, v := range r.Timings {
		t.add(key, id, KindTiming, name, v.Value, v.Unit, v.Better)
	}
}

// add records one value. The first value seen for a metric fixes its kind,
// unit and direction; later values of another kind or unit are excluded
// (mixing "ms" and "s" would make every statistic meaningless) and counted
// for a warning. A differing direction is only warned about.
func (t *taskData) add(key cellKey, id sampleID, kind Kind, name string, v float64, unit string, better record.Better) {
	m := t.metrics[name]
	if m == nil {
		m = &metricData{
			info:  MetricInfo{Name: name, Unit: unit, Better: better, Kind: kind},
			cells: map[cellKey]*values{},
		}
		t.metrics[name] = m
	}
	if kind != m.info.Kind || unit != m.info.Unit {
		for i := range m.conflicts {
			if m.conflicts[i].kind == kind && m.conflicts[i].unit == unit {
				m.conflicts[i].n++
				return
			}
		}
		m.conflicts = append(m.conflicts, conflict{kind, unit, 1})
		return
	}
	if better != m.info.Better {
		if m.better == nil {
			m.better = map[record.Better]int{}
		}
		m.better[better]++
	}
	c := m.cells[key]
	if c == nil {
		c = &values{}
		m.cells[key] = c
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		c.nonFinite++
		return
	}
	c.xs = append(c.xs, v)
	c.ids = append(c.ids, id)
}

// Tasks returns the tasks seen, sorted.
func (s *Summary) Tasks() []string {
	return sortedKeys(s.tasks)
}

// Runs returns the distinct run ids seen, sorted. Records without a run id
// are not counted.
func (s *Summary) Runs() []string {
	return sortedKeys(s.runs)
}

// taskRuns returns the run ids of one task, sorted.
func (s *Summary) taskRuns(task string) []string {
	if t := s.tasks[task]; t != nil {
		return sortedKeys(t.runs)
	}
	return nil
}

// Metrics returns the metrics of a task: scores first, then metrics, then
// timings, each sorted by name. A metric is listed even if all its values
// were non-finite; Cell then reports no data.
func (s *Summary) Metrics(task string) []MetricInfo {
	t := s.tasks[task]
	if t == nil {
		return nil
	}
	out := make([]MetricInfo, 0, len(t.metrics))
	for _, m := range t.metrics {
		out = append(out, m.info)
	}
	slices.SortFunc(out, func(a, b MetricInfo) int {
		return cmp.Or(cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Backends returns the backend labels of a task in first-seen order,
// including backends that only produced error records.
func (s *Summary) Backends(task string) []string {
	if t := s.tasks[task]; t != nil {
		return slices.Clone(t.backends)
	}
	return nil
}

// Lengths returns the context lengths of a task, sorted, including lengths
// that only produced error records.
func (s *Summary) Lengths(task string) []int {
	if t := s.tasks[task]; t != nil {
		return sortedKeys(t.lengths)
	}
	return nil
}

// Cell returns the statistics of one group, and false when the group has no
// finite value.
func (s *Summary) Cell(task, metric, backend string, length int) (Stat, bool) {
	t := s.tasks[task]
	if t == nil {
		return Stat{}, false
	}
	m := t.metrics[metric]
	if m == nil {
		return Stat{}, false
	}
	c := m.cells[cellKey{backend, length}]
	if c == nil || len(c.xs) == 0 {
		return Stat{}, false
	}
	st := Describe(c.xs)
	if m.info.Kind == KindScore {
		wilsonIfBinary(&st, c.xs)
	}
	return st, true
}

// wilsonIfBinary replaces the t-interval of a score whose every value is 0
// or 1 (a pass/fail score) by the Wilson score interval of the proportion,
// which stays inside [0, 1] and is right for small samples and proportions
// near 0 or 1, where mean ± t·sd/√n is not.
func wilsonIfBinary(st *Stat, xs []float64) {
	successes := 0
	for _, x := range xs {
		switch x {
		case 1:
			successes++
		case 0:
		default:
			return
		}
	}
	w := rstats.Wilson(successes, len(xs), 0.95)
	st.HasInterval, st.Low, st.High, st.Method = true, w.Low, w.High, "wilson"
}

// Errors returns the number of error records of a (task, backend, length)
// cell.
func (s *Summary) Errors(task, backend string, length int) int {
	if t := s.tasks[task]; t != nil {
		return t.errors[cellKey{backend, length}]
	}
	return 0
}

// hasData reports whether a metric of a task has at least one finite value.
func (s *Summary) hasData(task, metric string) bool {
	t := s.tasks[task]
	if t == nil || t.metrics[metric] == nil {
		return false
	}
	for _, c := range t.metrics[metric].cells {
		if len(c.xs) > 0 {
			return true
		}
	}
	return false
}

// Warnings returns the warnings of all tasks in a deterministic order: by
// task; within a task, error records by backend (first-seen order) and
// length, then for each metric (in Metrics order) the metric-wide warnings
// followed by the groups' warnings by backend and length.
//
// A group warns when it has fewer than 5 values ("1 sample: no interval",
// "3 samples: interval is wide") or when non-finite values were excluded.
func (s *Summary) Warnings() []Warning {
	var out []Warning
	for _, task := range s.Tasks() {
		out = append(out, s.taskWarnings(task)...)
	}
	return out
}

func (s *Summary) taskWarnings(task string) []Warning {
	t := s.tasks[task]
	lengths := s.Lengths(task)
	var out []Warning
	for _, b := range t.backends {
		for _, l := range lengths {
			if n := t.errors[cellKey{b, l}]; n > 0 {
				out = append(out, Warning{Task: task, Backend: b, Length: l, Message: plural(n, "error record")})
			}
		}
	}
	for _, mi := range s.Metrics(task) {
		m := t.metrics[mi.Name]
		for _, c := range m.conflicts {
			out = append(out, Warning{Task: task, Metric: mi.Name, Message: fmt.Sprintf(
				"%s excluded: recorded as %s in %q, first seen as %s in %q",
				plural(c.n, "value"), c.kind, c.unit, mi.Kind, mi.Unit)})
		}
		for _, b := range sortedKeys(m.better) {
			out = append(out, Warning{Task: task, Metric: mi.Name, Message: fmt.Sprintf(
				"%s say %s, first seen as %s",
				plural(m.better[b], "value"), betterText(b), betterText(mi.Better))})
		}
		for _, b := range t.backends {
			for _, l := range lengths {
				c := m.cells[cellKey{b, l}]
				if c == nil {
					continue
				}
				w := Warning{Task: task, Metric: mi.Name, Backend: b, Length: l}
				if c.nonFinite > 0 {
					w.Message = plural(c.nonFinite, "non-finite value") + " excluded"
					out = append(out, w)
				}
				switch n := len(c.xs); {
				case n == 1:
					w.Message = "1 sample: no interval"
					out = append(out, w)
				case n > 1 && n < minSamples:
					w.Message = fmt.Sprintf("%d samples: interval is wide", n)
					out = append(out, w)
				}
			}
		}
	}
	return out
}

func betterText(b record.Better) string {
	if b == record.None {
		return "no direction"
	}
	return string(b) + " is better"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
