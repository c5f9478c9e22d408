// Package testmodel is the honest test model of the model-task packages'
// tests (needle, retrieval, qa, perplexity, fit), over the real BPE
// tokenizers of testdata/refmodels/tokenizers: Tokenize is BOS plus the
// tokenizer's ids (a plain template); Generate answers with a function of
// the prompt text only, cut to MaxTokens tokens and before the first stop
// string; timings are synthetic and deterministic (1 us per prompt token for
// the prefill, 50 us per later token); Loglikelihood scores with a unigram
// model, or with Loglik where a test sets it.
//
// It is a regular package (under internal, for the tasks' tests only) so
// that the packages share one copy.
package testmodel

import (
	"context"
	"math"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

var (
	tokMu    sync.Mutex
	tokCache = map[string]*tokenizer.Tokenizer{}
)

// tokDir is testdata/refmodels/tokenizers of the repository, found from
// this file's path so that any package's tests can use it.
func tokDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "testdata", "refmodels", "tokenizers")
}

// Tokenizer loads (once) the reference tokenizer of that name:
// bytelevel-gpt2, bytelevel-llama3 or sentencepiece-bpe.
func Tokenizer(t testing.TB, name string) *tokenizer.Tokenizer {
	t.Helper()
	tokMu.Lock()
	defer tokMu.Unlock()
	if tk, ok := tokCache[name]; ok {
		return tk
	}
	tk, err := tokenizer.Load(filepath.Join(tokDir(), name, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tokCache[name] = tk
	return tk
}

// Model is the test model; it implements backends.Backend and lm.Model.
type Model struct {
	Tok    *tokenizer.Tokenizer
	BOS    int
	Answer func(prompt string) string
	// Loglik, when set, replaces the unigram model: the log-probability
	// of a continuation of n tokens after the context, spread evenly over
	// its tokens.
	Loglik func(context, continuation string, n int) float64
	// unigram log-probabilities by token id, for Loglikelihood
	logp  map[int]float64
	floor float64
}

// New returns a model over the named reference tokenizer that answers with
// answer(prompt).
func New(t testing.TB, tok string, answer func(string) string) *Model {
	t.Helper()
	tk := Tokenizer(t, tok)
	bos, ok := tk.TokenID("<s>")
	if !ok {
		t.Fatal("no <s> token")
	}
	return &Model{Tok: tk, BOS: bos, Answer: answer}
}

// TrainUnigram sets add-one unigram log-probabilities from a text.
func (m *Model) TrainUnigram(text string) {
	counts := map[int]int{}
	ids := m.Tok.Encode(text)
	for _, id := range ids {
		counts[id]++
	}
	v := m.Tok.VocabSize()
	m.logp = map[int]float64{}
	for id, c := range counts {
		m.logp[id] = math.Log(float64(c+1) / float64(len(ids)+v))
	}
	m.floor = math.Log(1 / float64(len(ids)+v))
}

// Unigram is the unigram log-probability of a token.
func (m *Model) Unigram(id int) float64 {
	if p, ok := m.logp[id]; ok {
		return p
	}
	return m.floor
}

// Close implements backends.Backend.
func (m *Model) Close() error { return nil }

// Tokenize implements lm.Model.
func (m *Model) Tokenize(ctx context.Context, prompt string) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]int{m.BOS}, m.Tok.Encode(prompt)...), nil
}

// Generate implements lm.Model.
func (m *Model) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	ids, err := m.Tokenize(ctx, req.Prompt)
	if err != nil {
		return nil, err
	}
	text := m.Answer(req.Prompt)
	out := m.Tok.Encode(text)
	finish := "stop"
	if len(out) > req.MaxTokens {
		out, finish = out[:req.MaxTokens], "length"
		text = m.Tok.Decode(out)
	}
	for _, s := range req.Stop {
		if i := strings.Index(text, s); i >= 0 {
			text, finish = text[:i], "stop"
			out = m.Tok.Encode(text)
		}
	}
	t := lm.Timing{Tokenize: 2 * time.Microsecond, Prefill: time.Duration(len(ids)) * time.Microsecond}
	for i := 1; i < len(out); i++ {
		t.Decode = append(t.Decode, 50*time.Microsecond)
	}
	t.Total = t.Tokenize + t.Prefill + time.Duration(len(t.Decode))*50*time.Microsecond
	return &lm.GenerateResponse{Text: text, PromptTokens: len(ids), OutputTokens: len(out), FinishReason: finish, Timing: t}, nil
}

// Loglikelihood implements lm.Model.
func (m *Model) Loglikelihood(ctx context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctxIDs := append([]int{m.BOS}, m.Tok.Encode(req.Context)...)
	cont := m.Tok.Encode(req.Continuation)
	resp := &lm.LoglikelihoodResponse{ContextTokens: len(ctxIDs), Tokens: len(cont)}
	if m.Loglik != nil {
		resp.Logprob = m.Loglik(req.Context, req.Continuation, len(cont))
		resp.Greedy = resp.Logprob > -float64(len(cont))
		if req.TokenLogprobs {
			for range cont {
				resp.TokenLogprobs = append(resp.TokenLogprobs, resp.Logprob/float64(len(cont)))
			}
		}
	} else {
		for _, id := range cont {
			lp := m.Unigram(id)
			resp.Logprob += lp
			if req.TokenLogprobs {
				resp.TokenLogprobs = append(resp.TokenLogprobs, lp)
			}
		}
	}
	n := len(ctxIDs) + len(cont)
	resp.Timing = lm.Timing{Tokenize: time.Microsecond, Prefill: time.Duration(n) * time.Microsecond, Total: time.Duration(n+1) * time.Microsecond}
	return resp, nil
}

// Garble changes every letter and digit of s, so that no reference can be
// found in it.
func Garble(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r < 'z', r >= 'A' && r < 'Z', r >= '0' && r < '9':
			return r + 1
		case r == 'z':
			return 'a'
		case r == 'Z':
			return 'A'
		case r == '9':
			return '0'
		}
		return r
	}, s)
}
