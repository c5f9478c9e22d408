package needle_test

import (
	"fmt"

	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/needle"
)

// Example draws a multi-key, multi-value sample: the prompt is fitted
// later, with the backend's tokenizer, when the task is evaluated.
func Example() {
	set, _ := params.Resolve(needle.Specs, map[string]any{"keys": 3, "values_per_key": 2, "haystack": "noise"})
	tk, _ := needle.New(tasks.Config{Params: set})
	s, _ := tk.(*needle.Task).Build(tasks.Cell{Length: 4096, Depth: 0.5, Seed: 1})
	fmt.Println(len(s.Request.Needles), "needles,", len(s.References), "references, asked:", s.Asked)
	fmt.Println(s.Request.Needles[0].Text)
	// Output:
	// 6 needles, 2 references, asked: [lost-parcel]
	// A special secret number for lost-parcel is 9853335.
}
