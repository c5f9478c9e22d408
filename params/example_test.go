package params_test

import (
	"fmt"

	"github.com/evalctl/evalctl/params"
)

func ExampleResolve() {
	specs := []params.Spec{
		params.IntSpec("topk", 96, "selected blocks").Range(1, 4096),
		params.StringSpec("lse", "exact", "normaliser", "exact", "approx"),
	}
	set, err := params.Resolve(specs, map[string]any{"topk": "1K"})
	fmt.Println(set.Int("topk"), set.String("lse"), err)
	_, err = params.Resolve(specs, map[string]any{"lse": "fast"})
	fmt.Println(err)
	// Output:
	// 1024 exact <nil>
	// parameter "lse": bad value fast: not an accepted value; accepted: one of exact, approx
}
