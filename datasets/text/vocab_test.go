package text

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestVocabulary(t *testing.T) {
	v := Vocabulary()
	if len(v) < 1500 {
		t.Fatalf("%d words, want at least 1500", len(v))
	}
	if !slices.IsSorted(v) {
		t.Fatal("not sorted")
	}
	word := regexp.MustCompile(`^[a-z]+$`)
	set := map[string]bool{}
	for _, w := range v {
		if !word.MatchString(w) || set[w] {
			t.Fatalf("word %q: not lower-case letters or a duplicate", w)
		}
		set[w] = true
	}
	for _, a := range v {
		for _, b := range v {
			if a != b && strings.Contains(b, a) {
				t.Fatalf("%q is a substring of %q", a, b)
			}
		}
	}
	// Kept: a word of the lexicon that no other word contains.
	if !set["lighthouse"] && !set["harbor"] {
		t.Error("neither lighthouse nor harbor kept")
	}
	t.Logf("%d words", len(v))
}

// TestWordSequence checks that sequences are deterministic, prefix-stable,
// distinct, free of substrings of each other and of the avoid text, and go
// on with pseudo-words after the vocabulary.
func TestWordSequence(t *testing.T) {
	const avoid = "Which Ten words occur most often in the list above?"
	a := NewWordSequence(3, avoid)
	b := NewWordSequence(3, avoid)
	n := a.Real() + 3000
	// b is read in a different order: the words must not depend on it.
	b.Word(n - 1)
	got := a.Words(n)
	for i := n - 1; i >= 0; i-- {
		if b.Word(i) != got[i] {
			t.Fatalf("word %d: %q and %q for the same seed", i, got[i], b.Word(i))
		}
	}
	if c := NewWordSequence(4, avoid); slices.Equal(c.Words(50), got[:50]) {
		t.Fatal("seeds 3 and 4 give the same words")
	}
	if a.Real() >= len(Vocabulary()) || a.Real() < len(Vocabulary())-100 {
		t.Fatalf("%d vocabulary words of %d after avoiding %q", a.Real(), len(Vocabulary()), avoid)
	}
	pseudo := regexp.MustCompile(`^([bdfgklmnprstvz][aeiou]){3}[bdfgklmnprstvz]$`)
	set := map[string]bool{}
	for i, w := range got {
		if set[w] {
			t.Fatalf("word %d %q repeats", i, w)
		}
		set[w] = true
		if strings.Contains(strings.ToLower(avoid), w) {
			t.Fatalf("word %q is in the avoid text", w)
		}
		if i >= a.Real() && !pseudo.MatchString(w) {
			t.Fatalf("word %d %q after the vocabulary is not a pseudo-word", i, w)
		}
	}
	for _, w := range []string{"ten", "most", "list"} {
		if set[w] {
			t.Errorf("%q drawn although the avoid text has it", w)
		}
	}
	// No word is a substring of another: every proper substring of every
	// word is absent from the set.
	for _, w := range got {
		for i := 0; i < len(w); i++ {
			for j := i + 1; j <= len(w); j++ {
				if j-i < len(w) && set[w[i:j]] {
					t.Fatalf("%q is a substring of %q", w[i:j], w)
				}
			}
		}
	}
}

func TestCodedWords(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	avoid := map[string]bool{}
	a := CodedWords(r, 300, 2, avoid) // 300 of 676
	b := CodedWords(r, 10, 2, avoid)
	set := map[string]bool{}
	for _, w := range append(a, b...) {
		if len(w) != 2 || set[w] || !avoid[w] {
			t.Fatalf("%q: wrong length, repeated or not added to avoid", w)
		}
		set[w] = true
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 400 of 676 two-letter words")
		}
	}()
	CodedWords(r, 400, 2, nil)
}
