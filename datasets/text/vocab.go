package text

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
)

var (
	vocabOnce sync.Once
	vocab     []string
)

// Vocabulary returns the distinct single words of the embedded lexicon
// (adjectives, adverbs, the base forms of verbs, the singulars of nouns, topic
// nouns included) from which every word that is a substring of another has
// been removed ("art" goes because of "party"), sorted. No word of the list
// is therefore a substring of another, so that a substring scorer
// (string_match_all) finding one of them in an answer cannot have been
// fooled by a longer word of the list. The caller must not modify it.
func Vocabulary() []string {
	vocabOnce.Do(func() {
		lex := DefaultLexicon()
		seen := map[string]bool{}
		var all []string
		add := func(w string) {
			if !seen[w] {
				seen[w] = true
				all = append(all, w)
			}
		}
		for _, w := range lex.Adjectives {
			add(w)
		}
		for _, w := range lex.Adverbs {
			add(w)
		}
		for _, v := range append(slices.Clone(lex.Verbs), lex.Intransitive...) {
			add(v.Base)
		}
		nouns := append(slices.Clone(lex.Agents), lex.Things...)
		for _, t := range lex.Topics {
			nouns = append(append(nouns, t.Agents...), t.Things...)
		}
		for _, n := range nouns {
			add(n.Singular)
		}
		slices.Sort(all)
		// A word is dropped when a longer word contains it: check each
		// word against every substring of every word, through a set.
		subs := map[string]bool{}
		for _, w := range all {
			for i := 0; i < len(w); i++ {
				for j := i + 1; j <= len(w); j++ {
					if j-i < len(w) {
						subs[w[i:j]] = true
					}
				}
			}
		}
		for _, w := range all {
			if !subs[w] {
				vocab = append(vocab, w)
			}
		}
	})
	return vocab
}

// Pseudo-words: consonant-vowel syllables and a closing consonant, all of
// the same length, so that no pseudo-word is a substring of another.
const (
	pseudoConsonants = "bdfgklmnprstvz"
	pseudoVowels     = "aeiou"
	pseudoSyllables  = 3
	pseudoLen        = 2*pseudoSyllables + 1
)

// WordSequence is an endless sequence of distinct words in an order drawn
// from a seed: first the words of Vocabulary in a shuffled order, then
// pronounceable pseudo-words ("bamirot": consonant-vowel syllables and a
// closing consonant, seven letters) for as long as a caller asks. Words
// that are substrings of the avoid text are left out, and so is any
// pseudo-word that contains a vocabulary word or is contained in one, so
// that no word of the sequence is a substring of another word of it or of
// the avoid text.
//
// Word(i) is the same for every caller with the same seed and avoid text:
// a prefix of the sequence does not depend on how much of it is read.
// Not safe for concurrent use.
type WordSequence struct {
	words []string
	real  int
	r     *rand.Rand
	avoid string
	used  map[string]bool // pseudo-words drawn
}

var (
	vocabIndexOnce sync.Once
	inVocab        map[string]bool // the words of Vocabulary
	vocabSubs      map[string]bool // the pseudoLen-letter substrings of those words
)

func vocabIndex() {
	vocabIndexOnce.Do(func() {
		inVocab, vocabSubs = map[string]bool{}, map[string]bool{}
		for _, w := range Vocabulary() {
			inVocab[w] = true
			for i := 0; i+pseudoLen <= len(w); i++ {
				vocabSubs[w[i:i+pseudoLen]] = true
			}
		}
	})
}

// NewWordSequence returns the sequence of seed; avoid is matched in lower
// case.
func NewWordSequence(seed uint64, avoid string) *WordSequence {
	vocabIndex()
	v := Vocabulary()
	avoid = strings.ToLower(avoid)
	r := NewRand(seed ^ 0x776f726473)
	s := &WordSequence{r: r, avoid: avoid, used: map[string]bool{}}
	for _, i := range r.Perm(len(v)) {
		if w := v[i]; !strings.Contains(avoid, w) {
			s.words = append(s.words, w)
		}
	}
	s.real = len(s.words)
	return s
}

// Real is the number of vocabulary words at the head of the sequence;
// Word(i) for i >= Real is a pseudo-word.
func (s *WordSequence) Real() int { return s.real }

// Word returns the i-th word of the sequence (from 0).
func (s *WordSequence) Word(i int) string {
	if i < 0 {
		panic(fmt.Sprintf("text: WordSequence.Word(%d)", i))
	}
	for len(s.words) <= i {
		s.words = append(s.words, s.pseudo())
	}
	return s.words[i]
}

// Words returns the first n words.
func (s *WordSequence) Words(n int) []string {
	if n > 0 {
		s.Word(n - 1)
	}
	return s.words[:n:n]
}

// pseudo draws the next admissible pseudo-word.
func (s *WordSequence) pseudo() string {
	b := make([]byte, pseudoLen)
	for tries := 0; ; tries++ {
		if tries > 1_000_000 {
			panic("text: WordSequence: no admissible pseudo-word left")
		}
		for i := range b {
			if i%2 == 0 {
				b[i] = pseudoConsonants[s.r.IntN(len(pseudoConsonants))]
			} else {
				b[i] = pseudoVowels[s.r.IntN(len(pseudoVowels))]
			}
		}
		w := string(b)
		if s.used[w] || inVocab[w] || vocabSubs[w] || strings.Contains(s.avoid, w) || containsVocab(w) {
			continue
		}
		s.used[w] = true
		return w
	}
}

// containsVocab reports whether a vocabulary word is a substring of w.
func containsVocab(w string) bool {
	for i := 0; i < len(w); i++ {
		for j := i + 1; j <= len(w); j++ {
			if inVocab[w[i:j]] {
				return true
			}
		}
	}
	return false
}

// CodedWords draws n distinct random strings of length lower-case letters
// ("qzmfeb"), RULER's coded words, leaving out those in avoid and adding
// the drawn ones to it (avoid may be nil). It panics if length is below 1
// or n is more than half of the 26^length strings.
func CodedWords(r *rand.Rand, n, length int, avoid map[string]bool) []string {
	if length < 1 || float64(n) > 0.5*pow26(length) {
		panic(fmt.Sprintf("text: CodedWords(%d, %d): want length >= 1 and n at most half of 26^length", n, length))
	}
	if avoid == nil {
		avoid = map[string]bool{}
	}
	out := make([]string, 0, n)
	b := make([]byte, length)
	for len(out) < n {
		for i := range b {
			b[i] = byte('a' + r.IntN(26))
		}
		if w := string(b); !avoid[w] {
			avoid[w] = true
			out = append(out, w)
		}
	}
	return out
}

func pow26(n int) float64 {
	p := 1.0
	for range n {
		p *= 26
	}
	return p
}
