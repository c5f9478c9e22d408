package text

import (
	"strings"
	"testing"
)

func BenchmarkEssaySentence(b *testing.B) {
	s := Essays().Sentences(1)
	n := 0
	for b.Loop() {
		n += len(s.Next().Text)
	}
	b.SetBytes(int64(n / max(b.N, 1)))
}

func BenchmarkSplitSentences(b *testing.B) {
	in := Join(Take(Essays().Sentences(1), 2000))
	in = strings.ReplaceAll(in, "\n\n", "\n  \n")
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		SplitSentences(in)
	}
}
