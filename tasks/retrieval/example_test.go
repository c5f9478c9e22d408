package retrieval_test

import (
	"fmt"

	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/retrieval"
)

// Example draws a variable-tracking sample: a chain of 3 copies (and one
// distractor chain), spread over a window of width 0.5 around depth 0.2,
// moved inside [0, 1].
func Example() {
	set, _ := params.Resolve(retrieval.Specs, map[string]any{"kind": "vt", "hops": 3, "chains": 2})
	tk, _ := retrieval.New(tasks.Config{Params: set})
	s, _ := tk.(*retrieval.Task).Build(tasks.Cell{Length: 4096, Depth: 0.2, Seed: 1})
	for _, n := range s.Request.Needles[:4] {
		fmt.Printf("%.2f %s\n", n.Depth, n.Text)
	}
	fmt.Println(s.References)
	// Output:
	// 0.00 VAR AJPKU = 65127.
	// 0.17 VAR MXCAT = VAR AJPKU.
	// 0.33 VAR PTNBR = VAR MXCAT.
	// 0.50 VAR FNKYW = VAR PTNBR.
	// [AJPKU MXCAT PTNBR FNKYW]
}
