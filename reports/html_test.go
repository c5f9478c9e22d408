package reports

import (
	"bytes"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"strings"
	"testing"
)

func renderHTML(t *testing.T, s *Summary, title string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.HTML(&buf, title); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// htmlVoid are the HTML void elements the report may use.
var htmlVoid = map[string]bool{"meta": true, "br": true, "hr": true, "img": true, "link": true, "input": true}

// htmlSection is what parseHTML finds in one <section>.
type htmlSection struct {
	h2     string
	h3     []string // text of each <h3>, without its <small> note
	tables int
	svgs   int
	// rowHeaders are the texts of <th scope="row">, decoded.
	rowHeaders []string
}

// parseHTML tokenizes doc with encoding/xml in non-strict HTML mode,
// checks that every element is closed in order, and returns the sections
// by id.
func parseHTML(t *testing.T, doc string) (map[string]*htmlSection, []string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(doc))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	var stack []string
	sections := map[string]*htmlSection{}
	var order []string
	var cur *htmlSection
	var text *strings.Builder // collects the text of the current h2/h3/th
	inSmall := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("HTML does not tokenize: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			if !htmlVoid[name] {
				stack = append(stack, name)
			}
			attr := func(key string) string {
				for _, a := range tok.Attr {
					if a.Name.Local == key {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case name == "section":
				cur = &htmlSection{}
				id := attr("id")
				if sections[id] != nil {
					t.Errorf("duplicate section id %q", id)
				}
				sections[id] = cur
				order = append(order, id)
			case cur != nil && (name == "h2" || name == "h3" || (name == "th" && attr("scope") == "row")):
				text = &strings.Builder{}
			case name == "small":
				inSmall = true
			case cur != nil && name == "table":
				cur.tables++
			case cur != nil && name == "svg":
				cur.svgs++
			}
		case xml.EndElement:
			name := tok.Name.Local
			if htmlVoid[name] {
				continue
			}
			if len(stack) == 0 || stack[len(stack)-1] != name {
				t.Fatalf("unbalanced </%s>; open elements %q", name, stack)
			}
			stack = stack[:len(stack)-1]
			switch {
			case name == "small":
				inSmall = false
			case name == "section":
				cur = nil
			case text != nil && name == "h2":
				cur.h2 = strings.TrimSpace(text.String())
				text = nil
			case text != nil && name == "h3":
				cur.h3 = append(cur.h3, strings.TrimSpace(text.String()))
				text = nil
			case text != nil && name == "th":
				cur.rowHeaders = append(cur.rowHeaders, text.String())
				text = nil
			}
		case xml.CharData:
			if text != nil && !inSmall {
				text.Write(tok)
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("unclosed elements %q", stack)
	}
	return sections, order
}

func TestHTMLStructure(t *testing.T) {
	s := exportSummary()
	doc := renderHTML(t, s, "Nightly <long-context> & co")
	if !strings.HasPrefix(doc, "<!DOCTYPE html>\n<html lang=\"en\">") {
		t.Errorf("document starts with %q", doc[:min(len(doc), 40)])
	}
	sections, order := parseHTML(t, doc)

	var wantOrder []string
	for _, task := range s.Tasks() {
		id := "task-" + task
		wantOrder = append(wantOrder, id)
		sec := sections[id]
		if sec == nil {
			t.Errorf("no <section id=%q>", id)
			continue
		}
		if sec.h2 != task {
			t.Errorf("section %s: <h2> %q, want %q", id, sec.h2, task)
		}
		var metrics []string
		for _, m := range s.Metrics(task) {
			if s.hasData(task, m.Name) {
				metrics = append(metrics, m.Name)
			}
		}
		// Then the derived sections of the markdown report, converted.
		var extra bytes.Buffer
		s.writeEffectiveLengths(&extra, task, s.Backends(task))
		s.writeSpeed(&extra, task, s.Backends(task), s.Lengths(task))
		s.writePercentiles(&extra, task, s.Backends(task), s.Lengths(task))
		s.writePaired(&extra, task, s.Backends(task), s.Lengths(task))
		headings, tables := append([]string(nil), metrics...), len(metrics)
		inTable := false
		for _, line := range strings.Split(extra.String(), "\n") {
			if strings.HasPrefix(line, "### ") {
				headings = append(headings, strings.TrimPrefix(line, "### "))
			}
			if strings.HasPrefix(line, "|") && !inTable {
				tables++
			}
			inTable = strings.HasPrefix(line, "|")
		}
		if strings.Join(sec.h3, "|") != strings.Join(headings, "|") {
			t.Errorf("section %s: <h3> %q, want %q", id, sec.h3, headings)
		}
		if sec.tables != tables {
			t.Errorf("section %s: %d tables, want %d", id, sec.tables, tables)
		}
		if sec.svgs != len(metrics) {
			t.Errorf("section %s: %d inline SVG plots, want %d", id, sec.svgs, len(metrics))
		}
	}
	if s.hasMethodSection() {
		wantOrder = append(wantOrder, "methods")
	}
	wantOrder = append(wantOrder, "warnings")
	if strings.Join(order, " ") != strings.Join(wantOrder, " ") {
		t.Errorf("sections %q, want %q", order, wantOrder)
	}
	if got := sections["task-fail"]; got != nil && got.tables != 0 {
		t.Errorf("task with only errors has %d tables", got.tables)
	}
	if !strings.Contains(doc, "<p>No values: every record of this task failed.</p>") {
		t.Error("no note for the task whose records all failed")
	}

	// The tricky backend label is a row header of the escape table, and
	// decodes back to itself.
	found := false
	for _, h := range sections["task-escape"].rowHeaders {
		if h == trickyLabel {
			found = true
		}
	}
	if !found {
		t.Errorf("task-escape row headers %q lack %q", sections["task-escape"].rowHeaders, trickyLabel)
	}

	for _, want := range []string{
		"<title>Nightly &lt;long-context&gt; &amp; co (runs r1, r2 +1 more)</title>",
		"<h1>Nightly &lt;long-context&gt; &amp; co</h1>",
		"Runs: r1, r2, r3.",
		"<th scope=\"col\">1K</th>",
		"<th scope=\"col\">1000</th>",
		"<span class=\"err\">(2 err)</span>", // sparse-topk at 32K
		"<td class=\"missing\">—</td>",       // sliding at 32K
		"<li>sparse-topk @ 32K: 2 error records</li>",
		"<li>accuracy, sliding @ 16K: 1 sample: no interval</li>",
		"<h3>accuracy <small>(score, higher is better)</small></h3>",
		"<h3>prefill <small>(ms, lower is better)</small></h3>",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

// TestHTMLSelfContained checks that the document references nothing
// outside itself: no URL but the SVG namespace, no script, no external
// style sheet, no link other than to its own sections.
func TestHTMLSelfContained(t *testing.T) {
	doc := renderHTML(t, exportSummary(), "report")
	rest := strings.ReplaceAll(doc, `xmlns="http://www.w3.org/2000/svg"`, "")
	for _, bad := range []string{"http://", "https://", "<script", "<link", "<img", "<iframe", "@import", "src=", "<?xml", "<!--"} {
		if i := strings.Index(rest, bad); i >= 0 {
			t.Errorf("HTML contains %q: %q", bad, rest[max(0, i-60):min(len(rest), i+60)])
		}
	}
	for _, part := range strings.Split(rest, `href="`)[1:] {
		if !strings.HasPrefix(part, "#") {
			t.Errorf("link to %q", part[:min(len(part), 40)])
		}
	}
	if n := strings.Count(doc, "<svg "); n != strings.Count(doc, "</svg>") || n == 0 {
		t.Errorf("%d <svg> and %d </svg>", n, strings.Count(doc, "</svg>"))
	}
}

func TestHTMLEscapes(t *testing.T) {
	doc := renderHTML(t, exportSummary(), `<script>alert("x")</script>`)
	for _, raw := range []string{trickyLabel, "<b>", `<script>`} {
		if strings.Contains(doc, raw) {
			t.Errorf("HTML contains unescaped %q", raw)
		}
	}
	if want := "<th scope=\"row\">" + html.EscapeString(trickyLabel) + "</th>"; !strings.Contains(doc, want) {
		t.Errorf("HTML lacks escaped row header %q", want)
	}
	if want := "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"; !strings.Contains(doc, want) {
		t.Errorf("HTML lacks escaped title %q", want)
	}
}

func TestHTMLDeterministic(t *testing.T) {
	first := renderHTML(t, exportSummary(), "r")
	for range 3 {
		if renderHTML(t, exportSummary(), "r") != first {
			t.Fatal("HTML output differs between renderings")
		}
	}
}

func TestHTMLEmpty(t *testing.T) {
	doc := renderHTML(t, New(), "")
	parseHTML(t, doc)
	for _, want := range []string{"<title>evalctl report</title>", "<p>No records.</p>", "</html>\n"} {
		if !strings.Contains(doc, want) {
			t.Errorf("empty HTML lacks %q:\n%s", want, doc)
		}
	}
}

// TestHTMLInlineSVG checks the SVG clean-up on a vgsvg header.
func TestHTMLInlineSVG(t *testing.T) {
	in := "<?xml version=\"1.0\"?>\n<!-- Generated by SVGo and Plotinum VG -->\n" +
		"<svg width=\"1pt\" height=\"1pt\" viewBox=\"0 0 1 1\"\n\txmlns=\"http://www.w3.org/2000/svg\"\n\txmlns:xlink=\"http://www.w3.org/1999/xlink\">\n<g></g>\n</svg>\n"
	got := htmlInlineSVG(in, `a<b`)
	want := "<svg class=\"plot\" role=\"img\" aria-label=\"a&lt;b\" width=\"1pt\" height=\"1pt\" viewBox=\"0 0 1 1\"\n\txmlns=\"http://www.w3.org/2000/svg\">\n<g></g>\n</svg>\n"
	if got != want {
		t.Errorf("htmlInlineSVG =\n%s\nwant\n%s", got, want)
	}
	// xlink in use: the declaration stays.
	used := strings.Replace(in, "<g></g>", `<use xlink:href="#a"/>`, 1)
	if got := htmlInlineSVG(used, ""); !strings.Contains(got, "xmlns:xlink=") {
		t.Errorf("xlink declaration dropped although used:\n%s", got)
	}
}
