package model

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
	"github.com/evalctl/evalctl/backends/lm"
)

func loadRef(t testing.TB, name string) *Model {
	t.Helper()
	m, err := Load(filepath.Join(refDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCacheDecodeEqualsPrefill: the KV cache built token by token equals the
// one built by one prefill, in every layer.
func TestCacheDecodeEqualsPrefill(t *testing.T) {
	for _, name := range []string{"llama", "qwen2", "minicpm", "llama-bias"} {
		m := loadRef(t, name)
		ids := m.Tok.Encode("Hello world! It's a naïve café, isn't it? The pass key is 12345.")
		a, b := m.NewSeq(len(ids), true), m.NewSeq(1, true)
		if err := a.Forward(context.Background(), ids, attention.NewDense(), nil, nil, nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := b.Forward(context.Background(), []int{id}, attention.NewDense(), nil, nil, nil); err != nil {
				t.Fatal(err)
			}
		}
		for l := range a.caches {
			ca, cb := a.caches[l], b.caches[l]
			for _, pair := range [][2][]float32{{ca.K, cb.K}, {ca.V, cb.V}, {ca.KNoPE, cb.KNoPE}} {
				if len(pair[0]) != len(pair[1]) || len(pair[0]) == 0 {
					t.Fatalf("%s layer %d: cache sizes %d and %d", name, l, len(pair[0]), len(pair[1]))
				}
				for i := range pair[0] {
					if d := math.Abs(float64(pair[0][i] - pair[1][i])); d > 1e-5 {
						t.Fatalf("%s layer %d element %d: prefill %v, decode %v", name, l, i, pair[0][i], pair[1][i])
					}
				}
			}
		}
	}
}

func engine(t testing.TB, name string, mode attention.Mode) *Engine {
	return &Engine{M: loadRef(t, name), Mode: mode, Chunk: 7}
}

// TestGenerate: greedy generation equals argmax of full forward passes, is
// deterministic, stops at stop strings and reports timings.
func TestGenerate(t *testing.T) {
	ctx := context.Background()
	e := engine(t, "llama", attention.NewDense())
	req := &lm.GenerateRequest{Prompt: "The special magic number for Zürich is:", MaxTokens: 12}
	r1, err := e.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := e.Generate(ctx, req)
	if r1.Text != r2.Text || r1.OutputTokens != r2.OutputTokens {
		t.Fatalf("not deterministic: %q vs %q", r1.Text, r2.Text)
	}
	// Oracle: recompute every step with a fresh whole-sequence forward.
	ids, _ := e.Tokenize(ctx, req.Prompt)
	if ids[0] != e.M.Cfg.BOS || r1.PromptTokens != len(ids) {
		t.Fatalf("prompt ids %v, prompt tokens %d", ids[:3], r1.PromptTokens)
	}
	var out []int
	for len(out) < r1.OutputTokens {
		all := append(append([]int(nil), ids...), out...)
		l := logitsAt(t, e.M, attention.NewDense(), all, []int{len(all) - 1}, len(all))
		out = append(out, argmax(l[0]))
	}
	if want := e.M.Tok.Decode(out); want != r1.Text && r1.FinishReason == "length" {
		t.Fatalf("generated %q, step-by-step oracle %q", r1.Text, want)
	}
	if r1.OutputTokens > 0 && len(r1.Timing.Decode) != r1.OutputTokens-1 && r1.FinishReason == "length" {
		t.Fatalf("%d decode timings for %d tokens", len(r1.Timing.Decode), r1.OutputTokens)
	}
	if r1.Timing.PeakKVBytes <= 0 || r1.Timing.PrefillAttention.Calls == 0 || r1.Timing.Prefill <= 0 {
		t.Fatalf("timing not filled: %+v", r1.Timing)
	}
	// Stop strings cut the text before them.
	if len(r1.Text) > 2 {
		stop := r1.Text[len(r1.Text)/2:]
		r3, err := e.Generate(ctx, &lm.GenerateRequest{Prompt: req.Prompt, MaxTokens: 12, Stop: []string{stop}})
		if err != nil {
			t.Fatal(err)
		}
		if r3.FinishReason != "stop" || strings.Contains(r3.Text, stop) || !strings.HasPrefix(r1.Text, r3.Text) {
			t.Fatalf("stop %q: got %q (%s) from %q", stop, r3.Text, r3.FinishReason, r1.Text)
		}
	}
	if _, err := e.Generate(ctx, &lm.GenerateRequest{Prompt: "x", MaxTokens: 0}); err == nil {
		t.Fatal("max tokens 0 accepted")
	}
}

// TestSparseCoveringAllBlocksEqualsDense: in the model, sparse attention
// whose top-k covers every block gives dense's logits; a small top-k over a
// long input does not.
func TestSparseModes(t *testing.T) {
	m := loadRef(t, "llama-fp16")
	ids := make([]int, 300)
	for i := range ids {
		ids[i] = 3 + (i*7919)%(m.Cfg.Vocab-3)
	}
	pos := []int{299}
	dense := logitsAt(t, m, attention.NewDense(), ids, pos, 300)[0]
	cfg := attention.DefaultSparse()
	cfg.BlockSize, cfg.KernelSize, cfg.KernelStride, cfg.LocalBlocks, cfg.InitBlocks = 16, 16, 8, 1, 1
	cfg.TopK = 300/16 + 1
	full, err := flash.NewSparse(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	got := logitsAt(t, m, full, ids, pos, 300)[0]
	for i := range got {
		if math.Abs(float64(got[i]-dense[i])) > 1e-4 {
			t.Fatalf("sparse covering every block differs from dense at logit %d: %v vs %v", i, got[i], dense[i])
		}
	}
	cfg.TopK = 3
	few, _ := flash.NewSparse(cfg, 2)
	got = logitsAt(t, m, few, ids, pos, 300)[0]
	diff := 0.0
	for i := range got {
		diff = math.Max(diff, math.Abs(float64(got[i]-dense[i])))
	}
	if diff < 1e-3 {
		t.Fatalf("sparse with top-3 of 19 blocks equals dense (max diff %g): selection not applied", diff)
	}
}

// TestLoglikelihood: the sum of per-token log-probabilities, checked against
// log-softmax of a whole-sequence forward, and greedy detection.
func TestLoglikelihood(t *testing.T) {
	ctx := context.Background()
	e := engine(t, "qwen2", attention.NewDense())
	e.M.AddBOS = true
	r, err := e.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Context: "The pass key is", Continuation: " 12345. Remember it.", TokenLogprobs: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := append([]int{e.M.Cfg.BOS}, e.M.Tok.Encode("The pass key is")...)
	cont := e.M.Tok.Encode(" 12345. Remember it.")
	all := append(append([]int(nil), ids...), cont...)
	var positions []int
	for i := range cont {
		positions = append(positions, len(ids)-1+i)
	}
	ls := logitsAt(t, e.M, attention.NewDense(), all, positions, len(all))
	sum, greedy := 0.0, true
	for i, l := range ls {
		lp := logSoftmaxAt(l, cont[i])
		if math.Abs(lp-r.TokenLogprobs[i]) > 1e-5 {
			t.Fatalf("token %d: logprob %v, oracle %v", i, r.TokenLogprobs[i], lp)
		}
		sum += lp
		greedy = greedy && argmax(l) == cont[i]
	}
	if math.Abs(sum-r.Logprob) > 1e-4 || greedy != r.Greedy || r.Tokens != len(cont) || r.ContextTokens != len(ids) {
		t.Fatalf("got %+v, oracle sum %v greedy %v", r, sum, greedy)
	}
	if r.Logprob >= 0 {
		t.Fatalf("log-probability %v >= 0", r.Logprob)
	}
	// A continuation made of the model's own greedy tokens is greedy (when
	// its text re-encodes to the same tokens).
	checked := false
	for _, prompt := range []string{"The pass key is", "Hello world", "The special magic", "A"} {
		pre := append([]int{e.M.Cfg.BOS}, e.M.Tok.Encode(prompt)...)
		seq := append([]int(nil), pre...)
		for k := 0; k < 3; k++ {
			l := logitsAt(t, e.M, attention.NewDense(), seq, []int{len(seq) - 1}, len(seq))
			seq = append(seq, argmax(l[0]))
		}
		text := e.M.Tok.Decode(seq[len(pre):])
		if !slicesEqual(e.M.Tok.Encode(text), seq[len(pre):]) {
			continue
		}
		r2, err := e.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Context: prompt, Continuation: text})
		if err != nil {
			t.Fatal(err)
		}
		if !r2.Greedy {
			t.Fatalf("greedy continuation %q of %q not reported greedy", text, prompt)
		}
		checked = true
	}
	if !checked {
		t.Log("no greedy continuation re-encoded to itself; greedy=true not checked")
	}
	if _, err := e.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Context: "x", Continuation: ""}); err == nil {
		t.Fatal("empty continuation accepted")
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestTemplates: a chat template wraps the prompt (its special tokens
// encoded as added tokens when the tokenizer has them), plain does not, and
// an unknown name is refused.
func TestTemplates(t *testing.T) {
	ctx := context.Background()
	e := engine(t, "llama", attention.NewDense())
	plain, _ := e.Tokenize(ctx, "hello")
	if err := e.setTemplate("chatml"); err != nil {
		t.Fatal(err)
	}
	wrapped, _ := e.Tokenize(ctx, "hello")
	text, _ := e.Format("hello")
	if !strings.Contains(text, "<|im_start|>user\nhello") || len(wrapped) <= len(plain) || wrapped[0] != e.M.Cfg.BOS {
		t.Fatalf("chatml: %q -> %v (plain %v)", text, wrapped, plain)
	}
	if err := e.setTemplate("auto"); err != nil || e.Format != nil {
		t.Fatalf("auto without a chat template: %v, format set %v", err, e.Format != nil)
	}
	if err := e.setTemplate("nonsense"); err == nil {
		t.Fatal("unknown template accepted")
	}
}

// TestGenerateStream: the streamed pieces join to the text of Generate, and
// no piece ever contains part of a stop string.
func TestGenerateStream(t *testing.T) {
	ctx := context.Background()
	e := engine(t, "qwen2", attention.NewDense())
	req := &lm.GenerateRequest{Prompt: "The pass key is", MaxTokens: 20}
	full, err := e.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var pieces []string
	r, err := e.GenerateStream(ctx, req, func(s string) error { pieces = append(pieces, s); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(pieces, "") != full.Text || r.Text != full.Text || len(pieces) < 2 {
		t.Fatalf("stream %q (%d pieces), generate %q", strings.Join(pieces, ""), len(pieces), full.Text)
	}
	if len(full.Text) > 4 {
		stop := full.Text[len(full.Text)-3:]
		req.Stop = []string{stop}
		pieces = nil
		r, err := e.GenerateStream(ctx, req, func(s string) error { pieces = append(pieces, s); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(pieces, ""); got != r.Text || strings.Contains(got, stop) {
			t.Fatalf("stop %q: streamed %q, text %q", stop, got, r.Text)
		}
	}
	if settled("abc\uFFFD", nil) != 3 || settled("hello wo", []string{"world"}) != 6 || settled("x", []string{"y"}) != 1 {
		t.Fatal("settled")
	}
}

// TestLoadFS: a model read from a file system (as the embedded default
// model is) equals the one read from its directory.
func TestLoadFS(t *testing.T) {
	a := loadRef(t, "llama-fp16")
	b, err := LoadFS(os.DirFS(refDir), "llama-fp16", "embedded:llama-fp16")
	if err != nil {
		t.Fatal(err)
	}
	ids := a.Tok.Encode("Hello world, the pass key is 12345.")
	la := logitsAt(t, a, attention.NewDense(), ids, []int{len(ids) - 1}, len(ids))[0]
	lb := logitsAt(t, b, attention.NewDense(), ids, []int{len(ids) - 1}, len(ids))[0]
	if !slicesEqualF(la, lb) || a.AddBOS != b.AddBOS || b.Path != "embedded:llama-fp16" {
		t.Fatal("LoadFS differs from Load")
	}
	if _, err := LoadFS(os.DirFS(refDir), "nonexistent", "x"); err == nil {
		t.Fatal("missing model loaded")
	}
}

func slicesEqualF(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
