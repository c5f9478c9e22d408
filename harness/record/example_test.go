package record_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/evalctl/evalctl/harness/record"
)

// Write a run segment and read it back.
func Example() {
	dir, err := os.MkdirTemp("", "run")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, path, err := record.CreateSegment(dir)
	if err != nil {
		log.Fatal(err)
	}
	for i, backend := range []string{"dense", "sparse"} {
		err := w.Write(&record.Record{
			Key: fmt.Sprintf("cell-%d", i), Run: "r1", Backend: backend, Task: "niah",
			Length: 4096, Scores: map[string]float64{"exact": 1},
			Timings: map[string]record.Value{"prefill": {Value: 12.5, Unit: "ms", Better: record.Lower}},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}

	recs, bad, err := record.ReadRun(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(path), len(bad), "bad lines")
	for _, r := range recs {
		fmt.Println(r.Key, r.Backend, r.Length, r.Scores["exact"], r.Timings["prefill"].Value, r.Timings["prefill"].Unit)
	}
	// Output:
	// records-0001.jsonl.zst 0 bad lines
	// cell-0 dense 4096 1 12.5 ms
	// cell-1 sparse 4096 1 12.5 ms
}

// A Reader reports a bad line and goes on.
func ExampleReader() {
	input := `{"v":1,"key":"a","task":"niah"}
not json
{"v":9,"key":"b"}

{"v":1,"key":"c","task":"niah"}
{"v":1,"key":"d","ta`
	r := record.NewReader(strings.NewReader(input), "stdin")
	for {
		rec, err := r.Next()
		var serr *record.SyntaxError
		switch {
		case err == io.EOF:
			return
		case errors.As(err, &serr):
			fmt.Println("skipped:", err)
		case err != nil:
			log.Fatal(err)
		default:
			fmt.Println("record", rec.Key)
		}
	}
	// Output:
	// record a
	// skipped: stdin:2: not a JSON object
	// skipped: stdin:3: unsupported record version: v=9 is newer than this build, which reads 1 to 1
	// record c
	// skipped: stdin:6: truncated input: last line has no newline (20 bytes)
}

// Merge two shards that both ran a cell.
func ExampleMerge() {
	shard0 := []*record.Record{
		{V: 1, Key: "b", Run: "r1", Task: "niah", Length: 8192, Output: "42"},
		{V: 1, Key: "a", Run: "r1", Task: "niah", Length: 4096, Output: "7"},
	}
	shard1 := []*record.Record{
		{V: 1, Key: "a", Run: "r2", Task: "niah", Length: 4096, Output: "7", Elapsed: 3},
		{V: 1, Key: "b", Run: "r2", Task: "niah", Length: 8192, Output: "41"},
	}
	merged, rep := record.Merge([][]*record.Record{shard0, shard1})
	for _, r := range merged {
		fmt.Println(r.Key, r.Length, r.Output)
	}
	fmt.Println("runs:", rep.Runs, "duplicates:", len(rep.Duplicates))
	for _, c := range rep.Conflicts {
		fmt.Println("conflict:", c)
	}
	// Output:
	// a 4096 7
	// b 8192 42
	// runs: [r1 r2] duplicates: 1
	// conflict: key b: input 1 record 1 differs from input 0 record 0 in output; kept the first
}
