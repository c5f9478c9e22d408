package reports

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"text/tabwriter"
)

// Text writes the same report as Markdown for a terminal: tables as aligned
// columns, headings underlined, no markdown syntax.
func (s *Summary) Text(w io.Writer) error {
	var md bytes.Buffer
	if err := s.Markdown(&md); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	tw := tabwriter.NewWriter(bw, 0, 4, 2, ' ', tabwriter.AlignRight)
	inTable := false
	for _, line := range strings.Split(strings.TrimRight(md.String(), "\n"), "\n") {
		if strings.HasPrefix(line, "|") {
			cells := strings.Split(strings.Trim(line, "|"), "|")
			if strings.HasPrefix(strings.TrimSpace(cells[0]), ":--") || strings.HasPrefix(strings.TrimSpace(cells[0]), "--") {
				continue // the markdown separator row
			}
			for i := range cells {
				cells[i] = strings.ReplaceAll(strings.TrimSpace(cells[i]), `\|`, "|")
			}
			io.WriteString(tw, strings.Join(cells, "\t")+"\t\n")
			inTable = true
			continue
		}
		if inTable {
			tw.Flush()
			inTable = false
		}
		switch {
		case strings.HasPrefix(line, "## "):
			title := strings.TrimPrefix(line, "## ")
			io.WriteString(bw, title+"\n"+strings.Repeat("=", len([]rune(title)))+"\n")
		case strings.HasPrefix(line, "### "):
			title := strings.TrimPrefix(line, "### ")
			io.WriteString(bw, title+"\n"+strings.Repeat("-", len([]rune(title)))+"\n")
		default:
			io.WriteString(bw, strings.ReplaceAll(line, "**", "")+"\n")
		}
	}
	if inTable {
		tw.Flush()
	}
	return bw.Flush()
}
