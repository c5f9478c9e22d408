// Package perplexity is the perplexity task ("perplexity"): the per-token
// negative log-likelihood of a long document that fills the cell's length,
// through lm.Model's Loglikelihood with per-token log-probabilities.
//
// The document is drawn from the cell's seed: the procedural essays of
// datasets/text (source: essay) or the user's corpus (source: corpus). It is
// fitted with the model's Tokenize (package fit, no instruction, no answer
// budget) so that its tokens, BOS included, land within tolerance (1%)
// below the length; the last sentence may be cut at a word. The backend
// then scores it as the continuation of an empty context (its BOS token,
// when the model has one): every document token is scored given all
// before it. With a plain template Tokenize counts exactly the scored
// sequence; with a chat template Tokenize also counts the template's
// tokens, so the scored sequence is shorter than the target by those (the
// record carries both counts). A scored sequence longer than the length is
// an error.
//
// Metrics (all lower is better): nll, the mean negative log-likelihood in
// nats per scored token; ppl = exp(nll); bits_per_byte, the summed NLL in
// bits over the document's UTF-8 bytes (comparable across tokenizers); and
// nll_bucket_0 .. nll_bucket_{B-1}, the mean NLL by position: with
// bucket_scale linear (the default), B = buckets equal slices of the
// scored tokens in order; with log2, bucket j holds the tokens at sequence
// positions [2^j, 2^(j+1)) (bucket 0 also position 0, the first token when
// the model has no BOS), so B = floor(log2(last position)) + 1 grows with
// the length. Empty buckets are left out; Info gives each bucket's position
// range. The task has no depth and no score.
package perplexity

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"strconv"
	"sync"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/datasets/text"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
	"github.com/evalctl/evalctl/tasks/fit"
)

// Specs are the task's parameters.
var Specs = []params.Spec{
	params.StringSpec("source", "essay", "the document: procedural essays or the user's corpus", "essay", "corpus"),
	params.StringSpec("corpus", "", "corpus: a directory of .txt files or a JSONL file with a \"text\" field"),
	params.IntSpec("buckets", 8, "position buckets of nll_bucket_i (bucket_scale linear)").Range(1, 1024),
	params.StringSpec("bucket_scale", "linear", "linear: equal slices of the tokens; log2: positions [2^i, 2^(i+1))", "linear", "log2"),
	params.FloatSpec("tolerance", fit.DefaultTolerance, "how far below the length the document may land, as a fraction").Range(0.001, 1),
}

func init() {
	metrics := []string{"nll", "ppl", "bits_per_byte", "scored_tokens"}
	for i := 0; i < 8; i++ {
		metrics = append(metrics, "nll_bucket_"+strconv.Itoa(i))
	}
	tasks.Register(tasks.Info{
		Name:   "perplexity",
		Help:   "per-token negative log-likelihood of a document as long as the context (essays or a corpus), overall and by position",
		Params: Specs,
		Metrics: append(metrics, "prompt_tokens", "target_tokens", "haystack_units", "fit_tokenizations", "prefill_tokens_per_s",
			"peak_kv_mib", "attended_fraction_prefill", "fit_ms", "tokenize_ms", "prefill_ms", "total_ms"),
		New:   New,
		Check: check,
	})
}

func check(p params.Set) error {
	return text.CheckSource(p.String("source"), p.String("corpus"))
}

// Task is the perplexity task.
type Task struct {
	p params.Set

	srcOnce sync.Once
	src     text.Source
	srcErr  error
}

// New builds the task.
func New(c tasks.Config) (tasks.Task, error) {
	if err := check(c.Params); err != nil {
		return nil, err
	}
	return &Task{p: c.Params}, nil
}

func (t *Task) source() (text.Source, error) {
	t.srcOnce.Do(func() { t.src, t.srcErr = text.NewSource(t.p.String("source"), t.p.String("corpus")) })
	return t.src, t.srcErr
}

// Request is the fit request of a cell's document.
func (t *Task) Request(c tasks.Cell) (*fit.Request, error) {
	src, err := t.source()
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(uint64(c.Seed), 0x70706c))
	return &fit.Request{Target: c.Length, Tolerance: t.p.Float("tolerance"), Haystack: src.Sentences(r.Uint64())}, nil
}

// Bucket is a range of sequence positions [Lo, Hi).
type Bucket struct{ Lo, Hi int }

// Buckets returns the position buckets for n scored tokens after first
// context tokens.
func Buckets(scale string, buckets, first, n int) []Bucket {
	var out []Bucket
	if scale == "log2" {
		last := first + n - 1
		for j := 0; j < bits.Len(uint(last)); j++ {
			lo, hi := max(1<<j, first), min(1<<(j+1), first+n)
			if j == 0 {
				lo = first // bucket 0 also holds position 0
			}
			if lo < hi {
				out = append(out, Bucket{lo, hi})
			}
		}
		return out
	}
	for j := 0; j < buckets; j++ {
		lo, hi := first+j*n/buckets, first+(j+1)*n/buckets
		if lo < hi {
			out = append(out, Bucket{lo, hi})
		}
	}
	return out
}

// Evaluate implements tasks.Task.
func (t *Task) Evaluate(ctx context.Context, b backends.Backend, c tasks.Cell) (*tasks.Result, error) {
	m, err := fit.TextModel(b)
	if err != nil {
		return nil, err
	}
	req, err := t.Request(c)
	if err != nil {
		return nil, err
	}
	fr, err := fit.Fit(ctx, m.Tokenize, req)
	if err != nil {
		return nil, err
	}
	if fr.HaystackBytes == 0 {
		return nil, fmt.Errorf("%w: length %d leaves no room for a document", fit.ErrNoRoom, c.Length)
	}
	resp, err := m.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Continuation: fr.Prompt, TokenLogprobs: true})
	if err != nil {
		return nil, err
	}
	n := resp.Tokens
	if n < 1 || len(resp.TokenLogprobs) != n {
		return nil, fmt.Errorf("backend scored %d tokens with %d per-token log-probabilities; want them all", n, len(resp.TokenLogprobs))
	}
	if seq := resp.ContextTokens + n; seq > c.Length {
		return nil, fmt.Errorf("backend scored a sequence of %d tokens (%d context + %d document), more than the length %d: its Tokenize and Loglikelihood disagree",
			seq, resp.ContextTokens, n, c.Length)
	}
	res := fit.NewResult(fr)
	delete(res.Metrics, "answer_budget")
	fit.AddTiming(res, resp.Timing, resp.ContextTokens+n)
	var sum float64
	for _, lp := range resp.TokenLogprobs {
		sum -= lp
	}
	nll := sum / float64(n)
	lower := func(v float64, unit string) record.Value {
		return record.Value{Value: v, Unit: unit, Better: record.Lower}
	}
	res.Metrics["nll"] = lower(nll, "nats")
	res.Metrics["ppl"] = lower(math.Exp(nll), "ppl")
	res.Metrics["bits_per_byte"] = lower(sum/math.Ln2/float64(len(fr.Prompt)), "bits")
	res.Metrics["scored_tokens"] = record.Value{Value: float64(n), Unit: "tokens"}
	var ranges [][2]int
	for j, bk := range Buckets(t.p.String("bucket_scale"), t.p.Int("buckets"), resp.ContextTokens, n) {
		var s float64
		for p := bk.Lo; p < bk.Hi; p++ {
			s -= resp.TokenLogprobs[p-resp.ContextTokens]
		}
		res.Metrics["nll_bucket_"+strconv.Itoa(j)] = lower(s/float64(bk.Hi-bk.Lo), "nats")
		ranges = append(ranges, [2]int{bk.Lo, bk.Hi})
	}
	res.Info["buckets"] = ranges
	res.Info["context_tokens"] = resp.ContextTokens
	if seq := resp.ContextTokens + n; seq != fr.Tokens {
		res.Info["backend_sequence_tokens"] = seq
	}
	return res, nil
}
