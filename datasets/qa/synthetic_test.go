package qa

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// goldenSynthetic is what testdata/synthetic.golden holds: a fixed seed's
// items and stream documents, as indented JSON.
func goldenSynthetic(t *testing.T) []byte {
	t.Helper()
	items, err := Synthetic(20240611, 8, SyntheticOptions{Hops: HopsMixed, Distractors: 2})
	if err != nil {
		t.Fatal(err)
	}
	out := struct {
		Items       []Item     `json:"items"`
		Distractors []Document `json:"distractors"`
	}{items, SyntheticDistractors(20240611, 4)}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// TestSyntheticGolden pins the generator's output: a change here changes
// every synthetic sample of every suite, so it must be deliberate (rerun
// with -update and review the diff).
func TestSyntheticGolden(t *testing.T) {
	got := goldenSynthetic(t)
	path := filepath.Join("testdata", "synthetic.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("synthetic output differs from %s (rerun with -update if the change is intended)\ngot:\n%s", path, got)
	}
}

func TestSyntheticDeterministic(t *testing.T) {
	for _, opt := range []SyntheticOptions{{}, {Hops: 1}, {Hops: 2, Distractors: 5}} {
		a, err := Synthetic(99, 40, opt)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Synthetic(99, 40, opt)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("%+v: two calls with the same seed differ", opt)
		}
		// Prefix-stable: fewer items are the first items of more.
		c, _ := Synthetic(99, 13, opt)
		if !reflect.DeepEqual(a[:13], c) {
			t.Fatalf("%+v: Synthetic(seed, 13) is not the prefix of Synthetic(seed, 40)", opt)
		}
		d, _ := Synthetic(100, 40, opt)
		if reflect.DeepEqual(a, d) {
			t.Fatalf("%+v: seeds 99 and 100 give the same items", opt)
		}
	}
	s1, s2 := SyntheticDistractors(5, 60), SyntheticDistractors(5, 25)
	if !reflect.DeepEqual(s1[:25], s2) {
		t.Fatal("SyntheticDistractors(seed, 25) is not the prefix of SyntheticDistractors(seed, 60)")
	}
	s := NewDistractorStream(5)
	for i := range s1 {
		if d := s.Next(); d != s1[i] {
			t.Fatalf("stream document %d differs from SyntheticDistractors", i)
		}
	}
	if SyntheticDistractors(5, 0) != nil {
		t.Fatal("SyntheticDistractors(seed, 0) is not nil")
	}
}

func TestSyntheticOptions(t *testing.T) {
	for _, c := range []struct {
		n    int
		opt  SyntheticOptions
		want string
	}{
		{1, SyntheticOptions{Hops: 3}, "SyntheticOptions.Hops = 3"},
		{1, SyntheticOptions{Hops: -1}, "SyntheticOptions.Hops = -1"},
		{1, SyntheticOptions{Distractors: -1}, "SyntheticOptions.Distractors = -1"},
		{1, SyntheticOptions{Distractors: MaxSyntheticDistractors + 1}, "SyntheticOptions.Distractors"},
		{-1, SyntheticOptions{}, "n = -1"},
		{MaxSyntheticItems + 1, SyntheticOptions{}, "n = 10001"},
	} {
		_, err := Synthetic(1, c.n, c.opt)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Synthetic(1, %d, %+v) = %v, want an error containing %q", c.n, c.opt, err, c.want)
		}
	}
	items, err := Synthetic(1, 0, SyntheticOptions{})
	if err != nil || len(items) != 0 {
		t.Errorf("Synthetic(1, 0) = %d items, %v", len(items), err)
	}
}

// wordCount counts the case-insensitive occurrences of the words of s as
// consecutive words of text, words being runs of letters and digits: an
// implementation independent of the generator's own.
func wordCount(text, s string) int {
	words := func(x string) []string {
		return strings.FieldsFunc(strings.ToLower(x), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	}
	tw, sw := words(text), words(s)
	if len(sw) == 0 {
		return 0
	}
	n := 0
	for i := 0; i+len(sw) <= len(tw); i++ {
		if slices.Equal(tw[i:i+len(sw)], sw) {
			n++
		}
	}
	return n
}

// nameWords returns the generated words of an entity name: all but a
// company's suffix, which is vocabulary.
func nameWords(name string) []string {
	f := strings.Fields(name)
	if len(f) == 2 && slices.Contains(companySuffixes, f[1]) {
		return f[:1]
	}
	return f
}

// checkItems checks the guarantees of the package documentation on items
// of one call.
func checkItems(t *testing.T, items []Item, opt SyntheticOptions) {
	t.Helper()
	docs := map[string]string{}    // title -> text: one document per entity
	owner := map[string]string{}   // name word -> entity name
	questions := map[string]bool{} // no question twice
	ids := map[string]bool{}
	addDoc := func(d Document) {
		if text, ok := docs[d.Title]; ok && text != d.Text {
			t.Fatalf("two documents titled %q:\n%s\n%s", d.Title, text, d.Text)
		}
		docs[d.Title] = d.Text
		for _, w := range nameWords(d.Title) {
			if o, ok := owner[strings.ToLower(w)]; ok && o != d.Title {
				t.Fatalf("name word %q in both %q and %q", w, o, d.Title)
			}
			owner[strings.ToLower(w)] = d.Title
		}
	}
	for _, it := range items {
		if ids[it.ID] || questions[it.Question] {
			t.Fatalf("%s: ID or question repeated: %q", it.ID, it.Question)
		}
		ids[it.ID], questions[it.Question] = true, true
		if it.Source != "synthetic" || it.Unanswerable || len(it.Answers) != 1 || it.Answers[0] == "" {
			t.Fatalf("%s: bad fields %+v", it.ID, it)
		}
		if opt.Hops != HopsMixed && it.Hops != opt.Hops || len(it.Gold) != it.Hops {
			t.Fatalf("%s: %d hops, %d gold documents, options %+v", it.ID, it.Hops, len(it.Gold), opt)
		}
		if len(it.Distractors) != opt.Distractors {
			t.Fatalf("%s: %d distractors, want %d", it.ID, len(it.Distractors), opt.Distractors)
		}
		ans := it.Answers[0]
		subj := it.Gold[0].Title
		if !strings.Contains(it.Question, subj) || !strings.HasSuffix(it.Question, "?") {
			t.Fatalf("%s: question %q does not name the subject %q", it.ID, it.Question, subj)
		}
		if wordCount(it.Question, ans) != 0 {
			t.Fatalf("%s: question %q gives away the answer %q", it.ID, it.Question, ans)
		}
		total := 0
		for _, g := range it.Gold {
			total += wordCount(g.Text, ans)
			addDoc(g)
		}
		if total != 1 {
			t.Fatalf("%s: answer %q occurs %d times in the gold documents %+v", it.ID, ans, total, it.Gold)
		}
		avoid := []string{subj}
		if it.Hops == 2 {
			bridge := it.Gold[1].Title
			avoid = append(avoid, bridge)
			switch {
			case wordCount(it.Gold[0].Text, ans) != 0:
				t.Fatalf("%s: the subject's document alone answers %q", it.ID, it.Question)
			case wordCount(it.Gold[1].Text, subj) != 0:
				t.Fatalf("%s: the bridge document %q names the subject %q", it.ID, bridge, subj)
			case wordCount(it.Gold[0].Text, bridge) == 0:
				t.Fatalf("%s: the subject's document does not name the bridge %q", it.ID, bridge)
			case strings.Contains(it.Question, bridge):
				t.Fatalf("%s: the question names the bridge %q", it.ID, bridge)
			}
		} else if wordCount(it.Gold[0].Text, subj) == 0 {
			t.Fatalf("%s: the gold document does not name the subject", it.ID)
		}
		for _, d := range it.Distractors {
			addDoc(d)
			for _, a := range avoid {
				if d.Title == a || wordCount(d.Text, a) != 0 {
					t.Fatalf("%s: distractor %q names %q, an entity of the question %q", it.ID, d.Title, a, it.Question)
				}
				// Every generated word of the name, alone, too.
				for _, w := range nameWords(a) {
					if wordCount(d.Text, w) != 0 {
						t.Fatalf("%s: distractor %q contains %q, part of the name %q", it.ID, d.Title, w, a)
					}
				}
			}
		}
	}
}

func TestSyntheticInvariants(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 60
	}
	for _, opt := range []SyntheticOptions{{}, {Hops: 1}, {Hops: 2}, {Hops: HopsMixed, Distractors: 8}, {Hops: 2, Distractors: 30}} {
		for seed := uint64(0); seed < 3; seed++ {
			items, err := Synthetic(seed, n, opt)
			if err != nil {
				t.Fatalf("seed %d %+v: %v", seed, opt, err)
			}
			checkItems(t, items, opt)
			if opt.Hops == HopsMixed {
				hops := map[int]int{}
				for _, it := range items {
					hops[it.Hops]++
				}
				if hops[1] < n/4 || hops[2] < n/4 {
					t.Errorf("seed %d %+v: mixed hops drew %v", seed, opt, hops)
				}
			}
		}
	}
}

// TestSyntheticDistractorsDisjoint checks that stream documents, of the
// same seed or another, never name an entity of an item: no generated name
// word of an item's world occurs in any stream document.
func TestSyntheticDistractorsDisjoint(t *testing.T) {
	items, err := Synthetic(11, 300, SyntheticOptions{Distractors: 3})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, it := range items {
		for _, d := range slices.Concat(it.Gold, it.Distractors) {
			for _, w := range nameWords(d.Title) {
				names[strings.ToLower(w)] = true
			}
		}
	}
	for _, seed := range []uint64{11, 12} {
		titles := map[string]bool{}
		stream := SyntheticDistractors(seed, 3000)
		for i, d := range stream {
			if titles[d.Title] {
				t.Fatalf("seed %d: stream document %d repeats the title %q", seed, i, d.Title)
			}
			titles[d.Title] = true
			if wordCount(d.Text, d.Title) == 0 {
				t.Fatalf("seed %d: document %q does not name its subject", seed, d.Title)
			}
			for _, w := range strings.FieldsFunc(d.Text, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z') }) {
				if names[strings.ToLower(w)] {
					t.Fatalf("seed %d: stream document %q contains %q, a name word of the items' world", seed, d.Title, w)
				}
			}
		}
		// No two of the stream's entities share a name word.
		owner := map[string]string{}
		for _, d := range stream {
			for _, w := range nameWords(d.Title) {
				if o, ok := owner[w]; ok {
					t.Fatalf("seed %d: name word %q in both %q and %q", seed, w, o, d.Title)
				}
				owner[w] = d.Title
			}
		}
	}
}

func TestCountWord(t *testing.T) {
	for _, c := range []struct {
		text, word string
		want       int
	}{
		{"Born in 1873. Not 18730 or 21873.", "1873", 1},
		{"Quessa and quessa, Quessan", "Quessa", 2},
		{"a brass lantern; brass lanterns", "brass lantern", 1},
		{"", "x", 0},
		{"x", "", 0},
		{"aaa", "aa", 0},
	} {
		if got := countWord(c.text, c.word); got != c.want {
			t.Errorf("countWord(%q, %q) = %d, want %d", c.text, c.word, got, c.want)
		}
	}
}

// TestRNGBounds checks the bounded draws cover their range and stay in it.
func TestRNGBounds(t *testing.T) {
	r := newRNG(1, 2)
	for _, n := range []int{1, 2, 3, 7, 1000} {
		seen := make([]bool, n)
		for i := 0; i < 200*n; i++ {
			v := r.intn(n)
			if v < 0 || v >= n {
				t.Fatalf("intn(%d) = %d", n, v)
			}
			seen[v] = true
		}
		if slices.Contains(seen, false) {
			t.Fatalf("intn(%d) missed a value in %d draws", n, 200*n)
		}
	}
}

func FuzzSynthetic(f *testing.F) {
	f.Add(uint64(0), uint8(0), uint8(0))
	f.Add(uint64(1<<63), uint8(2), uint8(5))
	f.Fuzz(func(t *testing.T, seed uint64, hops, dis uint8) {
		opt := SyntheticOptions{Hops: int(hops % 3), Distractors: int(dis % 16)}
		items, err := Synthetic(seed, 12, opt)
		if err != nil {
			t.Fatal(err)
		}
		checkItems(t, items, opt)
	})
}

func BenchmarkSynthetic(b *testing.B) {
	for b.Loop() {
		if _, err := Synthetic(1, 100, SyntheticOptions{Distractors: 10}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDistractorStream makes about a 128K-token haystack per op.
func BenchmarkDistractorStream(b *testing.B) {
	for b.Loop() {
		SyntheticDistractors(1, 1500)
	}
}
