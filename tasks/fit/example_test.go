package fit_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/tasks/fit"
)

// Example fits a needle prompt to 300 "tokens" of a toy tokenizer that
// counts words (a real task passes lm.Model's Tokenize).
func Example() {
	words := func(_ context.Context, s string) ([]int, error) { return make([]int, len(strings.Fields(s))), nil }
	res, err := fit.Fit(context.Background(), words, &fit.Request{
		Target:   300,
		Reserve:  20, // the answer budget
		Before:   "Remember the number hidden below.\n",
		After:    "\nWhat is the number? The number is",
		Haystack: text.Noise().Sentences(1),
		Needles:  []fit.Needle{{Text: "The number is 4711.", Depth: 0.5}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("prompt tokens:", res.Tokens, "+ answer budget:", res.Reserve)
	fmt.Println("haystack sentences:", res.Units, "and words:", res.TailWords)
	fmt.Printf("needle at token %d, depth %.3f\n", res.Needles[0].Token, res.Needles[0].Depth)
	// Output:
	// prompt tokens: 278 + answer budget: 20
	// haystack sentences: 69 and words: 0
	// needle at token 134, depth 0.491
}

func ExampleParseStop() {
	stops, _ := fit.ParseStop(`\n\n|Question:`)
	fmt.Printf("%q\n", stops)
	// Output:
	// ["\n\n" "Question:"]
}

func ExampleWindow() {
	fmt.Printf("%.2f\n", fit.Window(0.95, 0.2, 3))
	// Output:
	// [0.80 0.90 1.00]
}
