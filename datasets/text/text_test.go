package text

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite words.zst and testdata/*.golden")

// TestWordsEmbedded checks (or with -update rebuilds) words.zst from
// testdata/words.txt.
func TestWordsEmbedded(t *testing.T) {
	src, err := os.ReadFile("testdata/words.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseLexicon(string(src)); err != nil {
		t.Fatalf("testdata/words.txt: %v", err)
	}
	if *update {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("words.zst", e.EncodeAll(src, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote words.zst; rebuild to embed it")
		return
	}
	got, err := decompress(wordsZst)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, src) {
		t.Fatal("words.zst is not testdata/words.txt compressed: run go test ./datasets/text -run TestWordsEmbedded -update")
	}
	w := DefaultLexicon()
	total := len(w.Adjectives) + len(w.Adverbs) + len(w.Verbs) + len(w.Intransitive) + len(w.Agents) + len(w.Things)
	for _, tp := range w.Topics {
		total += len(tp.Agents) + len(tp.Things)
	}
	if total < 2500 || len(w.Topics) < 30 {
		t.Errorf("%d words in %d topics; want a few thousand in at least 30", total, len(w.Topics))
	}
	t.Logf("%d words: %d adjectives, %d adverbs, %d verbs, %d intransitive, %d agents, %d things, %d topics",
		total, len(w.Adjectives), len(w.Adverbs), len(w.Verbs), len(w.Intransitive), len(w.Agents), len(w.Things), len(w.Topics))
}

func TestInflections(t *testing.T) {
	w, err := ParseLexicon("@adjectives\nred\n@adverbs\nslowly\n@verbs\ncarry echo fix tie make see stop|stopped|stopping play build|built\n" +
		"@intransitive\nrise|rose\n@agents\nchild|children\n@things\nbox bench key library sand|- leaf|leaves\n@topic the sea\nagents: sailor\nthings: tide\n")
	if err != nil {
		t.Fatal(err)
	}
	verbs := map[string]Verb{}
	for _, v := range w.Verbs {
		verbs[v.Base] = v
	}
	for _, c := range []Verb{
		{"carry", "carries", "carried", "carrying"},
		{"echo", "echoes", "echoed", "echoing"},
		{"fix", "fixes", "fixed", "fixing"},
		{"tie", "ties", "tied", "tying"},
		{"make", "makes", "maked", "making"}, // irregular pasts are spelled out in the lists
		{"see", "sees", "seed", "seeing"},
		{"stop", "stops", "stopped", "stopping"},
		{"play", "plays", "played", "playing"},
		{"build", "builds", "built", "building"},
	} {
		if got := verbs[c.Base]; got != c {
			t.Errorf("verb %s: got %+v, want %+v", c.Base, got, c)
		}
	}
	for i, want := range []Noun{{"box", "boxes", false}, {"bench", "benches", false}, {"key", "keys", false},
		{"library", "libraries", false}, {"sand", "sand", true}, {"leaf", "leaves", false}} {
		if w.Things[i] != want {
			t.Errorf("noun %d: got %+v, want %+v", i, w.Things[i], want)
		}
	}
	if w.Agents[0].Plural != "children" || w.Topics[0].Name != "the sea" {
		t.Errorf("agents %+v topics %+v", w.Agents, w.Topics)
	}
	for _, c := range [][2]string{{"apple", "an"}, {"unit", "a"}, {"hour", "an"}, {"pear", "a"}, {"useful", "a"}, {"old", "an"}} {
		if got := article(c[0]); got != c[1] {
			t.Errorf("article(%s) = %s, want %s", c[0], got, c[1])
		}
	}
}

func TestParseLexiconErrors(t *testing.T) {
	ok := "@adjectives\nred\n@adverbs\nslowly\n@verbs\ncarry\n@intransitive\nrise\n@agents\nchild\n@things\nbox\n@topic sea\nagents: sailor\nthings: tide\n"
	if _, err := ParseLexicon(ok); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ src, want string }{
		{"red\n", "before the first @section"},
		{"@colors\nred\n", "unknown section"},
		{"@adjectives\nRed\n", "lower-case ASCII"},
		{"@adjectives\nred red\n", "duplicate"},
		{"@adjectives\nred|redder\n", "take no forms"},
		{"@verbs\na|b|c|d\n", "want base"},
		{"@things\nbox|boxes|boxen\n", "want singular"},
		{"@topic sea\nsailor\n", "must start with agents"},
		{strings.Replace(ok, "@adverbs\nslowly\n", "", 1), "@adverbs is missing"},
		{strings.Replace(ok, "things: tide\n", "", 1), "needs agents and things"},
	} {
		_, err := ParseLexicon(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseLexicon(%q) = %v, want an error containing %q", c.src, err, c.want)
		}
	}
}

func FuzzParseLexicon(f *testing.F) {
	src, err := os.ReadFile("testdata/words.txt")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(src[:min(len(src), 3000)]))
	f.Add("@adjectives\nred\n@topic x\nagents: a|b\nthings: c|-\n")
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ParseLexicon(s)
		if err != nil {
			return
		}
		// A lexicon that parses generates essays without panicking.
		Join(Take(EssaysFrom(w).Sentences(1), 30))
	})
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (run with -update if the change is intended)\ngot:\n%s", path, got)
	}
}

// TestEssayGolden pins the essays of seed 1 byte for byte: the output must
// be the same on every machine.
func TestEssayGolden(t *testing.T) {
	golden(t, "essay-seed1.golden", Join(Take(Essays().Sentences(1), 80))+"\n")
}

func TestEssayDeterministicAndDistinct(t *testing.T) {
	a := Join(Take(Essays().Sentences(7), 500))
	b := Join(Take(Essays().Sentences(7), 500))
	c := Join(Take(Essays().Sentences(8), 500))
	if a != b {
		t.Fatal("same seed gave different essays")
	}
	if a == c {
		t.Fatal("different seeds gave the same essays")
	}
}

var sentenceShape = regexp.MustCompile(`^[A-Z][a-z ,;-]*[a-z][.?]$`)

// TestEssayForm checks the surface of many sentences: capitalised, ended,
// single-spaced, articles agreeing with the next word, paragraphs of 4 to
// 8 sentences.
func TestEssayForm(t *testing.T) {
	s := Essays().Sentences(3)
	paraLen := -1
	for i := 0; i < 20000; i++ {
		sen := s.Next()
		if !sentenceShape.MatchString(sen.Text) || strings.Contains(sen.Text, "  ") || strings.Contains(sen.Text, " ,") {
			t.Fatalf("sentence %d has a bad shape: %q", i, sen.Text)
		}
		words := strings.Fields(strings.ToLower(strings.NewReplacer(",", "", ";", "", ".", "", "?", "").Replace(sen.Text)))
		for j := 0; j+1 < len(words); j++ {
			if (words[j] == "a" || words[j] == "an") && article(words[j+1]) != words[j] {
				t.Fatalf("sentence %d: %q before %q: %q", i, words[j], words[j+1], sen.Text)
			}
		}
		if sen.Para {
			if paraLen >= 0 && (paraLen < 4 || paraLen > 8) {
				t.Fatalf("paragraph of %d sentences before sentence %d", paraLen, i)
			}
			paraLen = 0
		}
		paraLen++
	}
}

func TestNoise(t *testing.T) {
	got := Join(Take(Noise().Sentences(99), 7))
	want := "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. The grass is green. The sky is blue."
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestJoin(t *testing.T) {
	got := Join([]Sentence{{Text: "A.", Para: true}, {Text: "B."}, {Text: "C.", Para: true}})
	if got != "A. B.\n\nC." {
		t.Fatalf("got %q", got)
	}
}

func TestNewSource(t *testing.T) {
	for _, name := range []string{"noise", "essay"} {
		if _, err := NewSource(name, ""); err != nil {
			t.Error(err)
		}
	}
	if _, err := NewSource("corpus", ""); err == nil {
		t.Error("corpus without a path: no error")
	}
	if _, err := NewSource("poems", ""); err == nil || !strings.Contains(err.Error(), "accepted: noise, essay, corpus") {
		t.Errorf("unknown source: %v", err)
	}
}
