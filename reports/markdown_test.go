package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name.golden, or rewrites the file
// with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update to accept):\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

func TestMarkdownGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := fixtureSummary().Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "markdown", buf.Bytes())
}

// TestMarkdownDeterministic checks that the output does not depend on
// map iteration order: rendering twice gives the same bytes.
func TestMarkdownDeterministic(t *testing.T) {
	render := func() string {
		var buf bytes.Buffer
		if err := fixtureSummary().Markdown(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	first := render()
	for range 5 {
		if render() != first {
			t.Fatal("Markdown output differs between renderings")
		}
	}
}

func TestMarkdownCells(t *testing.T) {
	var buf bytes.Buffer
	if err := fixtureSummary().Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"## niah\n",
		"### accuracy (score, higher is better)\n",
		"### prefill (ms, lower is better)\n",
		"| backend | 1K | 2K | 4K | 8K | 16K | 32K |\n",
		"| backend | 1000 | 4000 |\n",
		"(2 err) |\n", // sparse-topk at 32K
		" — |\n",      // sliding at 32K
		"- sparse-topk @ 32K: 2 error records\n",
		"- accuracy, sliding @ 16K: 1 sample: no interval\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Markdown output lacks %q", want)
		}
	}
}

func TestMarkdownEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := New().Markdown(&buf); err != nil {
		t.Fatal(err)
	}
	if got := buf.String(); got != "No records.\n" {
		t.Errorf("empty Markdown = %q", got)
	}
}
