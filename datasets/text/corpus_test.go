package text

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
)

func texts(ss []Sentence) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Text
		if s.Para {
			out[i] = "¶" + out[i]
		}
	}
	return out
}

func TestSplitSentences(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"  \n\n ", nil},
		{"One. Two!  Three?", []string{"¶One.", "Two!", "Three?"}},
		{"Mr. Smith met Dr. Jones. They talked.", []string{"¶Mr. Smith met Dr. Jones.", "They talked."}},
		{"J. R. Tolkien wrote. Then he slept.", []string{"¶J. R. Tolkien wrote.", "Then he slept."}},
		{"It was 3.5 m long. e.g. this one. Done", []string{"¶It was 3.5 m long. e.g. this one.", "Done"}},
		{"\"Go!\" she said. \"Now.\" He went.", []string{"¶\"Go!\" she said.", "\"Now.\"", "He went."}},
		{"Line one\ncontinues here.\n\nNew paragraph.\r\nSame one.", []string{"¶Line one continues here.", "¶New paragraph.", "Same one."}},
		{"Ends with (a bracket.) Next one.", []string{"¶Ends with (a bracket.)", "Next one."}},
		{"Bad \xff byte. Fine.", []string{"¶Bad \uFFFD byte.", "Fine."}},
		{"Numbers. 42 is next.", []string{"¶Numbers.", "42 is next."}},
	} {
		got := texts(SplitSentences(c.in))
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("SplitSentences(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

func TestSplitLongSentence(t *testing.T) {
	in := strings.Repeat("word ", 1000)
	ss := SplitSentences(in)
	if len(ss) < 4 {
		t.Fatalf("%d sentences, want the 5,000 bytes split", len(ss))
	}
	for _, s := range ss {
		if len(s.Text) > MaxSentenceBytes+10 {
			t.Fatalf("sentence of %d bytes", len(s.Text))
		}
	}
}

// checkSplit holds the invariants of SplitSentences for any input.
func checkSplit(t *testing.T, in string) {
	ss := SplitSentences(in)
	var words []string
	for i, s := range ss {
		if s.Text == "" || !utf8.ValidString(s.Text) || strings.TrimSpace(s.Text) != s.Text || strings.Join(strings.Fields(s.Text), " ") != s.Text {
			t.Fatalf("sentence %d %q is not clean", i, s.Text)
		}
		if i == 0 && !s.Para {
			t.Fatalf("first sentence does not start a paragraph")
		}
		words = append(words, strings.Fields(s.Text)...)
	}
	want := strings.Fields(strings.ToValidUTF8(in, "\uFFFD"))
	if strings.Join(words, " ") != strings.Join(want, " ") {
		t.Fatalf("words changed:\n got %q\nwant %q", words, want)
	}
}

func FuzzSplitSentences(f *testing.F) {
	for _, s := range []string{"One. Two!  Three?", "Mr. Smith. \"Go!\" she said.\n\nNew.", "a\xffb. C", strings.Repeat("x ", 700) + "."} {
		f.Add(s)
	}
	f.Fuzz(checkSplit)
}

func TestReadJSONL(t *testing.T) {
	in := "\ufeff{\"text\": \"First doc. Two sentences.\", \"id\": 1}\n\n{\"text\":\"Second.\"}\r\n{\"text\": \"\"}\n{\"text\": \"No newline at end.\"}"
	docs, err := ReadJSONL(strings.NewReader(in), "c.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range docs {
		names = append(names, d.Name)
	}
	if want := []string{"c.jsonl:1", "c.jsonl:3", "c.jsonl:4", "c.jsonl:5"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("names %q, want %q", names, want)
	}
	if got := texts(docs[0].Sentences); !reflect.DeepEqual(got, []string{"¶First doc.", "Two sentences."}) {
		t.Fatalf("doc 0: %q", got)
	}
	// zstd-compressed input is detected by content.
	e, _ := zstd.NewWriter(nil)
	zdocs, err := ReadJSONL(bytes.NewReader(e.EncodeAll([]byte(in), nil)), "c.jsonl.zst")
	if err != nil || len(zdocs) != 4 {
		t.Fatalf("zstd: %d docs, %v", len(zdocs), err)
	}
	for _, c := range []struct{ in, want string }{
		{"{\"text\": \"ok\"}\nnot json\n", "c:2: not a JSON object"},
		{"[1, 2]\n", "c:1: not a JSON object"},
		{"{\"title\": \"x\"}\n", "c:1: no \"text\" field"},
		{"{\"text\": 5}\n", "c:1: field \"text\" is not a string"},
	} {
		_, err := ReadJSONL(strings.NewReader(c.in), "c")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadJSONL(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzReadJSONL(f *testing.F) {
	f.Add([]byte("{\"text\": \"A. B.\"}\n{\"text\": \"C\"}\n"))
	f.Add([]byte("{\"text\": \"x\", \"text\": \"y\"}\n\n[]"))
	f.Add([]byte("\ufeff{\"text\":\"\\u00e9t\\u00e9. Fin.\"}\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := ReadJSONL(bytes.NewReader(data), "f")
		if err != nil {
			if !regexp.MustCompile(`^f:\d+: `).MatchString(err.Error()) {
				t.Fatalf("error without a line number: %v", err)
			}
			return
		}
		// Every document is the "text" field of one non-blank line, as
		// encoding/json reads it.
		lines := bytes.Split(bytes.TrimPrefix(data, []byte("\ufeff")), []byte("\n"))
		var want []string
		for _, l := range lines {
			if len(bytes.TrimSpace(l)) == 0 {
				continue
			}
			var obj struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(l, &obj); err != nil || obj.Text == nil {
				t.Fatalf("line %q accepted but encoding/json says %v", l, err)
			}
			want = append(want, *obj.Text)
		}
		if len(docs) != len(want) {
			t.Fatalf("%d documents, want %d", len(docs), len(want))
		}
		for i, d := range docs {
			var words []string
			for _, s := range d.Sentences {
				words = append(words, s.Text)
			}
			if strings.Join(words, " ") != strings.Join(strings.Fields(strings.ToValidUTF8(want[i], "\uFFFD")), " ") {
				t.Fatalf("document %d: %q from %q", i, words, want[i])
			}
		}
	})
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCorpus(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.txt"), "Bee one. Bee two.")
	writeFile(t, filepath.Join(dir, "a", "z.txt"), "Zed one.\n\nZed two.")
	writeFile(t, filepath.Join(dir, "notes.md"), "Ignored.")
	writeFile(t, filepath.Join(dir, "empty.txt"), " \n")
	c, err := LoadCorpus(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Docs) != 2 || filepath.Base(c.Docs[0].Name) != "z.txt" || filepath.Base(c.Docs[1].Name) != "b.txt" {
		t.Fatalf("docs %+v", c.Docs)
	}
	// Every pass covers every document once; the seed fixes the order.
	got := texts(Take(c.Sentences(5), 8))
	again := texts(Take(c.Sentences(5), 8))
	if !reflect.DeepEqual(got, again) {
		t.Fatal("same seed, different streams")
	}
	first := strings.Join(got[:4], " ")
	if !strings.Contains(first, "¶Bee one. Bee two.") || !strings.Contains(first, "¶Zed one. ¶Zed two.") {
		t.Fatalf("first pass %q", got[:4])
	}
	orders := map[string]bool{}
	for seed := uint64(0); seed < 20; seed++ {
		orders[c.Sentences(seed).Next().Text] = true
	}
	if len(orders) != 2 {
		t.Errorf("20 seeds gave first sentences %v; want both documents first for some seed", orders)
	}

	jl := filepath.Join(dir, "c.jsonl")
	writeFile(t, jl, "{\"text\": \"One. Two.\"}\n")
	if c, err := LoadCorpus(jl); err != nil || len(c.Docs) != 1 {
		t.Fatalf("jsonl: %v", err)
	}
	if c, err := LoadCorpus(filepath.Join(dir, "b.txt")); err != nil || len(c.Docs) != 1 {
		t.Fatalf("txt: %v", err)
	}
	for _, bad := range []string{filepath.Join(dir, "missing"), filepath.Join(dir, "empty.txt"), t.TempDir()} {
		if _, err := LoadCorpus(bad); err == nil {
			t.Errorf("LoadCorpus(%s): no error", bad)
		}
	}
}

func TestKinds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for i := 0; i < 1000; i++ {
		if n := Numbers.Draw(r); len(n) != 7 || n[0] == '0' || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("number %q", n)
		}
		if u := UUIDs.Draw(r); !uuid.MatchString(u) {
			t.Fatalf("uuid %q", u)
		}
		if w := Words.Draw(r); !regexp.MustCompile(`^[a-z]+-[a-z]+$`).MatchString(w) {
			t.Fatalf("word %q", w)
		}
	}
	avoid := map[string]bool{}
	vals := Numbers.Distinct(r, 50, avoid)
	if len(avoid) != 50 {
		t.Fatalf("avoid has %d values", len(avoid))
	}
	seen := map[string]bool{}
	for _, v := range vals {
		if seen[v] {
			t.Fatalf("duplicate %s", v)
		}
		seen[v] = true
	}
	a := UUID(rand.New(rand.NewPCG(9, 9)))
	b := UUID(rand.New(rand.NewPCG(9, 9)))
	if a != b {
		t.Fatal("UUID not deterministic")
	}
	if _, err := ParseKind("colors"); err == nil {
		t.Fatal("ParseKind accepted colors")
	}
	if UUIDs.Noun() != "UUIDs" || Numbers.Noun() != "numbers" {
		t.Fatal("nouns")
	}
}
