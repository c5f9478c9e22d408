package text

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
)

// Sentence is one haystack unit: a sentence without surrounding white
// space.
type Sentence struct {
	Text string
	// Para is set on the first sentence of a paragraph.
	Para bool
}

// Stream hands out sentences one at a time. The streams of this package
// never end.
type Stream interface {
	Next() Sentence
}

// Source makes streams: the same seed gives the same sentences.
type Source interface {
	Sentences(seed uint64) Stream
}

// StreamFunc adapts a function to Stream.
type StreamFunc func() Sentence

// Next implements Stream.
func (f StreamFunc) Next() Sentence { return f() }

// Take returns the next n sentences of s.
func Take(s Stream, n int) []Sentence {
	out := make([]Sentence, n)
	for i := range out {
		out[i] = s.Next()
	}
	return out
}

// Separators between sentences in joined text.
const (
	Space     = " "
	ParaBreak = "\n\n"
)

// Join joins sentences into text: ParaBreak before a sentence that starts a
// paragraph (except the first), Space elsewhere.
func Join(ss []Sentence) string {
	var b strings.Builder
	for i, s := range ss {
		if i > 0 {
			if s.Para {
				b.WriteString(ParaBreak)
			} else {
				b.WriteString(Space)
			}
		}
		b.WriteString(s.Text)
	}
	return b.String()
}

// NewRand returns the generator this package uses for a seed: PCG with the
// seed and a fixed stream constant.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x68617973746b))
}

// Noise is RULER's filler: five sentences repeated in order.
func Noise() Source { return noise{} }

var noiseSentences = []string{
	"The grass is green.", "The sky is blue.", "The sun is yellow.", "Here we go.", "There and back again.",
}

type noise struct{}

func (noise) Sentences(uint64) Stream {
	i := 0
	return StreamFunc(func() Sentence {
		s := Sentence{Text: noiseSentences[i%len(noiseSentences)]}
		i++
		return s
	})
}

// Haystacks lists the names NewSource accepts.
var Haystacks = []string{"noise", "essay", "corpus"}

// CheckSource validates a source name and corpus path without loading
// anything: for checking a suite before any work.
func CheckSource(name, path string) error {
	switch name {
	case "noise", "essay":
		return nil
	case "corpus":
		if path == "" {
			return fmt.Errorf("haystack corpus needs a corpus path (a directory of .txt files or a .jsonl file)")
		}
		_, err := os.Stat(path)
		return err
	}
	return fmt.Errorf("unknown haystack %q; accepted: %s", name, strings.Join(Haystacks, ", "))
}

// NewSource returns the source of that name: "noise", "essay", or "corpus"
// (the user's files at path, see LoadCorpus).
func NewSource(name, path string) (Source, error) {
	if err := CheckSource(name, path); err != nil {
		return nil, err
	}
	switch name {
	case "noise":
		return Noise(), nil
	case "essay":
		return Essays(), nil
	}
	return LoadCorpus(path)
}
