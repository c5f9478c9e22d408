package qa

// An honest test model over a real tokenizer (the same file is in the
// other model task packages): Tokenize is BOS plus the tokenizer's ids (a
// plain template); Generate answers with a function of the prompt text
// only, cut to MaxTokens tokens and before the first stop string; timings
// are synthetic and deterministic (1 us per prompt token for the prefill,
// 50 us per later token); Loglikelihood scores with a unigram model, or
// with loglik where a test sets it (the reading model of choice.go's tests).

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

const tokDir = "../../testdata/refmodels/tokenizers"

var (
	tokMu    sync.Mutex
	tokCache = map[string]*tokenizer.Tokenizer{}
)

func loadTok(t testing.TB, name string) *tokenizer.Tokenizer {
	t.Helper()
	tokMu.Lock()
	defer tokMu.Unlock()
	if tk, ok := tokCache[name]; ok {
		return tk
	}
	tk, err := tokenizer.Load(filepath.Join(tokDir, name, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	tokCache[name] = tk
	return tk
}

type testModel struct {
	tk     *tokenizer.Tokenizer
	bos    int
	answer func(prompt string) string
	// unigram log-probabilities by token id, for Loglikelihood
	logp  map[int]float64
	floor float64
	// loglik, when set, replaces the unigram model: the log-probability
	// of a continuation of n tokens after the context, spread evenly
	// over its tokens.
	loglik func(context, continuation string, n int) float64
}

func newTestModel(t testing.TB, tok string, answer func(string) string) *testModel {
	tk := loadTok(t, tok)
	bos, ok := tk.TokenID("<s>")
	if !ok {
		t.Fatal("no <s> token")
	}
	return &testModel{tk: tk, bos: bos, answer: answer}
}

// trainUnigram sets add-one unigram log-probabilities from a text.
func (m *testModel) trainUnigram(text string) {
	counts := map[int]int{}
	ids := m.tk.Encode(text)
	for _, id := range ids {
		counts[id]++
	}
	v := m.tk.VocabSize()
	m.logp = map[int]float64{}
	for id, c := range counts {
		m.logp[id] = math.Log(float64(c+1) / float64(len(ids)+v))
	}
	m.floor = math.Log(1 / float64(len(ids)+v))
}

func (m *testModel) unigram(id int) float64 {
	if p, ok := m.logp[id]; ok {
		return p
	}
	return m.floor
}

func (m *testModel) Close() error { return nil }

func (m *testModel) Tokenize(ctx context.Context, prompt string) ([]int, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]int{m.bos}, m.tk.Encode(prompt)...), nil
}

func (m *testModel) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	ids, err := m.Tokenize(ctx, req.Prompt)
	if err != nil {
		return nil, err
	}
	text := m.answer(req.Prompt)
	out := m.tk.Encode(text)
	finish := "stop"
	if len(out) > req.MaxTokens {
		out, finish = out[:req.MaxTokens], "length"
		text = m.tk.Decode(out)
	}
	for _, s := range req.Stop {
		if i := strings.Index(text, s); i >= 0 {
			text, finish = text[:i], "stop"
			out = m.tk.Encode(text)
		}
	}
	t := lm.Timing{Tokenize: 2 * time.Microsecond, Prefill: time.Duration(len(ids)) * time.Microsecond}
	for i := 1; i < len(out); i++ {
		t.Decode = append(t.Decode, 50*time.Microsecond)
	}
	t.Total = t.Tokenize + t.Prefill + time.Duration(len(t.Decode))*50*time.Microsecond
	return &lm.GenerateResponse{Text: text, PromptTokens: len(ids), OutputTokens: len(out), FinishReason: finish, Timing: t}, nil
}

func (m *testModel) Loglikelihood(ctx context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctxIDs := append([]int{m.bos}, m.tk.Encode(req.Context)...)
	cont := m.tk.Encode(req.Continuation)
	resp := &lm.LoglikelihoodResponse{ContextTokens: len(ctxIDs), Tokens: len(cont)}
	if m.loglik != nil {
		resp.Logprob = m.loglik(req.Context, req.Continuation, len(cont))
		resp.Greedy = resp.Logprob > -float64(len(cont))
		for range cont {
			if req.TokenLogprobs {
				resp.TokenLogprobs = append(resp.TokenLogprobs, resp.Logprob/float64(len(cont)))
			}
		}
	} else {
		for _, id := range cont {
			lp := m.unigram(id)
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

// garble changes every letter and digit of s, so that no reference can be
// found in it.
func garble(s string) string {
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
