package harness_test

import (
	"fmt"

	"github.com/evalctl/evalctl/harness"
)

// A suite is parsed and validated against the registries, then expanded
// into cells; --set overrides apply before validation.
func ExamplePlan() {
	src := `
name: demo
lengths: [1K, 4K]
depths: [0.5]
backends:
  - dense
  - name: sparse
    params: {topk: 40}
tasks:
  - name: attention
    params: {heads: 4, kv_heads: 1, head_dim: 32}
`
	s, err := harness.ParseSuite("demo.yaml", []byte(src), []string{"samples=2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	cells := harness.Plan(s)
	fmt.Println(len(cells), "cells")
	for _, c := range cells[:4] {
		fmt.Println(c.Backend.Label, c.Length, c.Sample)
	}
	// Output:
	// 8 cells
	// dense 1024 0
	// sparse 1024 0
	// dense 1024 1
	// sparse 1024 1
}
