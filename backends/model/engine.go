package model

import (
	"context"
	"errors"
	"math"
	"strings"
	"time"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
)

// Engine runs requests on a Model with one attention mode. It implements
// lm.Model. An Engine holds no per-request state: concurrent requests each
// get their own sequence (KV caches).
type Engine struct {
	M    *Model
	Mode attention.Mode
	// Chunk is the most tokens per prefill forward call (0: the whole
	// prompt in one call). With switching attention, each chunk's call
	// decides dense or sparse on the total key length so far.
	Chunk int
	// NoPE keeps pre-rotary queries and keys for modes that score blocks
	// with them (sparse use_nope).
	NoPE bool
	// Format turns a prompt into the text the model sees (a chat
	// template); nil: the prompt as is. FormatAddsBOS says the formatted
	// text already starts with the BOS token's text.
	Format        func(prompt string) (string, error)
	FormatAddsBOS bool
}

var _ lm.Model = (*Engine)(nil)

// ErrNoTokenizer is returned by text requests on a model loaded without a
// tokenizer.
var ErrNoTokenizer = errors.New("the model has no tokenizer (tokenizer.json or GGUF vocabulary)")

// Tokenize implements lm.Model: template, then BOS when the model adds one.
func (e *Engine) Tokenize(ctx context.Context, prompt string) ([]int, error) {
	if e.M.Tok == nil {
		return nil, ErrNoTokenizer
	}
	text := prompt
	bos := e.M.AddBOS
	if e.Format != nil {
		var err error
		if text, err = e.Format(prompt); err != nil {
			return nil, err
		}
		bos = bos && !e.FormatAddsBOS
	}
	var ids []int
	if bos {
		ids = append(ids, e.M.Cfg.BOS)
	}
	return append(ids, e.M.Tok.Encode(text)...), nil
}

// prefill runs ids through s in chunks and returns the logits of the last
// token (a copy) when last is set, passing every other wanted row to
// onLogits.
func (e *Engine) prefill(ctx context.Context, s *Seq, ids []int, st *attention.Stats, want func(pos int) bool, onLogits func(pos int, l []float32) error) error {
	chunk := e.Chunk
	if chunk <= 0 {
		chunk = len(ids)
	}
	for c0 := 0; c0 < len(ids); c0 += chunk {
		c1 := min(c0+chunk, len(ids))
		base := c0
		var w func(int) bool
		if want != nil {
			w = func(i int) bool { return want(base + i) }
		}
		var on LogitsFunc
		if onLogits != nil {
			on = func(i int, l []float32) error { return onLogits(base+i, l) }
		}
		if err := s.Forward(ctx, ids[c0:c1], e.Mode, st, w, on); err != nil {
			return err
		}
	}
	return nil
}

func argmax(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}

// Generate implements lm.Model: greedy decoding until MaxTokens, an
// end-of-sequence id (not part of the text) or a stop string (the text is cut
// before it).
func (e *Engine) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	return e.GenerateStream(ctx, req, nil)
}

// GenerateStream is Generate that hands out the completion's text as it is
// produced: emit receives consecutive pieces whose concatenation is the
// returned Text. Text that may still turn into a stop string, or that ends in
// an incomplete UTF-8 character, is held back until it is decided. An error
// from emit ends generation with that error.
func (e *Engine) GenerateStream(ctx context.Context, req *lm.GenerateRequest, emit func(string) error) (*lm.GenerateResponse, error) {
	t0 := time.Now()
	ids, err := e.GenerateIDs(ctx, req)
	if err != nil {
		return nil, err
	}
	resp := &lm.GenerateResponse{PromptTokens: len(ids), FinishReason: "length"}
	tm := &resp.Timing
	tm.Tokenize = time.Since(t0)
	tm.PrefillAttention, tm.DecodeAttention = &attention.Stats{}, &attention.Stats{}

	s := e.M.NewSeq(len(ids)+req.MaxTokens, e.NoPE)
	t1 := time.Now()
	var next int
	last := len(ids) - 1
	err = e.prefill(ctx, s, ids, tm.PrefillAttention, func(p int) bool { return p == last },
		func(_ int, l []float32) error { next = argmax(l); return nil })
	if err != nil {
		return nil, err
	}
	tm.Prefill = time.Since(t1)

	var out []int
	text := ""
	sent := 0 // bytes of text already emitted
	for {
		if e.isEOS(next) {
			resp.FinishReason = "stop"
			break
		}
		out = append(out, next)
		text = e.M.Tok.Decode(out)
		if cut, ok := cutStop(text, req.Stop); ok {
			text = cut
			resp.FinishReason = "stop"
			break
		}
		if len(out) >= req.MaxTokens {
			break
		}
		if emit != nil {
			if safe := settled(text, req.Stop); safe > sent {
				if err := emit(text[sent:safe]); err != nil {
					return nil, err
				}
				sent = safe
			}
		}
		t2 := time.Now()
		err := s.Forward(ctx, []int{next}, e.Mode, tm.DecodeAttention, nil,
			func(_ int, l []float32) error { next = argmax(l); return nil })
		if err != nil {
			return nil, err
		}
		tm.Decode = append(tm.Decode, time.Since(t2))
	}
	if emit != nil && len(text) > sent {
		if err := emit(text[sent:]); err != nil {
			return nil, err
		}
	}
	resp.Text = text
	resp.OutputTokens = len(out)
	tm.PeakKVBytes = s.PeakBytes()
	tm.Total = time.Since(t0)
	return resp, nil
}

func (e *Engine) isEOS(id int) bool {
	for _, x := range e.M.Cfg.EOS {
		if x == id {
			return true
		}
	}
	return false
}

// settled is the length of the prefix of text that no later token can
// change: text minus a trailing replacement character (an incomplete UTF-8
// sequence, decoded lossily) and minus the longest suffix that is a proper
// prefix of a stop string.
func settled(text string, stops []string) int {
	n := len(text)
	for strings.HasSuffix(text[:n], "\uFFFD") {
		n -= len("\uFFFD")
	}
	hold := 0
	for _, s := range stops {
		for k := min(len(s)-1, n); k > hold; k-- {
			if strings.HasSuffix(text[:n], s[:k]) {
				hold = k
				break
			}
		}
	}
	return n - hold
}

// cutStop cuts text before the earliest occurrence of any stop string.
func cutStop(text string, stops []string) (string, bool) {
	best := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	if best < 0 {
		return text, false
	}
	return text[:best], true
}

// Loglikelihood implements lm.Model. The context is tokenized as raw text
// (no template) after BOS when the model adds one; with an empty context and
// no BOS the first end-of-sequence id stands in, as lm-evaluation-harness
// does. Context and continuation are tokenized separately and concatenated.
func (e *Engine) Loglikelihood(ctx context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	t0 := time.Now()
	ids, nctx, err := e.LoglikelihoodIDs(req)
	if err != nil {
		return nil, err
	}
	cont := ids[nctx:]
	resp := &lm.LoglikelihoodResponse{ContextTokens: nctx, Tokens: len(cont), Greedy: true}
	tm := &resp.Timing
	tm.Tokenize = time.Since(t0)
	tm.PrefillAttention = &attention.Stats{}
	if req.TokenLogprobs {
		resp.TokenLogprobs = make([]float64, len(cont))
	}
	s := e.M.NewSeq(len(ids), e.NoPE)
	t1 := time.Now()
	err = e.prefill(ctx, s, ids[:len(ids)-1], tm.PrefillAttention,
		func(p int) bool { return p >= nctx-1 },
		func(p int, l []float32) error {
			target := ids[p+1]
			lp := logSoftmaxAt(l, target)
			resp.Logprob += lp
			if req.TokenLogprobs {
				resp.TokenLogprobs[p+1-nctx] = lp
			}
			if argmax(l) != target {
				resp.Greedy = false
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	tm.Prefill = time.Since(t1)
	tm.PeakKVBytes = s.PeakBytes()
	tm.Total = time.Since(t0)
	return resp, nil
}

// logSoftmaxAt is log(softmax(l)[i]), accumulated in float64.
func logSoftmaxAt(l []float32, i int) float64 {
	m := float64(l[0])
	for _, v := range l {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range l {
		sum += math.Exp(float64(v) - m)
	}
	return float64(l[i]) - m - math.Log(sum)
}
