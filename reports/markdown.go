package reports

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/evalctl/evalctl/harness/record"
)

// Markdown writes the summary as Markdown: a legend line, then for each task
// a "## task" section with, for each metric that has data, a
// "### metric (unit, higher is better)" heading and a table with one row per
// backend and one column per context length (1K, 2K, ... 128K). A cell shows
// the mean with three significant digits and, when the group has at least
// two values, "±" the half-width of its 95% interval ("0.982 ±0.004"); "—"
// marks a missing cell and "(2 err)" error records of that backend and
// length. A line under each table gives the number of samples per cell, and
// each task ends with its warnings, grouped over lengths.
//
// The output depends only on the records added, not on map order, so it can
// be compared with a golden file.
func (s *Summary) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	tasks := s.Tasks()
	if len(tasks) == 0 {
		fmt.Fprintln(bw, "No records.")
		return bw.Flush()
	}
	if runs := s.Runs(); len(runs) > 0 {
		fmt.Fprintf(bw, "Runs: %s.\n\n", strings.Join(runs, ", "))
	}
	fmt.Fprintln(bw, "Cells are means over samples and needle depths; ± is the half-width of the 95% interval for the mean ([low, high]: the Wilson interval of a pass/fail score); — means no data; (n err) counts error records.")
	for _, task := range tasks {
		fmt.Fprintf(bw, "\n## %s\n", task)
		lengths := s.Lengths(task)
		backends := s.Backends(task)
		shown := 0
		for _, m := range s.Metrics(task) {
			if !s.hasData(task, m.Name) {
				continue
			}
			shown++
			fmt.Fprintf(bw, "\n### %s (%s)\n\n", m.Name, metricNote(m))
			s.writeTable(bw, task, m.Name, backends, lengths)
		}
		if shown == 0 {
			fmt.Fprintln(bw, "\nNo values: every record of this task failed.")
		}
		s.writeEffectiveLengths(bw, task, backends)
		s.writeSpeed(bw, task, backends, lengths)
		s.writePercentiles(bw, task, backends, lengths)
		s.writePaired(bw, task, backends, lengths)
		if ws := s.taskWarnings(task); len(ws) > 0 {
			fmt.Fprintf(bw, "\n### Warnings\n\n")
			for _, line := range warningLines(ws) {
				fmt.Fprintf(bw, "- %s\n", line)
			}
		}
	}
	s.writeMethods(bw)
	return bw.Flush()
}

// metricNote returns "unit, higher is better" for a metric heading.
func metricNote(m MetricInfo) string {
	unit := m.Unit
	if unit == "" {
		unit = "no unit"
	}
	if m.Better == record.None {
		return unit
	}
	return unit + ", " + string(m.Better) + " is better"
}

// writeTable writes the table of one metric: rows are the backends with a
// value for this metric or an error record in this task.
func (s *Summary) writeTable(w io.Writer, task, metric string, backends []string, lengths []int) {
	fmt.Fprint(w, "| backend |")
	for _, l := range lengths {
		fmt.Fprintf(w, " %s |", FormatLength(l))
	}
	fmt.Fprint(w, "\n|:--|")
	for range lengths {
		fmt.Fprint(w, "--:|")
	}
	fmt.Fprintln(w)
	minN, maxN := 0, 0
	for _, b := range backends {
		cells := make([]string, len(lengths))
		any := false
		for i, l := range lengths {
			st, ok := s.Cell(task, metric, b, l)
			cell := "—"
			if ok {
				any = true
				cell = formatStat(st)
				if minN == 0 || st.N < minN {
					minN = st.N
				}
				maxN = max(maxN, st.N)
			}
			if n := s.Errors(task, b, l); n > 0 {
				any = true
				cell += fmt.Sprintf(" (%d err)", n)
			}
			cells[i] = cell
		}
		if !any {
			continue
		}
		fmt.Fprintf(w, "| %s |", escapeCell(b))
		for _, c := range cells {
			fmt.Fprintf(w, " %s |", c)
		}
		fmt.Fprintln(w)
	}
	if minN == maxN {
		fmt.Fprintf(w, "\nSamples per cell: %d.\n", minN)
	} else {
		fmt.Fprintf(w, "\nSamples per cell: %d–%d.\n", minN, maxN)
	}
}

// escapeCell makes a label safe inside a Markdown table cell.
func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// warningLines renders a task's warnings, merging those that differ only in
// length into one line: "accuracy, sparse @ 1K, 4K: 1 sample: no interval".
func warningLines(ws []Warning) []string {
	type key struct{ metric, backend, message string }
	var order []key
	lengths := map[key][]string{}
	for _, w := range ws {
		k := key{w.Metric, w.Backend, w.Message}
		if _, ok := lengths[k]; !ok {
			order = append(order, k)
			lengths[k] = nil
		}
		if w.Backend != "" {
			lengths[k] = append(lengths[k], FormatLength(w.Length))
		}
	}
	lines := make([]string, 0, len(order))
	for _, k := range order {
		var where []string
		if k.metric != "" {
			where = append(where, k.metric)
		}
		if k.backend != "" {
			where = append(where, k.backend+" @ "+strings.Join(lengths[k], ", "))
		}
		lines = append(lines, strings.Join(where, ", ")+": "+k.message)
	}
	return lines
}

// EffectiveThreshold is RULER's effective-length threshold: 85.6 on a 0-100
// score scale, 0.856 on a 0-1 scale.
const EffectiveThreshold = 0.856

// writeEffectiveLengths writes, for each score of a task measured at more
// than one length, each backend's effective length (see EffectiveLength).
// The threshold is EffectiveThreshold, times 100 for a score on a 0-100
// scale (one whose means exceed 1).
func (s *Summary) writeEffectiveLengths(w io.Writer, task string, backends []string) {
	if len(s.Lengths(task)) < 2 {
		return
	}
	var rows []string
	for _, m := range s.Metrics(task) {
		if m.Kind != KindScore || !s.hasData(task, m.Name) {
			continue
		}
		th := EffectiveThreshold
		for _, b := range backends {
			for _, n := range s.Lengths(task) {
				if st, ok := s.Cell(task, m.Name, b, n); ok && st.Mean > 1 {
					th = 100 * EffectiveThreshold
				}
			}
		}
		eff := s.EffectiveLength(task, m.Name, th)
		cells := make([]string, 0, len(backends))
		for _, b := range backends {
			v := "—"
			if e, ok := eff[b]; ok && e > 0 {
				v = FormatLength(e)
			}
			cells = append(cells, v)
		}
		rows = append(rows, fmt.Sprintf("| %s (>= %g) | %s |", escapeCell(m.Name), th, strings.Join(cells, " | ")))
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\n### Effective length\n\nThe longest tested length up to which the score stays at or above the threshold at every length (— : below it already at the shortest).\n\n")
	head := make([]string, len(backends))
	for i, b := range backends {
		head[i] = escapeCell(b)
	}
	fmt.Fprintf(w, "| score | %s |\n|:--|%s\n", strings.Join(head, " | "), strings.Repeat("--:|", len(backends)))
	for _, r := range rows {
		fmt.Fprintln(w, r)
	}
}
