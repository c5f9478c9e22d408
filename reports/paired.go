package reports

import (
	"fmt"
	"io"
	"math"
	"strings"

	rstats "github.com/evalctl/evalctl/reports/stats"
)

// PairedReference is the backend label the paired tests compare against.
// A task without a backend of that label compares against its first
// backend whose label starts or ends with "dense" (model-dense, dense-32k),
// so that model tasks run beside the attention suite have a reference too.
const PairedReference = "dense"

// Reference returns the label a task's paired tests compare against, or ""
// when the task has none.
func (s *Summary) Reference(task string) string {
	t := s.tasks[task]
	if t == nil {
		return ""
	}
	for _, b := range t.backends {
		if b == PairedReference {
			return b
		}
	}
	for _, b := range t.backends {
		if strings.HasPrefix(b, PairedReference) || strings.HasSuffix(b, PairedReference) {
			return b
		}
	}
	return ""
}

// Paired is a paired test of one backend against the reference on the same
// samples, for one metric and length.
type Paired struct {
	Pairs int
	// Diff is the mean of (backend - reference) for scores, and the ratio
	// of medians (backend / reference) for timings.
	Diff float64
	Test rstats.Test
}

// PairedTest pairs the values of backend and the task's reference
// (Reference) by sample at one length: McNemar for a pass/fail score, Wilcoxon
// signed-rank for other scores and for timings. ok is false when the metric
// is neither a score nor a timing or no sample has both.
func (s *Summary) PairedTest(task, metric, backend string, length int) (Paired, bool) {
	t := s.tasks[task]
	if t == nil || t.metrics[metric] == nil {
		return Paired{}, false
	}
	m := t.metrics[metric]
	if m.info.Kind != KindScore && m.info.Kind != KindTiming {
		return Paired{}, false
	}
	ref, other := m.cells[cellKey{s.Reference(task), length}], m.cells[cellKey{backend, length}]
	if ref == nil || other == nil {
		return Paired{}, false
	}
	byID := map[sampleID]float64{}
	for i, id := range ref.ids {
		byID[id] = ref.xs[i]
	}
	var xs, ys []float64 // reference, backend
	for i, id := range other.ids {
		if r, ok := byID[id]; ok {
			xs = append(xs, r)
			ys = append(ys, other.xs[i])
		}
	}
	if len(xs) == 0 {
		return Paired{}, false
	}
	p := Paired{Pairs: len(xs)}
	if m.info.Kind == KindTiming {
		a, b := rstats.Percentiles(xs, 50)[0], rstats.Percentiles(ys, 50)[0]
		p.Diff = b / a
		p.Test = rstats.Wilcoxon(ys, xs)
		return p, true
	}
	var sum float64
	binary := true
	b, c := 0, 0 // reference right & backend wrong, and the reverse
	for i := range xs {
		sum += ys[i] - xs[i]
		for _, v := range []float64{xs[i], ys[i]} {
			if v != 0 && v != 1 {
				binary = false
			}
		}
		switch {
		case xs[i] == 1 && ys[i] == 0:
			b++
		case xs[i] == 0 && ys[i] == 1:
			c++
		}
	}
	p.Diff = sum / float64(len(xs))
	if binary {
		p.Test = rstats.McNemar(b, c)
	} else {
		p.Test = rstats.Wilcoxon(ys, xs)
	}
	return p, true
}

// writePaired writes, for each score and timing of a task with a reference
// backend, a table of the other backends' paired differences to it.
func (s *Summary) writePaired(w io.Writer, task string, backends []string, lengths []int) {
	refLabel := s.Reference(task)
	if refLabel == "" || len(backends) < 2 {
		return
	}
	header := false
	for _, m := range s.Metrics(task) {
		if m.Kind != KindScore && m.Kind != KindTiming {
			continue
		}
		var rows []string
		for _, b := range backends {
			if b == refLabel {
				continue
			}
			cells := make([]string, len(lengths))
			any := false
			for i, n := range lengths {
				p, ok := s.PairedTest(task, m.Name, b, n)
				if !ok {
					cells[i] = "—"
					continue
				}
				any = true
				cells[i] = formatPaired(m.Kind, p)
			}
			if any {
				rows = append(rows, fmt.Sprintf("| %s | %s |", escapeCell(b), strings.Join(cells, " | ")))
			}
		}
		if len(rows) == 0 {
			continue
		}
		if !header {
			fmt.Fprintf(w, "\n### Paired with %s\n\nOn the same samples: scores as mean difference (backend − %s), timings as the ratio of medians; p from McNemar (pass/fail scores) or the Wilcoxon signed-rank test.\n", refLabel, refLabel)
			header = true
		}
		heads := make([]string, len(lengths))
		for i, n := range lengths {
			heads[i] = FormatLength(n)
		}
		fmt.Fprintf(w, "\n%s (%s):\n\n| backend | %s |\n|:--|%s\n", m.Name, m.Kind, strings.Join(heads, " | "), strings.Repeat("--:|", len(lengths)))
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
	}
}

func formatPaired(kind Kind, p Paired) string {
	pv := "p=—"
	if !math.IsNaN(p.Test.PValue) {
		pv = "p=" + formatValue(p.Test.PValue)
	}
	if kind == KindTiming {
		switch {
		case p.Diff > 0 && p.Diff < 1:
			return fmt.Sprintf("%sx faster (%s)", formatValue(1/p.Diff), pv)
		case p.Diff >= 1:
			return fmt.Sprintf("%sx slower (%s)", formatValue(p.Diff), pv)
		}
		return "—"
	}
	sign := "+"
	if p.Diff < 0 {
		sign = "−"
	}
	return fmt.Sprintf("%s%s (%s)", sign, formatValue(math.Abs(p.Diff)), pv)
}

// writePercentiles writes p50/p90/p99 of every timing of a task.
func (s *Summary) writePercentiles(w io.Writer, task string, backends []string, lengths []int) {
	first := true
	for _, m := range s.Metrics(task) {
		if m.Kind != KindTiming {
			continue
		}
		md := s.tasks[task].metrics[m.Name]
		var rows []string
		for _, b := range backends {
			cells := make([]string, len(lengths))
			any := false
			for i, n := range lengths {
				c := md.cells[cellKey{b, n}]
				if c == nil || len(c.xs) == 0 {
					cells[i] = "—"
					continue
				}
				any = true
				q := rstats.Percentiles(c.xs, 50, 90, 99)
				cells[i] = fmt.Sprintf("%s / %s / %s", formatValue(q[0]), formatValue(q[1]), formatValue(q[2]))
			}
			if any {
				rows = append(rows, fmt.Sprintf("| %s | %s |", escapeCell(b), strings.Join(cells, " | ")))
			}
		}
		if len(rows) == 0 {
			continue
		}
		if first {
			fmt.Fprintf(w, "\n### Timing percentiles\n\np50 / p90 / p99 over samples and depths (linear interpolation between ranks).\n")
			first = false
		}
		heads := make([]string, len(lengths))
		for i, n := range lengths {
			heads[i] = FormatLength(n)
		}
		fmt.Fprintf(w, "\n%s (%s):\n\n| backend | %s |\n|:--|%s\n", m.Name, m.Unit, strings.Join(heads, " | "), strings.Repeat("--:|", len(lengths)))
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
	}
}

// writeSpeed writes, for a task whose records carry a measured speedup over
// dense next to its cost-model bound (speedup_prefill and
// cost_speedup_prefill, and the same for decode), one table per phase with
// "measured (bound)" in each cell.
func (s *Summary) writeSpeed(w io.Writer, task string, backends []string, lengths []int) {
	first := true
	for _, phase := range []string{"prefill", "decode"} {
		measured, bound := "speedup_"+phase, "cost_speedup_"+phase
		if !s.hasData(task, measured) || !s.hasData(task, bound) {
			continue
		}
		var rows []string
		for _, b := range backends {
			cells := make([]string, len(lengths))
			any := false
			for i, n := range lengths {
				m, ok1 := s.Cell(task, measured, b, n)
				c, ok2 := s.Cell(task, bound, b, n)
				if !ok1 || !ok2 {
					cells[i] = "—"
					continue
				}
				any = true
				cells[i] = fmt.Sprintf("%sx (%sx)", formatValue(m.Mean), formatValue(c.Mean))
			}
			if any {
				rows = append(rows, fmt.Sprintf("| %s | %s |", escapeCell(b), strings.Join(cells, " | ")))
			}
		}
		if len(rows) == 0 {
			continue
		}
		if first {
			fmt.Fprintf(w, "\n### Speedup over dense\n\nMeasured speedup over the dense kernels on the same samples, with the cost-model bound in brackets.\n")
			first = false
		}
		heads := make([]string, len(lengths))
		for i, n := range lengths {
			heads[i] = FormatLength(n)
		}
		fmt.Fprintf(w, "\n%s:\n\n| backend | %s |\n|:--|%s\n", phase, strings.Join(heads, " | "), strings.Repeat("--:|", len(lengths)))
		for _, r := range rows {
			fmt.Fprintln(w, r)
		}
	}
}
