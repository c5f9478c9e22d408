package perplexity_test

import (
	"fmt"

	"github.com/evalctl/evalctl/tasks/perplexity"
)

// ExampleBuckets shows the position buckets of 1,000 scored tokens after a
// BOS token.
func ExampleBuckets() {
	fmt.Println(perplexity.Buckets("linear", 4, 1, 1000))
	fmt.Println(perplexity.Buckets("log2", 0, 1, 1000))
	// Output:
	// [{1 251} {251 501} {501 751} {751 1001}]
	// [{1 2} {2 4} {4 8} {8 16} {16 32} {32 64} {64 128} {128 256} {256 512} {512 1001}]
}
