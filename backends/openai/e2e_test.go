package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/openai/server"
	"github.com/evalctl/evalctl/params"
)

var generateCases = []lm.GenerateRequest{
	{Prompt: "Hello world!", MaxTokens: 40},                                                     // ends with EOS
	{Prompt: "a", MaxTokens: 40},                                                                // runs to the length
	{Prompt: "Once upon a time", MaxTokens: 40, Stop: []string{"zz", "need"}},                   // stop string
	{Prompt: "It's a naïve café", MaxTokens: 5},                                                 // short
	{Prompt: "The special magic number for Zürich is:", MaxTokens: 3, Stop: []string{" magic"}}, // stop never met
	{Prompt: "", MaxTokens: 4},
}

var loglikelihoodCases = []lm.LoglikelihoodRequest{
	{Context: "The special magic number for Zürich is:", Continuation: " 7281934.", TokenLogprobs: true},
	{Context: "Hello world!", Continuation: " It's a naïve café", TokenLogprobs: true},
	{Context: "", Continuation: "Once upon a time"},
	{Context: "Zürich", Continuation: " is a city", TokenLogprobs: true},
	{Context: "Hello world!", Continuation: "1oreumberentionXklockartex magic", TokenLogprobs: true}, // the greedy completion
	{Context: "a", Continuation: "kenh|\" aunt"},
}

// The client's results equal the model's own, through the server, for both
// APIs, streamed or not.
func TestClientMatchesModel(t *testing.T) {
	ctx := context.Background()
	m := newToyModel(t)
	base, _ := startServer(t, m, server.Options{MaxConcurrent: 4})
	for _, api := range []string{"completions", "chat"} {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/stream=%v", api, stream), func(t *testing.T) {
				c := newClient(t, Options{URLs: []string{base}, API: api, Stream: stream, Tokenizer: "server", Timeout: 10 * time.Second})
				for _, req := range generateCases {
					want, err := m.Generate(ctx, &req)
					if err != nil {
						t.Fatal(err)
					}
					got, err := c.Generate(ctx, &req)
					if err != nil {
						t.Fatalf("%q: %v", req.Prompt, err)
					}
					if got.Text != want.Text || got.FinishReason != want.FinishReason || got.PromptTokens != want.PromptTokens || got.OutputTokens != want.OutputTokens {
						t.Errorf("%q: got %q %s %d+%d, want %q %s %d+%d", req.Prompt, got.Text, got.FinishReason, got.PromptTokens, got.OutputTokens,
							want.Text, want.FinishReason, want.PromptTokens, want.OutputTokens)
					}
					if got.Timing.Total <= 0 {
						t.Errorf("%q: no total time", req.Prompt)
					}
					if stream && want.Text != "" {
						// One chunk per generated token's text: the first is
						// the prefill, each later one a decode gap.
						if got.Timing.Prefill <= 0 || got.Timing.Prefill > got.Timing.Total {
							t.Errorf("%q: prefill %v, total %v", req.Prompt, got.Timing.Prefill, got.Timing.Total)
						}
						if pieces := countPieces(m, &req, want.Text); len(got.Timing.Decode) != pieces-1 {
							t.Errorf("%q: %d decode gaps for %d streamed pieces", req.Prompt, len(got.Timing.Decode), pieces)
						}
					}
					if !stream && (got.Timing.Prefill != 0 || got.Timing.Decode != nil) {
						t.Errorf("%q: unstreamed request has prefill/decode timings", req.Prompt)
					}
				}
				for _, req := range generateCases {
					want, _ := m.Tokenize(ctx, req.Prompt)
					got, err := c.Tokenize(ctx, req.Prompt)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got, want) {
						t.Errorf("Tokenize(%q) = %v, want %v", req.Prompt, got, want)
					}
				}
				greedy := 0
				for _, req := range loglikelihoodCases {
					checkJointTokens(t, m, req)
					want, err := m.Loglikelihood(ctx, &req)
					if err != nil {
						t.Fatal(err)
					}
					got, err := c.Loglikelihood(ctx, &req)
					if err != nil {
						t.Fatalf("%q|%q: %v", req.Context, req.Continuation, err)
					}
					got.Timing = lm.Timing{}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%q|%q:\ngot  %+v\nwant %+v", req.Context, req.Continuation, got, want)
					}
					if want.Greedy {
						greedy++
					}
				}
				if greedy == 0 {
					t.Error("no greedy loglikelihood case: the Greedy path is untested")
				}
			})
		}
	}
}

func countPieces(m *toyModel, req *lm.GenerateRequest, text string) int {
	n := 0
	m.GenerateStream(context.Background(), req, func(string) error { n++; return nil })
	return n
}

// checkJointTokens makes sure that a case tokenizes the same jointly (as the
// server sees the prompt) and separately (as Loglikelihood does).
func checkJointTokens(t *testing.T, m *toyModel, req lm.LoglikelihoodRequest) {
	t.Helper()
	joint := m.tok.Encode(req.Context + req.Continuation)
	sep := append(m.tok.Encode(req.Context), m.tok.Encode(req.Continuation)...)
	if !slices.Equal(joint, sep) {
		t.Fatalf("bad test case %q|%q: joint tokenization differs", req.Context, req.Continuation)
	}
}

// A model without PromptScorer is scored through Loglikelihood with the
// server's tokenizer: the same log-probabilities; Greedy only when the
// whole prompt was greedy. Without Streamer the stream is one chunk.
func TestClientThroughPlainModel(t *testing.T) {
	ctx := context.Background()
	m := newToyModel(t)
	base, _ := startServer(t, plainModel{m}, server.Options{Tokenizer: m.tok})
	c := newClient(t, Options{URLs: []string{base}, Stream: true, Tokenizer: "server"})
	for _, req := range loglikelihoodCases {
		want, _ := m.Loglikelihood(ctx, &req)
		got, err := c.Loglikelihood(ctx, &req)
		if err != nil {
			t.Fatalf("%q|%q: %v", req.Context, req.Continuation, err)
		}
		whole, _ := m.Loglikelihood(ctx, &lm.LoglikelihoodRequest{Continuation: req.Context + req.Continuation})
		want.Greedy = whole.Greedy
		got.Timing = lm.Timing{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q|%q:\ngot  %+v\nwant %+v", req.Context, req.Continuation, got, want)
		}
	}
	for _, req := range generateCases {
		want, _ := m.Generate(ctx, &req)
		got, err := c.Generate(ctx, &req)
		if err != nil {
			t.Fatal(err)
		}
		if got.Text != want.Text || got.OutputTokens != want.OutputTokens || len(got.Timing.Decode) != 0 {
			t.Errorf("%q: got %q (%d tokens, %d gaps), want %q (%d tokens, no gap)", req.Prompt, got.Text, got.OutputTokens, len(got.Timing.Decode), want.Text, want.OutputTokens)
		}
	}
}

// Streaming timings follow the model's pace.
func TestStreamTimings(t *testing.T) {
	m := newToyModel(t)
	m.delay = 20 * time.Millisecond
	base, _ := startServer(t, m, server.Options{})
	c := newClient(t, Options{URLs: []string{base}, Stream: true})
	got, err := c.Generate(context.Background(), &lm.GenerateRequest{Prompt: "a", MaxTokens: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Timing.Decode) != 5 {
		t.Fatalf("%d decode gaps, want 5", len(got.Timing.Decode))
	}
	var sum time.Duration
	for _, d := range got.Timing.Decode {
		if d < 15*time.Millisecond {
			t.Errorf("gap %v shorter than the model's 20ms", d)
		}
		sum += d
	}
	if got.Timing.Total < got.Timing.Prefill+sum {
		t.Errorf("total %v < prefill %v + gaps %v", got.Timing.Total, got.Timing.Prefill, sum)
	}
}

// A local tokenizer gives the model's ids once told about BOS; "auto" reads
// the post-processor.
func TestLocalTokenizer(t *testing.T) {
	ctx := context.Background()
	m := newToyModel(t)
	for _, c := range []struct {
		bos  string
		file string
		want func([]int) []int
	}{
		{"<s>", toyTokenizer, func(ids []int) []int { return append([]int{m.bos}, ids...) }},
		{"none", toyTokenizer, func(ids []int) []int { return ids }},
		{"auto", toyTokenizer, func(ids []int) []int { return ids }}, // no post-processor
		{"auto", withPostProcessor(t), func(ids []int) []int { return append(append([]int{m.bos}, ids...), m.eos) }},
	} {
		cl := newClient(t, Options{URLs: []string{"http://127.0.0.1:1/v1"}, Tokenizer: c.file, BOS: c.bos})
		for _, p := range []string{"", "Hello world!", "The special magic number for Zürich is: 7281934."} {
			got, err := cl.Tokenize(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if want := c.want(m.tok.Encode(p)); !slices.Equal(got, want) {
				t.Errorf("bos %s (%s): Tokenize(%q) = %v, want %v", c.bos, filepath.Base(c.file), p, got, want)
			}
		}
	}
	if _, err := New(Options{URLs: []string{"http://h/v1"}, Tokenizer: toyTokenizer, BOS: "<nope>"}); err == nil || !strings.Contains(err.Error(), "<nope>") {
		t.Errorf("unknown bos token: %v", err)
	}
	if _, err := New(Options{URLs: []string{"http://h/v1"}, Tokenizer: toyTokenizer, API: "chat"}); err == nil || !strings.Contains(err.Error(), "chat template") {
		t.Errorf("local tokenizer with chat: %v", err)
	}
}

// withPostProcessor writes the toy tokenizer with a Llama-style
// TemplateProcessing post-processor (<s> before, </s> after).
func withPostProcessor(t *testing.T) string {
	b, err := os.ReadFile(toyTokenizer)
	if err != nil {
		t.Fatal(err)
	}
	pp := `"post_processor": {"type": "Sequence", "processors": [{"type": "ByteLevel"}, {"type": "TemplateProcessing",
		"single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}],
		"pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}, "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}]}`
	s := strings.Replace(string(b), `"post_processor": null`, pp, 1)
	if s == string(b) {
		t.Fatal("no post_processor null in the toy tokenizer")
	}
	p := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The model name is asked once from /v1/models when not configured.
func TestModelDiscovery(t *testing.T) {
	m := newToyModel(t)
	base, _ := startServer(t, m, server.Options{ModelName: "toy-1"})
	c := newClient(t, Options{URLs: []string{base}})
	if _, err := c.Generate(context.Background(), &lm.GenerateRequest{Prompt: "a", MaxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	if c.model != "toy-1" {
		t.Errorf("model %q, want toy-1", c.model)
	}
	c2 := newClient(t, Options{URLs: []string{base}, Model: "other"})
	_, err := c2.Generate(context.Background(), &lm.GenerateRequest{Prompt: "a", MaxTokens: 2})
	if e, ok := err.(*Error); !ok || e.Status != 404 || e.Attempts != 1 || !strings.Contains(e.Error(), "other") {
		t.Errorf("wrong model: %v", err)
	}
}

// countingHandler counts requests and the most in flight at once.
type countingHandler struct {
	n, inflight, peak atomic.Int64
	delay             time.Duration
	auth              sync.Map // Authorization headers seen
}

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.n.Add(1)
	cur := h.inflight.Add(1)
	defer h.inflight.Add(-1)
	for {
		p := h.peak.Load()
		if cur <= p || h.peak.CompareAndSwap(p, cur) {
			break
		}
	}
	h.auth.Store(r.Header.Get("Authorization"), true)
	time.Sleep(h.delay)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, `{"choices":[{"text":"ok","finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}`)
}

// At most `concurrency` requests are in flight at the server.
func TestConcurrencyLimit(t *testing.T) {
	h := &countingHandler{delay: 30 * time.Millisecond}
	ts := httptest.NewServer(h)
	defer ts.Close()
	c := newClient(t, Options{URLs: []string{ts.URL + "/v1"}, Model: "m", Concurrency: 3})
	var wg sync.WaitGroup
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if h.n.Load() != 12 || h.peak.Load() != 3 {
		t.Errorf("%d requests, at most %d in flight; want 12 and 3", h.n.Load(), h.peak.Load())
	}
}

// Requests alternate between the servers; a dead one is skipped by retries.
func TestRoundRobin(t *testing.T) {
	a, b := &countingHandler{}, &countingHandler{}
	ta, tb := httptest.NewServer(a), httptest.NewServer(b)
	defer ta.Close()
	defer tb.Close()
	c := newClient(t, Options{URLs: []string{ta.URL + "/v1", tb.URL + "/v1/"}, Model: "m", Concurrency: 1})
	for i := 0; i < 10; i++ {
		if _, err := c.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if a.n.Load() != 5 || b.n.Load() != 5 {
		t.Errorf("requests %d and %d, want 5 and 5", a.n.Load(), b.n.Load())
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	c2 := newClient(t, Options{URLs: []string{deadURL + "/v1", ta.URL + "/v1"}, Model: "m", Retries: 1})
	before := a.n.Load()
	for i := 0; i < 4; i++ {
		if _, err := c2.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 1}); err != nil {
			t.Fatalf("with one server down: %v", err)
		}
	}
	if a.n.Load()-before != 4 {
		t.Errorf("the live server got %d requests, want 4", a.n.Load()-before)
	}
}

// The key reaches the server as a bearer token, is read from the variable
// named by api_key_env, and appears in no error, even when the server
// echoes it, nor in the recorded parameters.
func TestAPIKey(t *testing.T) {
	const key = "sk-test-7f3a9c1e5b"
	t.Setenv("EVALCTL_OPENAI_TEST_KEY", key)
	h := &countingHandler{}
	ok := httptest.NewServer(h)
	defer ok.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusUnauthorized
		if r.URL.Path == "/v1/chat/completions" {
			status = http.StatusInternalServerError
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"message":"bad key %s (query %s)"}}`, r.Header.Get("Authorization"), r.URL.RawQuery)
	}))
	defer echo.Close()

	info, found := backends.Lookup("openai")
	if !found {
		t.Fatal("openai backend not registered")
	}
	build := func(url, api string) backends.Backend {
		set, err := params.Resolve(info.Params, map[string]any{"url": url, "model": "m", "api": api, "api_key_env": "EVALCTL_OPENAI_TEST_KEY", "retries": 1, "retry_base_wait": "1ms", "stream": false})
		if err != nil {
			t.Fatal(err)
		}
		if err := info.Check(set); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(url, key) && strings.Contains(fmt.Sprint(set), key) {
			t.Errorf("the key is in the parameter set: %v", set)
		}
		b, err := info.New(backends.Config{Label: "remote", Params: set})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	}
	m := build(ok.URL+"/v1", "completions").(lm.Model)
	if _, err := m.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 1}); err != nil {
		t.Fatal(err)
	}
	if _, seen := h.auth.Load("Bearer " + key); !seen {
		t.Error("the server did not get Authorization: Bearer <key>")
	}
	secretURL := strings.Replace(echo.URL, "http://", "http://user:"+key+"@", 1) + "/v1?api-key=" + key
	for _, api := range []string{"completions", "chat"} {
		m := build(secretURL, api).(lm.Model)
		_, err := m.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 1})
		if err == nil {
			t.Fatal("no error from the echoing server")
		}
		if strings.Contains(err.Error(), key) {
			t.Errorf("%s: the key is in the error: %v", api, err)
		}
		if !strings.Contains(err.Error(), "[redacted]") || !strings.Contains(err.Error(), echo.URL) {
			t.Errorf("%s: error %q lacks the redaction mark or the URL", api, err)
		}
		_, err = m.Loglikelihood(context.Background(), &lm.LoglikelihoodRequest{Context: "a", Continuation: "b"})
		if err == nil || strings.Contains(err.Error(), key) {
			t.Errorf("%s: loglikelihood error %v", api, err)
		}
		_, err = m.Tokenize(context.Background(), "x")
		if err == nil || strings.Contains(err.Error(), key) {
			t.Errorf("%s: tokenize error %v", api, err)
		}
	}
	set, _ := params.Resolve(info.Params, map[string]any{"url": ok.URL, "api_key_env": "EVALCTL_OPENAI_UNSET_VAR"})
	if err := info.Check(set); err == nil || !strings.Contains(err.Error(), "EVALCTL_OPENAI_UNSET_VAR") {
		t.Errorf("unset key variable: %v", err)
	}
}

// Parameters are validated as a whole before anything runs, with errors
// naming the parameter.
func TestCheck(t *testing.T) {
	info, _ := backends.Lookup("openai")
	for _, c := range []struct {
		raw  map[string]any
		want string
	}{
		{map[string]any{}, `"url"`},
		{map[string]any{"url": "ftp://x"}, `"url"`},
		{map[string]any{"url": "http://x/v1, :bad"}, `"url"`},
		{map[string]any{"url": "http://x", "timeout": "soon"}, `"timeout"`},
		{map[string]any{"url": "http://x", "retry_max_wait": "-1s"}, `"retry_max_wait"`},
		{map[string]any{"url": "http://x", "extra_body": "[1]"}, `"extra_body"`},
		{map[string]any{"url": "http://x", "extra_body": `{"max_tokens": 3}`}, "max_tokens"},
		{map[string]any{"url": "http://x", "tokenizer": "/nonexistent/tokenizer.json"}, `"tokenizer"`},
		{map[string]any{"url": "http://x", "bos": "<s>"}, `"bos"`},
		{map[string]any{"url": "http://x", "api": "chat", "tokenizer": toyTokenizer}, `"tokenizer"`},
	} {
		set, err := params.Resolve(info.Params, c.raw)
		if err == nil {
			err = info.Check(set)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %s", c.raw, err, c.want)
		}
	}
	set, err := params.Resolve(info.Params, map[string]any{"url": "http://a:8000/v1,https://b/v1", "timeout": 30, "extra_body": `{"top_k": 1}`, "tokenizer": toyTokenizer, "bos": "<s>"})
	if err != nil {
		t.Fatal(err)
	}
	if err := info.Check(set); err != nil {
		t.Fatal(err)
	}
	o, _ := OptionsFromParams(set)
	if len(o.URLs) != 2 || o.Timeout != 30*time.Second || o.RetryTotal != 5*time.Minute {
		t.Errorf("options %+v", o)
	}
}

// extra_body members reach the server; the client's own members win.
func TestExtraBody(t *testing.T) {
	var got string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 4096)
		n, _ := r.Body.Read(b)
		got = string(b[:n])
		fmt.Fprint(w, `{"choices":[{"text":"ok","finish_reason":"length"}]}`)
	}))
	defer ts.Close()
	c := newClient(t, Options{URLs: []string{ts.URL + "/v1"}, Model: "m", ExtraBody: `{"sparse_attention": {"topk": 16}, "top_k": 1}`, Seed: 7})
	out, err := c.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 3, Stop: []string{"\n"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"sparse_attention":{"topk":16}`, `"top_k":1`, `"seed":7`, `"temperature":0`, `"max_tokens":3`, `"stop":["\n"]`, `"prompt":"x"`} {
		if !strings.Contains(got, w) {
			t.Errorf("request body %s lacks %s", got, w)
		}
	}
	if out.FinishReason != "length" || out.OutputTokens != 0 {
		t.Errorf("response %+v", out)
	}
}

func TestRedactRawURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://u:p@h:1/v1?key=k": "http://h:1/v1",
		"http://h/a@b":            "http://h/a@b",
		"http://u@h":              "http://h",
		"h:8000/v1#x":             "h:8000/v1",
	} {
		if got := redactRawURL(in); got != want {
			t.Errorf("redactRawURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCutStop(t *testing.T) {
	for _, c := range []struct {
		text, finish string
		stop         []string
		want, wantF  string
	}{
		{"abc\ndef", "length", []string{"\n"}, "abc", "stop"},
		{"abcdef", "length", []string{"x", "cd", "b"}, "a", "stop"},
		{"abc", "length", nil, "abc", "length"},
		{"abc", "eos", nil, "abc", "stop"},
		{"abc", "", nil, "abc", "stop"},
		{"abc", "content_filter", []string{""}, "abc", "content_filter"},
	} {
		got, f := cutStop(c.text, c.finish, c.stop)
		if got != c.want || f != c.wantF {
			t.Errorf("cutStop(%q, %q, %q) = %q, %q", c.text, c.finish, c.stop, got, f)
		}
	}
}

// llamaCppLike answers /tokenize and /apply-template as llama.cpp's server
// does: it reads "content" only (no "messages", so those get no tokens) and
// applies its chat template in /apply-template.
func llamaCppLike(t *testing.T, calls *atomic.Int64) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /tokenize", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Content      *string `json:"content"`
			AddSpecial   bool    `json:"add_special"`
			ParseSpecial bool    `json:"parse_special"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		ids := []int{}
		if req.Content != nil {
			if req.AddSpecial {
				ids = append(ids, 1)
			}
			for _, b := range []byte(*req.Content) {
				ids = append(ids, int(b))
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"tokens": ids})
	})
	mux.HandleFunc("POST /apply-template", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Messages []struct{ Role, Content string }
		}
		json.NewDecoder(r.Body).Decode(&req)
		json.NewEncoder(w).Encode(map[string]string{"prompt": "<" + req.Messages[0].Role + ">" + req.Messages[0].Content + "<end>"})
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// Server tokenization works with llama.cpp's dialect too: in completions
// mode through the same request, in chat mode through its template.
func TestTokenizeLlamaCppDialect(t *testing.T) {
	var calls atomic.Int64
	ts := llamaCppLike(t, &calls)
	ctx := context.Background()
	c := newClient(t, Options{URLs: []string{ts.URL + "/v1"}, Model: "m", Tokenizer: "server"})
	ids, err := c.Tokenize(ctx, "ab")
	if err != nil || fmt.Sprint(ids) != "[1 97 98]" {
		t.Errorf("completions: %v %v", ids, err)
	}
	chat := newClient(t, Options{URLs: []string{ts.URL + "/v1"}, Model: "m", API: "chat", Tokenizer: "server"})
	want := []int{1}
	for _, b := range []byte("<user>ab<end>") {
		want = append(want, int(b))
	}
	calls.Store(0)
	for i := 0; i < 3; i++ {
		ids, err = chat.Tokenize(ctx, "ab")
		if err != nil || !slices.Equal(ids, want) {
			t.Fatalf("chat: %v %v, want %v", ids, err, want)
		}
	}
	if calls.Load() != 4 { // the first call tries vLLM's form once
		t.Errorf("%d /tokenize requests for 3 calls, want 4", calls.Load())
	}
	// A server without /tokenize: a clear error.
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	c = newClient(t, Options{URLs: []string{none.URL + "/v1"}, Model: "m", Tokenizer: "server"})
	if _, err := c.Tokenize(ctx, "ab"); err == nil || !strings.Contains(err.Error(), none.URL+"/tokenize") || !strings.Contains(err.Error(), "404") {
		t.Errorf("no endpoint: %v", err)
	}
	c = newClient(t, Options{URLs: []string{none.URL + "/v1"}, Model: "m"})
	if _, err := c.Tokenize(ctx, "ab"); err == nil || !strings.Contains(err.Error(), "no tokenizer") {
		t.Errorf("no tokenizer: %v", err)
	}
}
