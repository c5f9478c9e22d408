package text_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/evalctl/evalctl/datasets/text"
)

func ExampleNoise() {
	s := text.Noise().Sentences(1)
	fmt.Println(text.Join(text.Take(s, 6)))
	// Output:
	// The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. The grass is green.
}

func ExampleEssays() {
	s := text.Essays().Sentences(42)
	first := s.Next()
	fmt.Println(first.Para, len(first.Text) > 0)
	// Output:
	// true true
}

func ExampleKind_Draw() {
	r := rand.New(rand.NewPCG(1, 2))
	fmt.Println(text.Numbers.Draw(r))
	fmt.Println(text.UUIDs.Draw(r))
	fmt.Println(text.Words.Draw(r))
	// Output:
	// 7677204
	// 730ad262-6b1c-4f8e-a1ff-2330f4a0ad99
	// dusty-picture
}

func ExampleSplitSentences() {
	for _, s := range text.SplitSentences("Dr. Who arrived. He left!\n\nA new paragraph.") {
		fmt.Printf("%v %q\n", s.Para, s.Text)
	}
	// Output:
	// true "Dr. Who arrived."
	// false "He left!"
	// true "A new paragraph."
}

// ExampleWordSequence draws the distinct words of a word-counting task:
// the lexicon's words in a seeded order, then pseudo-words.
func ExampleWordSequence() {
	s := text.NewWordSequence(7, "Which words occur most often?")
	fmt.Println(s.Words(5))
	fmt.Println(s.Word(s.Real()), s.Word(s.Real()+1))
	// Output:
	// [slipway muddy lift footstool ornament]
	// bemimep sozifob
}

func ExampleCodedWords() {
	r := rand.New(rand.NewPCG(1, 2))
	fmt.Println(text.CodedWords(r, 3, 6, nil))
	// Output:
	// [uquugb mlderl ydkutn]
}
