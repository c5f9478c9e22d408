package reports

import (
	"bytes"
	"strings"
	"testing"
)

func TestTextGolden(t *testing.T) {
	s := New()
	for _, r := range fixture() {
		s.Add(r)
	}
	var buf bytes.Buffer
	if err := s.Text(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, "|:--") || strings.Contains(out, "### ") {
		t.Errorf("markdown syntax left in the text output:\n%s", out)
	}
	golden(t, "summary.txt", []byte(out))
}
