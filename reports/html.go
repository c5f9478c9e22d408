package reports

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"strconv"
	"strings"

	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// htmlStyle is the inline style sheet of [Summary.HTML].
const htmlStyle = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#222;line-height:1.4}
h1{margin-bottom:.2em}
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
h3 small{font-weight:normal;color:#555}
table{border-collapse:collapse;margin:.5em 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccc;padding:.25em .6em}
thead th{background:#f3f3f3}
tbody th{text-align:left;font-weight:normal;font-family:ui-monospace,monospace}
td{text-align:right;white-space:nowrap}
td.missing{color:#999}
td .err{color:#b00}
.note{color:#555;font-size:.9em}
figure{margin:1em 0}
svg.plot{max-width:100%;height:auto}
`

// HTML writes the summary as one self-contained HTML5 document: no
// external style sheet, script, font or image, so that it can be mailed or
// archived as a single file.
//
// The document has the title (with the run ids in the page title and
// under the heading), the legend of [Summary.Markdown], a list of tasks,
// then one <section id="task-NAME"> per task, NAME being the task name
// with characters other than letters, digits, '.', '-' and '_' replaced by
// '_' (and a numeric suffix should two tasks give the same id). A task
// section holds, for each metric with data, an <h3> heading, the table of
// [Summary.Markdown] as an HTML <table> (rows are backends, columns context
// lengths, cells the mean ± the half-width of the 95% interval and the
// error records), the samples-per-cell line, and the plot of
// [Summary.Plot] inlined as SVG at PlotWidth x PlotHeight. A final
// <section id="warnings"> lists the warnings of each task. title defaults to
// "evalctl report" when empty. All text is HTML-escaped.
//
// Like [Summary.Markdown], the output depends only on the records added.
func (s *Summary) HTML(w io.Writer, title string) error {
	if title == "" {
		title = "evalctl report"
	}
	bw := bufio.NewWriter(w)
	esc := html.EscapeString
	tasks := s.Tasks()
	runs := s.Runs()

	fmt.Fprintf(bw, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
	fmt.Fprintf(bw, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	pageTitle := title
	if len(runs) > 0 {
		pageTitle += " (" + runsText(runs) + ")"
	}
	fmt.Fprintf(bw, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", esc(pageTitle), htmlStyle)
	fmt.Fprintf(bw, "<header>\n<h1>%s</h1>\n", esc(title))
	if len(runs) > 0 {
		fmt.Fprintf(bw, "<p class=\"runs\">Runs: %s.</p>\n", esc(strings.Join(runs, ", ")))
	} else {
		fmt.Fprintf(bw, "<p class=\"runs\">Runs: no run id.</p>\n")
	}
	if len(tasks) == 0 {
		fmt.Fprintf(bw, "<p>No records.</p>\n</header>\n</body>\n</html>\n")
		return bw.Flush()
	}
	fmt.Fprintf(bw, "<p class=\"legend\">Cells are means over samples and needle depths; ± is the half-width of the 95%% interval for the mean ([low, high]: the Wilson interval of a pass/fail score); — means no data; (n err) counts error records.</p>\n")

	ids := htmlTaskIDs(tasks)
	fmt.Fprintf(bw, "<nav>\n<ul>\n")
	for _, task := range tasks {
		fmt.Fprintf(bw, "<li><a href=\"#%s\">%s</a></li>\n", esc(ids[task]), esc(task))
	}
	if s.hasMethodSection() {
		fmt.Fprintf(bw, "<li><a href=\"#methods\">Method comparison</a></li>\n")
	}
	fmt.Fprintf(bw, "<li><a href=\"#warnings\">Warnings</a></li>\n</ul>\n</nav>\n</header>\n")

	for _, task := range tasks {
		fmt.Fprintf(bw, "\n<section id=\"%s\">\n<h2>%s</h2>\n", esc(ids[task]), esc(task))
		rt := runsText(s.taskRuns(task)) // "run r1", "runs r1, r2", "no run id"
		fmt.Fprintf(bw, "<p class=\"note\">%s.</p>\n", esc(strings.ToUpper(rt[:1])+rt[1:]))
		lengths := s.Lengths(task)
		backends := s.Backends(task)
		shown := 0
		for _, m := range s.Metrics(task) {
			if !s.hasData(task, m.Name) {
				continue
			}
			shown++
			fmt.Fprintf(bw, "\n<h3>%s <small>(%s)</small></h3>\n", esc(m.Name), esc(metricNote(m)))
			s.htmlTable(bw, task, m.Name, backends, lengths)
			p, err := s.Plot(task, m.Name)
			if err != nil {
				return err
			}
			c := vgsvg.New(PlotWidth, PlotHeight)
			p.Draw(withMargin(draw.New(c)))
			var svg bytes.Buffer
			if _, err := c.WriteTo(&svg); err != nil {
				return fmt.Errorf("reports: plot %s/%s: %w", task, m.Name, err)
			}
			fmt.Fprintf(bw, "<figure>\n%s</figure>\n", htmlInlineSVG(svg.String(), p.Title.Text))
		}
		if shown == 0 {
			fmt.Fprintf(bw, "<p>No values: every record of this task failed.</p>\n")
		}
		// The derived sections of the markdown report (effective length,
		// timing percentiles, paired tests), converted.
		var extra bytes.Buffer
		s.writeEffectiveLengths(&extra, task, backends)
		s.writeSpeed(&extra, task, backends, lengths)
		s.writePercentiles(&extra, task, backends, lengths)
		s.writePaired(&extra, task, backends, lengths)
		markdownToHTML(bw, extra.String())
		fmt.Fprintf(bw, "</section>\n")
	}

	if err := s.htmlMethods(bw); err != nil {
		return err
	}
	fmt.Fprintf(bw, "\n<section id=\"warnings\">\n<h2>Warnings</h2>\n")
	any := false
	for _, task := range tasks {
		ws := s.taskWarnings(task)
		if len(ws) == 0 {
			continue
		}
		any = true
		fmt.Fprintf(bw, "<h3><a href=\"#%s\">%s</a></h3>\n<ul>\n", esc(ids[task]), esc(task))
		for _, line := range warningLines(ws) {
			fmt.Fprintf(bw, "<li>%s</li>\n", esc(line))
		}
		fmt.Fprintf(bw, "</ul>\n")
	}
	if !any {
		fmt.Fprintf(bw, "<p>No warnings.</p>\n")
	}
	fmt.Fprintf(bw, "</section>\n</body>\n</html>\n")
	return bw.Flush()
}

// htmlTaskIDs gives each task the id of its section: "task-" and the
// sanitized name, with a numeric suffix should two names collide.
func htmlTaskIDs(tasks []string) map[string]string {
	ids := make(map[string]string, len(tasks))
	used := map[string]bool{"warnings": true}
	for _, task := range tasks {
		base := "task-" + sanitize(task)
		id := base
		for i := 2; used[id]; i++ {
			id = base + "-" + strconv.Itoa(i)
		}
		used[id] = true
		ids[task] = id
	}
	return ids
}

// htmlTable writes the table of one metric, with the rows and cells of
// the Markdown table, and the samples-per-cell line under it.
func (s *Summary) htmlTable(w io.Writer, task, metric string, backends []string, lengths []int) {
	esc := html.EscapeString
	fmt.Fprintf(w, "<table>\n<thead>\n<tr><th scope=\"col\">backend</th>")
	for _, l := range lengths {
		fmt.Fprintf(w, "<th scope=\"col\">%s</th>", esc(FormatLength(l)))
	}
	fmt.Fprintf(w, "</tr>\n</thead>\n<tbody>\n")
	minN, maxN := 0, 0
	var row strings.Builder
	for _, b := range backends {
		row.Reset()
		any := false
		for _, l := range lengths {
			st, ok := s.Cell(task, metric, b, l)
			cell, class := "—", ` class="missing"`
			if ok {
				any = true
				cell, class = esc(formatStat(st)), ""
				if minN == 0 || st.N < minN {
					minN = st.N
				}
				maxN = max(maxN, st.N)
			}
			if n := s.Errors(task, b, l); n > 0 {
				any = true
				cell += fmt.Sprintf(` <span class="err">(%d err)</span>`, n)
			}
			fmt.Fprintf(&row, "<td%s>%s</td>", class, cell)
		}
		if !any {
			continue
		}
		fmt.Fprintf(w, "<tr><th scope=\"row\">%s</th>%s</tr>\n", esc(b), row.String())
	}
	fmt.Fprintf(w, "</tbody>\n</table>\n")
	if minN == maxN {
		fmt.Fprintf(w, "<p class=\"note\">Samples per cell: %d.</p>\n", minN)
	} else {
		fmt.Fprintf(w, "<p class=\"note\">Samples per cell: %d–%d.</p>\n", minN, maxN)
	}
}

// htmlInlineSVG prepares a vgsvg document for inlining in HTML: it drops
// the XML declaration and the generator comment before the <svg> element,
// drops the xlink namespace declaration when nothing uses it (so that the
// only URL left is the SVG namespace), and adds a class and an accessible
// label.
func htmlInlineSVG(svg, label string) string {
	if i := strings.Index(svg, "<svg"); i >= 0 {
		svg = svg[i:]
	}
	const xlink = `xmlns:xlink="http://www.w3.org/1999/xlink"`
	if stripped := strings.Replace(svg, "\n\t"+xlink, "", 1); !strings.Contains(stripped, "xlink:") {
		svg = strings.Replace(stripped, xlink, "", 1)
	}
	return strings.Replace(svg, "<svg ", `<svg class="plot" role="img" aria-label="`+html.EscapeString(label)+`" `, 1)
}

// markdownToHTML converts the small markdown subset the report's derived
// sections use (### headings, pipe tables, paragraphs) to escaped HTML.
func markdownToHTML(w io.Writer, md string) {
	inTable := false
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "|") {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			first := strings.TrimSpace(cells[0])
			if strings.HasPrefix(first, ":--") || strings.HasPrefix(first, "--") {
				continue
			}
			tag := "td"
			if !inTable {
				fmt.Fprintf(w, "<table>\n")
				inTable, tag = true, "th"
			}
			fmt.Fprintf(w, "<tr>")
			for _, c := range cells {
				fmt.Fprintf(w, "<%s>%s</%s>", tag, html.EscapeString(strings.ReplaceAll(strings.TrimSpace(c), `\|`, "|")), tag)
			}
			fmt.Fprintf(w, "</tr>\n")
			continue
		}
		if inTable {
			fmt.Fprintf(w, "</table>\n")
			inTable = false
		}
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "### "):
			fmt.Fprintf(w, "<h3>%s</h3>\n", html.EscapeString(strings.TrimPrefix(line, "### ")))
		default:
			fmt.Fprintf(w, "<p>%s</p>\n", html.EscapeString(line))
		}
	}
	if inTable {
		fmt.Fprintf(w, "</table>\n")
	}
}
