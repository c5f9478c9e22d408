package perplexity

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
	"github.com/evalctl/evalctl/tasks/internal/testmodel"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func newTask(t testing.TB, raw map[string]any) *Task {
	t.Helper()
	set, err := params.Resolve(Specs, raw)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := New(tasks.Config{Params: set})
	if err != nil {
		t.Fatal(err)
	}
	return tk.(*Task)
}

// unigramModel is the test model with a unigram trained on other essays.
func unigramModel(t testing.TB, tok string) *testmodel.Model {
	m := testmodel.New(t, tok, func(string) string { return "" })
	m.TrainUnigram(text.Join(text.Take(text.Essays().Sentences(12345), 3000)))
	return m
}

func TestNLL(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.jsonl"), []byte(`{"text": "`+strings.Repeat("The mill turns slowly. Grain falls into the sacks. ", 100)+`"}`+"\n"), 0o644)
	for _, c := range []struct {
		tok    string
		raw    map[string]any
		length int
	}{
		{"bytelevel-gpt2", nil, 1024},
		{"bytelevel-llama3", map[string]any{"buckets": 4}, 4096},
		{"sentencepiece-bpe", map[string]any{"bucket_scale": "log2"}, 2048},
		{"bytelevel-gpt2", map[string]any{"source": "corpus", "corpus": filepath.Join(dir, "c.jsonl")}, 2048},
	} {
		t.Run(fmt.Sprintf("%s/%d/%v", c.tok, c.length, c.raw), func(t *testing.T) {
			tk := newTask(t, c.raw)
			m := unigramModel(t, c.tok)
			cell := tasks.Cell{Length: c.length, Seed: 77}
			res, err := tk.Evaluate(context.Background(), m, cell)
			if err != nil {
				t.Fatal(err)
			}
			// The same document, independently: fitted, tokenized, scored
			// by the unigram.
			req, _ := tk.Request(cell)
			fr, err := fit.Fit(context.Background(), m.Tokenize, req)
			if err != nil {
				t.Fatal(err)
			}
			ids := m.Tok.Encode(fr.Prompt)
			if got := res.Metrics["prompt_tokens"].Value; int(got) != len(ids)+1 {
				t.Fatalf("prompt_tokens %v, want %d", got, len(ids)+1)
			}
			if seq := len(ids) + 1; seq > c.length || float64(seq) < 0.99*float64(c.length) {
				t.Fatalf("document of %d tokens for %d", seq, c.length)
			}
			var sum float64
			nlls := make([]float64, len(ids))
			for i, id := range ids {
				nlls[i] = -m.Unigram(id)
				sum += nlls[i]
			}
			want := sum / float64(len(ids))
			near := func(name string, got, want float64) {
				if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Fatalf("%s = %v, want %v", name, got, want)
				}
			}
			near("nll", res.Metrics["nll"].Value, want)
			near("ppl", res.Metrics["ppl"].Value, math.Exp(want))
			near("bits_per_byte", res.Metrics["bits_per_byte"].Value, sum/math.Ln2/float64(len(fr.Prompt)))
			bks := Buckets(tk.p.String("bucket_scale"), tk.p.Int("buckets"), 1, len(ids))
			for j, bk := range bks {
				var s float64
				for p := bk.Lo; p < bk.Hi; p++ {
					s += nlls[p-1]
				}
				near("nll_bucket_"+strconv.Itoa(j), res.Metrics["nll_bucket_"+strconv.Itoa(j)].Value, s/float64(bk.Hi-bk.Lo))
			}
			if _, ok := res.Metrics["nll_bucket_"+strconv.Itoa(len(bks))]; ok {
				t.Fatal("one bucket too many")
			}
			if res.Metrics["nll"].Better != "lower" || res.Timings["prefill_ms"].Unit != "ms" {
				t.Fatal("units")
			}
		})
	}
}

func TestBuckets(t *testing.T) {
	if got, want := Buckets("linear", 4, 1, 10), []Bucket{{1, 3}, {3, 6}, {6, 8}, {8, 11}}; !reflect.DeepEqual(got, want) {
		t.Errorf("linear: %v, want %v", got, want)
	}
	if got, want := Buckets("log2", 0, 1, 10), []Bucket{{1, 2}, {2, 4}, {4, 8}, {8, 11}}; !reflect.DeepEqual(got, want) {
		t.Errorf("log2: %v, want %v", got, want)
	}
	if got, want := Buckets("log2", 0, 0, 5), []Bucket{{0, 2}, {2, 4}, {4, 5}}; !reflect.DeepEqual(got, want) {
		t.Errorf("log2 without BOS: %v, want %v", got, want)
	}
	if got := Buckets("linear", 8, 1, 3); len(got) != 3 {
		t.Errorf("3 tokens in 8 buckets: %v", got)
	}
}

func TestGoldenAndSamples(t *testing.T) {
	tk := newTask(t, nil)
	m := unigramModel(t, "bytelevel-gpt2")
	doc := func(seed int64) string {
		req, _ := tk.Request(tasks.Cell{Length: 512, Seed: seed})
		fr, err := fit.Fit(context.Background(), m.Tokenize, req)
		if err != nil {
			t.Fatal(err)
		}
		return fr.Prompt
	}
	a, b, c := doc(1), doc(1), doc(2)
	if a != b || a == c {
		t.Fatal("same seed must give the same document, another sample another one")
	}
	path := filepath.Join("testdata", "essay-512.golden")
	if *update {
		os.WriteFile(path, []byte(a+"\n"), 0o644)
		return
	}
	want, err := os.ReadFile(path)
	if err != nil || string(want) != a+"\n" {
		t.Fatalf("document differs from %s (run with -update if intended): %v\n%s", path, err, a)
	}
}

type notText struct{}

func (notText) Close() error { return nil }

func TestErrors(t *testing.T) {
	tk := newTask(t, nil)
	if _, err := tk.Evaluate(context.Background(), notText{}, tasks.Cell{Length: 1024}); err == nil {
		t.Fatal("not a text model: no error")
	}
	m := unigramModel(t, "bytelevel-gpt2")
	// One token is the BOS: no room for a document that lands in the window
	// of a length of 1.
	if _, err := tk.Evaluate(context.Background(), m, tasks.Cell{Length: 1}); !errors.Is(err, fit.ErrNoRoom) {
		t.Fatal("length 1: no error")
	}
	info, _ := tasks.Lookup("perplexity")
	set, _ := params.Resolve(Specs, map[string]any{"source": "corpus"})
	if info.Check(set) == nil || info.UsesDepth {
		t.Fatal("corpus without a path passed Check, or the task uses depth")
	}
}
