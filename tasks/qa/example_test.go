package qa_test

import (
	"fmt"

	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/qa"
)

// Example draws a two-hop sample: the gold documents go near the cell depth
// (one of them at each end of the spread window, in a drawn order) among
// distractor documents; the prompt is fitted later, with the backend's
// tokenizer, when the task is evaluated.
func Example() {
	set, _ := params.Resolve(qa.Specs, map[string]any{"hops": 2})
	tk, _ := qa.New(tasks.Config{Params: set})
	s, _ := tk.(*qa.Task).Build(tasks.Cell{Length: 8192, Depth: 0.5, Seed: 1})
	fmt.Println(s.Item.Question, "->", s.References)
	for i, d := range s.Item.Gold {
		fmt.Printf("gold %d: %s, at depth %.2f\n", i, d.Title, s.Request.Needles[s.Gold[i]].Depth)
	}
	// Output:
	// How many people does the employer of Kruteissto Egress employ? -> [33041]
	// gold 0: Kruteissto Egress, at depth 0.55
	// gold 1: Angri Glassworks, at depth 0.45
}

func ExamplePrediction() {
	fmt.Printf("%q\n", qa.Prediction("\n The river Aune.\n\nQuestion: What is"))
	// Output:
	// "The river Aune."
}

// Example_choice draws the choices of a multiple-choice sample: the gold
// answer among answers of the same class (here cities) from the item's
// world, shuffled; each is scored as the continuation of the prompt after
// a space.
func Example_choice() {
	set, _ := params.Resolve(qa.Specs, map[string]any{"answer_mode": "choice"})
	tk, _ := qa.New(tasks.Config{Params: set})
	s, _ := tk.(*qa.Task).Build(tasks.Cell{Length: 8192, Depth: 0.5, Seed: 4})
	fmt.Println(s.Item.Question, "->", s.References, s.DistractorClass)
	for i := range s.Choices {
		fmt.Printf("%d %q gold=%v\n", i, s.Continuation(i), i == s.GoldChoice)
	}
	// Output:
	// In which city does Temlo Company have its headquarters? -> [Geiflelind] city
	// 0 " Troreipes" gold=false
	// 1 " Fasvel" gold=false
	// 2 " Vaelder" gold=false
	// 3 " Geiflelind" gold=true
}
