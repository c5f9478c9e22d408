package aggregation_test

import (
	"fmt"

	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/aggregation"
)

// Example draws a frequent-words sample and shows the zeta law in a text
// of 500 words: the three answers occur 79, 35 and 19 times, the next word
// 12 times (the noise word "..." takes most of the rest).
func Example() {
	set, _ := params.Resolve(aggregation.FWESpecs, nil)
	tk, _ := aggregation.NewFWE(tasks.Config{Params: set})
	s, _ := tk.(aggregation.FWE).Build(tasks.Cell{Length: 4096, Seed: 1})
	refs, next := s.Occurrences(500)
	fmt.Println(s.References, refs, next, s.Words(500))
	// Output:
	// [czaaqc fheovt chzbma] [79 35 19] 12 500
}
