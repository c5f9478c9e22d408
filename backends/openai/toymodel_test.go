package openai

import (
	"context"
	"errors"
	"math"
	"net"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/backends/openai/server"
)

const toyTokenizer = "../../testdata/refmodels/tokenizers/bytelevel-gpt2/tokenizer.json"

// toyModel is a deterministic bigram language model over a real tokenizer:
// the logit of token c after token p is a hash of (p, c). It generates
// greedily, scores with the same distribution, and implements the server's
// optional Streamer and PromptScorer capabilities. Tokens that do not decode
// to whole characters, and the special tokens but EOS, are never the argmax
// (their logits sit below every other), so generated text is plain UTF-8.
type toyModel struct {
	tok      *tokenizer.Tokenizer
	bos, eos int
	n        int
	ok       []bool        // may be generated
	delay    time.Duration // between streamed pieces
	dot      int           // EOS is the argmax after this token (" magic")
}

func newToyModel(t testing.TB) *toyModel {
	t.Helper()
	tok, err := tokenizer.Load(toyTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	m := &toyModel{tok: tok, n: tok.VocabSize(), dot: -1}
	var ok1, ok2 bool
	m.bos, ok1 = tok.TokenID("<s>")
	m.eos, ok2 = tok.TokenID("</s>")
	if !ok1 || !ok2 {
		t.Fatal("toy tokenizer lacks <s> or </s>")
	}
	if id, ok := tok.TokenID("Ġmagic"); ok {
		m.dot = id
	}
	m.ok = make([]bool, m.n)
	for id := 0; id < m.n; id++ {
		s := tok.Decode([]int{id})
		m.ok[id] = id == m.eos || (id != m.bos && s != "" && s != "<unk>" && utf8.ValidString(s) &&
			!strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || unicode.IsControl(r) }))
	}
	return m
}

func (m *toyModel) logit(prev, c int) float64 {
	if prev == m.dot && c == m.eos {
		return 9
	}
	h := uint64(prev+1)*0x9E3779B97F4A7C15 ^ uint64(c+7)*0xC2B2AE3D27D4EB4F
	h ^= h >> 29
	h *= 0xBF58476D1CE4E5B9
	h ^= h >> 32
	x := float64(h%8000) / 1000
	if !m.ok[c] {
		x -= 10
	}
	return x
}

// dist returns the log-probabilities after prev and the argmax.
func (m *toyModel) dist(prev int) ([]float64, int) {
	lp := make([]float64, m.n)
	best := 0
	for c := range lp {
		lp[c] = m.logit(prev, c)
		if lp[c] > lp[best] {
			best = c
		}
	}
	var z float64
	for _, x := range lp {
		z += math.Exp(x - lp[best])
	}
	lz := lp[best] + math.Log(z)
	for c := range lp {
		lp[c] -= lz
	}
	return lp, best
}

func (m *toyModel) Tokenize(_ context.Context, prompt string) ([]int, error) {
	return append([]int{m.bos}, m.tok.Encode(prompt)...), nil
}

func (m *toyModel) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	return m.GenerateStream(ctx, req, nil)
}

// GenerateStream implements server.Streamer: it emits the text of each
// generated token (cut at a stop string), m.delay apart.
func (m *toyModel) GenerateStream(ctx context.Context, req *lm.GenerateRequest, emit func(string) error) (*lm.GenerateResponse, error) {
	if req.MaxTokens < 1 {
		return nil, errors.New("toy: MaxTokens < 1")
	}
	ids, _ := m.Tokenize(ctx, req.Prompt)
	prev := ids[len(ids)-1]
	var gen []int
	text, finish := "", "length"
	for len(gen) < req.MaxTokens {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, next := m.dist(prev)
		if next == m.eos {
			finish = "stop"
			break
		}
		gen = append(gen, next)
		prev = next
		text = m.tok.Decode(gen)
		if cut, ok := cutAtStop(text, req.Stop); ok {
			text, finish = cut, "stop"
			break
		}
	}
	if emit != nil {
		off := 0
		for i, id := range gen {
			if off >= len(text) {
				break
			}
			p := m.tok.Decode([]int{id})
			if off+len(p) > len(text) {
				p = text[off:]
			}
			if i > 0 && m.delay > 0 {
				time.Sleep(m.delay)
			}
			if err := emit(p); err != nil {
				return nil, err
			}
			off += len(p)
		}
	}
	return &lm.GenerateResponse{Text: text, PromptTokens: len(ids), OutputTokens: len(gen), FinishReason: finish}, nil
}

func cutAtStop(text string, stop []string) (string, bool) {
	cut := -1
	for _, s := range stop {
		if i := strings.Index(text, s); s != "" && i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut < 0 {
		return text, false
	}
	return text[:cut], true
}

func (m *toyModel) Loglikelihood(_ context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	ctxIDs := append([]int{m.bos}, m.tok.Encode(req.Context)...)
	cont := m.tok.Encode(req.Continuation)
	if len(cont) == 0 {
		return nil, errors.New("toy: empty continuation")
	}
	out := &lm.LoglikelihoodResponse{ContextTokens: len(ctxIDs), Tokens: len(cont), Greedy: true}
	prev := ctxIDs[len(ctxIDs)-1]
	for _, id := range cont {
		lp, best := m.dist(prev)
		out.Logprob += lp[id]
		if req.TokenLogprobs {
			out.TokenLogprobs = append(out.TokenLogprobs, lp[id])
		}
		if best != id {
			out.Greedy = false
		}
		prev = id
	}
	return out, nil
}

// ScorePrompt implements server.PromptScorer.
func (m *toyModel) ScorePrompt(_ context.Context, prompt string) (*server.PromptScore, error) {
	ids := append([]int{m.bos}, m.tok.Encode(prompt)...)
	n := len(ids)
	sc := &server.PromptScore{Tokens: make([]string, n), Logprobs: make([]float64, n), Top: make([]string, n), TopLogprobs: make([]float64, n)}
	start := 1 // tokens whose text is still incomplete begin here
	for i := 1; i < n; i++ {
		lp, best := m.dist(ids[i-1])
		sc.Logprobs[i] = lp[ids[i]]
		sc.Top[i] = m.tok.Decode([]int{best})
		sc.TopLogprobs[i] = lp[best]
		if s := m.tok.Decode(ids[start : i+1]); !strings.ContainsRune(s, utf8.RuneError) || i == n-1 {
			sc.Tokens[i] = s
			start = i + 1
		}
	}
	return sc, nil
}

// plainModel hides the optional capabilities of the model it wraps.
type plainModel struct{ lm.Model }

// startServer serves model on a loopback port and returns the base URL
// (with /v1); the server is shut down when the test ends.
func startServer(t testing.TB, model lm.Model, opts server.Options) (string, *server.Server) {
	t.Helper()
	srv := server.New(model, opts)
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe("127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-errc:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		<-errc
	})
	return "http://" + addr.String() + "/v1", srv
}

func newClient(t testing.TB, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
