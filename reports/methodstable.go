package reports

import (
	"cmp"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
)

// methodCell is one table cell: the value and, apart, its interval, so that
// markdown writes them on one line and HTML on two.
type methodCell struct {
	text, interval string
}

func (c methodCell) markdown() string {
	if c.interval == "" {
		return c.text
	}
	return c.text + " " + c.interval
}

// methodTable is a table of the section: a header, rows whose first
// headCols cells name the row, and the column alignment ('l' or 'r').
type methodTable struct {
	head     []string
	align    []byte
	headCols int
	rows     [][]methodCell
}

// bestTable is the best-method table: a row per family, a column per
// length.
func bestTable(fams []MethodFamily, phase string) methodTable {
	var lengths []int
	seen := map[int]bool{}
	for _, f := range fams {
		for _, ml := range f.Lengths {
			if !seen[ml.Length] {
				seen[ml.Length] = true
				lengths = append(lengths, ml.Length)
			}
		}
	}
	slices.Sort(lengths)
	t := methodTable{head: []string{"task family (score)"}, align: []byte{'l'}, headCols: 1}
	for _, l := range lengths {
		t.head = append(t.head, FormatLength(l))
		t.align = append(t.align, 'l')
	}
	for _, f := range fams {
		row := []methodCell{{text: f.Family + " (" + f.Score + ")"}}
		for _, l := range lengths {
			row = append(row, bestCell(f, l, phase))
		}
		t.rows = append(t.rows, row)
	}
	return t
}

// bestCell is one cell of the best-method table: the method, and for a
// method other than dense its speedup and density.
func bestCell(f MethodFamily, length int, phase string) methodCell {
	for _, ml := range f.Lengths {
		if ml.Length != length {
			continue
		}
		if ml.Best == "" {
			return methodCell{text: "—", interval: "(" + ml.NoVerdict + ")"}
		}
		if ml.Best == f.Reference {
			return methodCell{text: ml.Best}
		}
		for _, r := range ml.Rows {
			if r.Method == ml.Best {
				c := methodCell{text: ml.Best, interval: "(" + formatValue(r.Speedup[phase].Mean) + "x"}
				if d, ok := r.Density[phase]; ok {
					c.interval += ", density " + formatValue(d.Mean)
				}
				c.interval += ")"
				return c
			}
		}
	}
	return methodCell{text: "—"}
}

// familyTable is the table of one family: a row per (length, method) with
// accuracy, the paired difference to dense, the speedups and densities the
// family has, and the verdict.
func familyTable(f MethodFamily, phase string) methodTable {
	type column struct {
		head string
		cell func(MethodRow) methodCell
	}
	var cols []column
	for _, ph := range methodPhases {
		cols = append(cols, column{"speedup " + ph, func(r MethodRow) methodCell { return ratioCell(r.Speedup[ph]) }})
	}
	// One density column when no row has a phase's own density metric.
	shared := true
	for _, ml := range f.Lengths {
		for _, r := range ml.Rows {
			for _, ph := range methodPhases {
				if src := r.DensitySource[ph]; src != "" && src != "density" && src != "attended_fraction" {
					shared = false
				}
			}
		}
	}
	if shared {
		cols = append(cols, column{"density", func(r MethodRow) methodCell { return densityCell(r.Density["prefill"]) }})
	} else {
		for _, ph := range methodPhases {
			cols = append(cols, column{"density " + ph, func(r MethodRow) methodCell { return densityCell(r.Density[ph]) }})
		}
	}
	cols = slices.DeleteFunc(cols, func(c column) bool {
		for _, ml := range f.Lengths {
			for _, r := range ml.Rows {
				if c.cell(r).text != "—" {
					return false
				}
			}
		}
		return true
	})
	t := methodTable{head: []string{"length", "method", f.Score, "vs " + cmp.Or(f.Reference, "dense")}, align: []byte("rlrr"), headCols: 2}
	for _, c := range cols {
		t.head = append(t.head, c.head)
		t.align = append(t.align, 'r')
	}
	t.head = append(t.head, "verdict")
	t.align = append(t.align, 'l')
	for _, ml := range f.Lengths {
		for _, r := range ml.Rows {
			acc := methodCell{text: "—"}
			if r.HasAccuracy {
				acc = statCell(r.Accuracy)
			}
			row := []methodCell{{text: FormatLength(ml.Length)}, {text: r.Method}, acc, diffCell(r, f.Reference)}
			for _, c := range cols {
				row = append(row, c.cell(r))
			}
			t.rows = append(t.rows, append(row, methodCell{text: verdict(r, ml, f.Reference, phase)}))
		}
	}
	return t
}

// writeMarkdown writes the table as a markdown pipe table.
func (t methodTable) writeMarkdown(w io.Writer) {
	fmt.Fprint(w, "|")
	for _, h := range t.head {
		fmt.Fprintf(w, " %s |", escapeCell(h))
	}
	fmt.Fprint(w, "\n|")
	for _, a := range t.align {
		fmt.Fprint(w, map[byte]string{'l': ":--|", 'r': "--:|"}[a])
	}
	fmt.Fprintln(w)
	for _, row := range t.rows {
		fmt.Fprint(w, "|")
		for _, c := range row {
			fmt.Fprintf(w, " %s |", escapeCell(c.markdown()))
		}
		fmt.Fprintln(w)
	}
}

// writeHTML writes the table as HTML: the naming cells as row headers, an
// interval on a line of its own in small grey type.
func (t methodTable) writeHTML(w io.Writer) {
	esc := html.EscapeString
	fmt.Fprintf(w, "<table class=\"methods\">\n<thead>\n<tr>")
	for _, h := range t.head {
		fmt.Fprintf(w, "<th scope=\"col\">%s</th>", esc(h))
	}
	fmt.Fprintf(w, "</tr>\n</thead>\n<tbody>\n")
	for _, row := range t.rows {
		fmt.Fprintf(w, "<tr>")
		for i, c := range row {
			tag, style := "td", ""
			if i < t.headCols {
				tag = "th"
			}
			if t.align[i] == 'l' {
				style = ` style="text-align:left"`
			}
			scope := ""
			if tag == "th" {
				scope = ` scope="row"`
			}
			cell := esc(c.text)
			if c.interval != "" {
				cell += `<br><small style="color:#666">` + esc(c.interval) + `</small>`
			}
			fmt.Fprintf(w, "<%s%s%s>%s</%s>", tag, scope, style, cell, tag)
		}
		fmt.Fprintf(w, "</tr>\n")
	}
	fmt.Fprintf(w, "</tbody>\n</table>\n")
}

// writeMethodSection writes the markdown section.
func writeMethodSection(w io.Writer, fams []MethodFamily, opts MethodOptions) {
	fmt.Fprintf(w, "\n## Method comparison\n\n%s\n", methodRule(opts))
	fmt.Fprintf(w, "\n### Best method per length\n\n")
	bestTable(fams, opts.Phase).writeMarkdown(w)
	for _, f := range fams {
		fmt.Fprintf(w, "\n### %s\n\n", familyHeading(f))
		if p := pooledNote(f); p != "" {
			fmt.Fprintf(w, "%s\n\n", p)
		}
		familyTable(f, opts.Phase).writeMarkdown(w)
	}
}

func familyHeading(f MethodFamily) string {
	return f.Family + ": " + f.Score + " vs speedup and density"
}

// pooledNote names the configurations a family pools, "" for one.
func pooledNote(f MethodFamily) string {
	if len(f.Tasks) > 1 || f.Tasks[0] != f.Family {
		return "Pooled: " + strings.Join(f.Tasks, "; ") + "."
	}
	return ""
}

func statCell(st Stat) methodCell {
	c := methodCell{text: formatValue(st.Mean)}
	switch {
	case st.HasInterval && st.Method == "wilson":
		c.interval = "[" + formatValue(st.Low) + ", " + formatValue(st.High) + "]"
	case st.HasInterval:
		c.interval = "±" + formatHalfWidth(st.HalfWidth(), st.Mean)
	}
	return c
}

func diffCell(r MethodRow, ref string) methodCell {
	switch {
	case r.Method == ref:
		return methodCell{text: "—"}
	case math.IsNaN(r.Diff.Estimate):
		return methodCell{text: "unpaired"}
	}
	sign := "+"
	if r.Diff.Estimate < 0 {
		sign = "−"
	}
	c := methodCell{text: sign + formatValue(math.Abs(r.Diff.Estimate))}
	if r.Diff.N > 1 && !math.IsNaN(r.Diff.Low) {
		c.interval = "[" + formatSigned(r.Diff.Low) + ", " + formatSigned(r.Diff.High) + "]"
	}
	return c
}

func formatSigned(v float64) string {
	if v < 0 {
		return "−" + formatValue(-v)
	}
	return formatValue(v)
}

func ratioCell(r Ratio) methodCell {
	if r.N == 0 {
		return methodCell{text: "—"}
	}
	c := methodCell{text: formatValue(r.Mean) + "x"}
	if r.HasInterval {
		c.interval = "[" + formatValue(r.Low) + ", " + formatValue(r.High) + "]"
	}
	return c
}

func densityCell(st Stat) methodCell {
	if st.N == 0 {
		return methodCell{text: "—"}
	}
	return methodCell{text: formatValue(st.Mean)}
}

// verdict is the last column of a method row.
func verdict(r MethodRow, ml MethodLength, ref, phase string) string {
	var parts []string
	switch {
	case r.Best:
		parts = append(parts, "best")
	case r.Method == ref:
		parts = append(parts, "reference")
	case r.Errors > 0:
	case !r.HasAccuracy || math.IsNaN(r.Diff.Estimate):
		parts = append(parts, "not paired with dense")
	case !r.Matches:
		parts = append(parts, "loses "+formatValue(-r.Diff.Estimate))
	case r.Speedup[phase].N == 0:
		parts = append(parts, "matches, speed not measured")
	case !r.Faster:
		parts = append(parts, "matches, not faster")
	default:
		parts = append(parts, "matches, faster")
	}
	if r.Errors > 0 {
		parts = append(parts, plural(r.Errors, "error record"))
	}
	if ml.Best == "" && r.Method == ref {
		parts = append(parts, ml.NoVerdict)
	}
	return strings.Join(parts, "; ")
}
