package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

// fake answers with the prompt in upper case, cut to MaxTokens runes; its
// tokens are the prompt's code points, after a BOS of 0.
type fake struct {
	entered chan struct{} // if set, receives when Generate starts
	gate    chan struct{} // if set, Generate waits for it (or its context)
	delay   time.Duration
	err     error
	ctxErr  chan error // if set, receives the context error when Generate gives up
	calls   atomic.Int64
}

func (f *fake) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	f.calls.Add(1)
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			if f.ctxErr != nil {
				f.ctxErr <- ctx.Err()
			}
			return nil, ctx.Err()
		}
	}
	time.Sleep(f.delay)
	if f.err != nil {
		return nil, f.err
	}
	rs := []rune(strings.ToUpper(req.Prompt))
	finish := "stop"
	if len(rs) > req.MaxTokens {
		rs, finish = rs[:req.MaxTokens], "length"
	}
	text := string(rs)
	for _, s := range req.Stop {
		if i := strings.Index(text, s); i >= 0 {
			text, finish = text[:i], "stop"
		}
	}
	return &lm.GenerateResponse{Text: text, PromptTokens: 1 + utf8.RuneCountInString(req.Prompt), OutputTokens: len(rs), FinishReason: finish}, nil
}

func (f *fake) Tokenize(_ context.Context, p string) ([]int, error) {
	return append([]int{0}, runeTokenizer{}.Encode(p)...), nil
}

func (f *fake) Loglikelihood(_ context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	n := utf8.RuneCountInString(req.Continuation)
	out := &lm.LoglikelihoodResponse{ContextTokens: 1 + utf8.RuneCountInString(req.Context), Tokens: n, Logprob: -0.5 * float64(n), Greedy: req.Continuation == "AAA"}
	if req.TokenLogprobs {
		for i := 0; i < n; i++ {
			out.TokenLogprobs = append(out.TokenLogprobs, -0.5)
		}
	}
	return out, nil
}

type runeTokenizer struct{}

func (runeTokenizer) Encode(s string) []int {
	var ids []int
	for _, r := range s {
		ids = append(ids, int(r))
	}
	return ids
}

func (runeTokenizer) Decode(ids []int) string {
	rs := make([]rune, len(ids))
	for i, id := range ids {
		rs[i] = rune(id)
	}
	return string(rs)
}

func start(t *testing.T, m lm.Model, o Options) (string, *Server, chan error) {
	t.Helper()
	s := New(m, o)
	addrc := make(chan net.Addr, 1)
	errc := make(chan error, 1)
	go func() { errc <- s.ListenAndServe("127.0.0.1:0", func(a net.Addr) { addrc <- a }) }()
	select {
	case a := <-addrc:
		return "http://" + a.String(), s, errc
	case err := <-errc:
		t.Fatal(err)
	}
	return "", nil, nil
}

func post(t *testing.T, url, body string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

type errShape struct {
	Error *struct {
		Message *string `json:"message"`
		Type    *string `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func checkErrorShape(t *testing.T, what string, b []byte) string {
	t.Helper()
	var e errShape
	if err := json.Unmarshal(b, &e); err != nil || e.Error == nil || e.Error.Message == nil || e.Error.Type == nil {
		t.Errorf("%s: body %s is not an OpenAI error", what, b)
		return ""
	}
	return *e.Error.Message
}

func TestEndpoints(t *testing.T) {
	f := &fake{}
	ts := httptest.NewServer(New(f, Options{ModelName: "toy"}))
	defer ts.Close()

	resp, err := http.Get(ts.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct {
		Object string `json:"object"`
		Data   []struct{ ID, Object string }
	}
	json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	if models.Object != "list" || len(models.Data) != 1 || models.Data[0].ID != "toy" {
		t.Errorf("models %+v", models)
	}

	_, b := post(t, ts.URL+"/v1/completions", `{"model":"toy","prompt":"héllo world","max_tokens":5,"stop":"zz"}`)
	var c struct {
		Object  string
		Choices []struct {
			Text         string
			FinishReason string `json:"finish_reason"`
			Logprobs     any
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
			TotalTokens      int `json:"total_tokens"`
		}
	}
	if err := json.Unmarshal(b, &c); err != nil || c.Object != "text_completion" || len(c.Choices) != 1 || c.Choices[0].Text != "HÉLLO" ||
		c.Choices[0].FinishReason != "length" || c.Usage.PromptTokens != 12 || c.Usage.CompletionTokens != 5 || c.Usage.TotalTokens != 17 {
		t.Errorf("completion %s", b)
	}
	_, b = post(t, ts.URL+"/v1/completions", `{"prompt":["ab"],"max_tokens":5,"echo":true,"stop":["B"]}`)
	if err := json.Unmarshal(b, &c); err != nil || c.Choices[0].Text != "abA" || c.Choices[0].FinishReason != "stop" {
		t.Errorf("echo completion %s", b)
	}

	_, b = post(t, ts.URL+"/v1/chat/completions", `{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]}],"max_completion_tokens":50}`)
	var ch struct {
		Object  string
		Choices []struct {
			Message      struct{ Role, Content string }
			FinishReason string `json:"finish_reason"`
		}
	}
	if err := json.Unmarshal(b, &ch); err != nil || ch.Object != "chat.completion" || ch.Choices[0].Message.Content != "BE BRIEF\n\nHI THERE" || ch.Choices[0].Message.Role != "assistant" {
		t.Errorf("chat %s", b)
	}

	for _, body := range []string{`{"prompt":"ab"}`, `{"content":"ab","add_special":true}`, `{"model":"toy","messages":[{"role":"user","content":"ab"}]}`} {
		_, b = post(t, ts.URL+"/tokenize", body)
		var tk struct {
			Tokens []int
			Count  int
		}
		if err := json.Unmarshal(b, &tk); err != nil || fmt.Sprint(tk.Tokens) != "[0 97 98]" || tk.Count != 3 {
			t.Errorf("tokenize %s: %s", body, b)
		}
	}
}

func TestErrors(t *testing.T) {
	f := &fake{}
	ts := httptest.NewServer(New(f, Options{ModelName: "toy"}))
	defer ts.Close()
	failing := httptest.NewServer(New(&fake{err: errors.New("out of memory")}, Options{}))
	defer failing.Close()
	for _, c := range []struct {
		url, method, body string
		status            int
		has               string
	}{
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", `, 400, "not valid JSON"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "model": "gpt-9"}`, 404, `"gpt-9" does not exist`},
		{ts.URL + "/v1/completions", "GET", ``, 405, "use POST"},
		{ts.URL + "/v2/engines", "POST", `{}`, 404, "no endpoint /v2/engines"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "temperature": 0.7}`, 400, "greedily"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "n": 2}`, 400, "one choice"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "max_tokens": 0}`, 400, "max_tokens 0"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "max_tokens": -1}`, 400, "max_tokens -1"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "logprobs": 1}`, 400, "prompt tokens only"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "stop": 3}`, 400, "stop"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": ["a", "b"]}`, 400, "batches"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": [1, 2]}`, 400, "token-id"},
		{ts.URL + "/v1/completions", "POST", `{}`, 400, "prompt: required"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "echo": true, "max_tokens": 0, "logprobs": 1}`, 400, "cannot score prompts"},
		{ts.URL + "/v1/completions", "POST", `{"prompt": "a", "echo": true, "max_tokens": 0, "logprobs": 1, "stream": true}`, 400, "stream"},
		{ts.URL + "/v1/chat/completions", "POST", `{"messages": []}`, 400, "messages"},
		{ts.URL + "/v1/chat/completions", "POST", `{"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}`, 400, "only text parts"},
		{ts.URL + "/v1/chat/completions", "POST", `{"messages": [{"role": "user", "content": "a"}], "logprobs": true}`, 400, "logprobs"},
		{ts.URL + "/tokenize", "POST", `{"prompt": "a", "add_special_tokens": false}`, 400, "add_special_tokens"},
		{ts.URL + "/tokenize", "POST", `{"model": "x"}`, 404, "does not exist"},
		{ts.URL + "/tokenize", "POST", `{}`, 400, "required"},
		{failing.URL + "/v1/completions", "POST", `{"prompt": "a"}`, 500, "out of memory"},
	} {
		req, _ := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		what := c.method + " " + c.url + " " + c.body
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d (%s)", what, resp.StatusCode, c.status, b)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: content type %q", what, ct)
		}
		if msg := checkErrorShape(t, what, b); !strings.Contains(msg, c.has) {
			t.Errorf("%s: message %q lacks %q", what, msg, c.has)
		}
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("the model ran %d times for bad requests", n)
	}
}

// Bodies over the limit get 413, with or without a Content-Length.
func TestRequestTooLarge(t *testing.T) {
	ts := httptest.NewServer(New(&fake{}, Options{MaxRequestBytes: 1024}))
	defer ts.Close()
	big := `{"prompt": "` + strings.Repeat("x", 2000) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(body) // hides the length: sent chunked
		}
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", body)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || !strings.Contains(checkErrorShape(t, "413", b), "1024 bytes") {
			t.Errorf("chunked %v: %d %s", chunked, resp.StatusCode, b)
		}
	}
	_, b := post(t, ts.URL+"/v1/completions", `{"prompt": "ok"}`)
	if !strings.Contains(string(b), "OK") {
		t.Errorf("small request: %s", b)
	}
}

// With the model busy and the queue full (or the wait too long), requests
// get 503 with Retry-After; queued ones run when a slot frees.
func TestSaturation(t *testing.T) {
	t.Run("no queue", func(t *testing.T) {
		f := &fake{entered: make(chan struct{}, 4), gate: make(chan struct{})}
		ts := httptest.NewServer(New(f, Options{MaxQueue: -1, RetryAfter: 2 * time.Second}))
		defer ts.Close()
		first := make(chan int, 1)
		go func() {
			resp, _ := post(t, ts.URL+"/v1/completions", `{"prompt": "a"}`)
			first <- resp.StatusCode
		}()
		<-f.entered
		resp, b := post(t, ts.URL+"/v1/completions", `{"prompt": "b"}`)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "2" || !strings.Contains(checkErrorShape(t, "503", b), "busy") {
			t.Errorf("second request: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
		// Cheap endpoints are not queued.
		if resp, _ := post(t, ts.URL+"/tokenize", `{"prompt": "b"}`); resp.StatusCode != 200 {
			t.Errorf("tokenize while busy: %d", resp.StatusCode)
		}
		close(f.gate)
		if s := <-first; s != 200 {
			t.Errorf("first request: %d", s)
		}
	})
	t.Run("queue", func(t *testing.T) {
		f := &fake{entered: make(chan struct{}, 4), gate: make(chan struct{})}
		s := New(f, Options{MaxQueue: 1, QueueTimeout: 150 * time.Millisecond})
		ts := httptest.NewServer(s)
		defer ts.Close()
		statuses := make(chan int, 2)
		go func() {
			resp, _ := post(t, ts.URL+"/v1/completions", `{"prompt": "a"}`)
			statuses <- resp.StatusCode
		}()
		<-f.entered
		t0 := time.Now()
		go func() {
			resp, _ := post(t, ts.URL+"/v1/completions", `{"prompt": "b"}`) // waits in the queue, then gives up
			statuses <- resp.StatusCode
		}()
		for s.queue.Load() != 1 {
			time.Sleep(time.Millisecond)
		}
		resp, _ := post(t, ts.URL+"/v1/completions", `{"prompt": "c"}`) // the queue is full
		if resp.StatusCode != 503 || time.Since(t0) > 100*time.Millisecond {
			t.Errorf("third request: %d after %v", resp.StatusCode, time.Since(t0))
		}
		if st := <-statuses; st != 503 || time.Since(t0) < 150*time.Millisecond {
			t.Errorf("queued request: %d after %v, want 503 after the 150ms queue timeout", st, time.Since(t0))
		}
		go func() {
			resp, _ := post(t, ts.URL+"/v1/completions", `{"prompt": "d"}`) // waits, then runs
			statuses <- resp.StatusCode
		}()
		for s.queue.Load() != 1 {
			time.Sleep(time.Millisecond)
		}
		close(f.gate)
		a, b := <-statuses, <-statuses
		if a != 200 || b != 200 {
			t.Errorf("statuses %d %d, want 200 200", a, b)
		}
	})
}

// Shutdown lets requests in flight finish, streams included, then returns.
func TestShutdownGraceful(t *testing.T) {
	f := &fake{entered: make(chan struct{}, 4), gate: make(chan struct{})}
	url, s, errc := start(t, f, Options{MaxConcurrent: 2})
	type result struct {
		status int
		body   string
	}
	results := make(chan result, 2)
	for _, body := range []string{`{"prompt": "abc"}`, `{"prompt": "abc", "stream": true}`} {
		go func() {
			resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
			if err != nil {
				results <- result{0, err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, string(b)}
		}()
	}
	<-f.entered
	<-f.entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v with requests in flight", err)
	default:
	}
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second); err == nil {
		t.Error("the server still accepts connections while shutting down")
	}
	close(f.gate)
	for i := 0; i < 2; i++ {
		r := <-results
		if r.status != 200 || !strings.Contains(r.body, "ABC") {
			t.Errorf("request in flight: %d %s", r.status, r.body)
		}
		if strings.HasPrefix(r.body, "data:") && !strings.HasSuffix(r.body, "data: [DONE]\n\n") {
			t.Errorf("stream cut: %q", r.body)
		}
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-errc; err != http.ErrServerClosed {
		t.Errorf("ListenAndServe: %v", err)
	}
}

// A shutdown whose context ends cancels the model calls still running.
func TestShutdownForced(t *testing.T) {
	f := &fake{entered: make(chan struct{}, 1), gate: make(chan struct{}), ctxErr: make(chan error, 1)}
	url, s, errc := start(t, f, Options{})
	go http.Post(url+"/v1/completions", "application/json", strings.NewReader(`{"prompt": "a"}`))
	<-f.entered
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: %v", err)
	}
	if took := time.Since(t0); took > time.Second {
		t.Errorf("Shutdown took %v", took)
	}
	select {
	case err := <-f.ctxErr:
		if err == nil {
			t.Error("no context error")
		}
	case <-time.After(time.Second):
		t.Error("the model call was not cancelled")
	}
	<-errc
}

// A Server used as a plain handler refuses new requests once shutting
// down and waits for the ones in flight.
func TestShutdownAsHandler(t *testing.T) {
	f := &fake{entered: make(chan struct{}, 1), gate: make(chan struct{})}
	s := New(f, Options{})
	ts := httptest.NewServer(s)
	defer ts.Close()
	status := make(chan int, 1)
	go func() {
		resp, _ := post(t, ts.URL+"/v1/completions", `{"prompt": "a"}`)
		status <- resp.StatusCode
	}()
	<-f.entered
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	for {
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if closing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if resp, b := post(t, ts.URL+"/v1/models", ``); resp.StatusCode != 503 || !strings.Contains(string(b), "shutting down") {
		t.Errorf("request during shutdown: %d %s", resp.StatusCode, b)
	}
	close(f.gate)
	if st := <-status; st != 200 {
		t.Errorf("request in flight: %d", st)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// sseEvents reads the data lines of a stream.
func sseEvents(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	blank := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			blank = true
			continue
		}
		if !blank || !strings.HasPrefix(line, "data: ") {
			t.Fatalf("stream line %q is not one data line per event", line)
		}
		blank = false
		out = append(out, strings.TrimPrefix(line, "data: "))
	}
	return out
}

func TestStreamFormat(t *testing.T) {
	ts := httptest.NewServer(New(&fake{}, Options{}))
	defer ts.Close()
	resp, b := post(t, ts.URL+"/v1/completions", `{"prompt": "abc", "stream": true, "stream_options": {"include_usage": true}, "max_tokens": 2}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	ev := sseEvents(t, b)
	want := []string{`"text":"AB","logprobs":null,"finish_reason":null`, `"text":"","logprobs":null,"finish_reason":"length"`, `"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}`, `[DONE]`}
	if len(ev) != len(want) {
		t.Fatalf("events %q", ev)
	}
	for i, w := range want {
		if !strings.Contains(ev[i], w) {
			t.Errorf("event %d %s lacks %s", i, ev[i], w)
		}
	}
	_, b = post(t, ts.URL+"/v1/chat/completions", `{"messages": [{"role": "user", "content": "hi"}], "stream": true}`)
	ev = sseEvents(t, b)
	want = []string{`"delta":{"role":"assistant","content":""},"finish_reason":null`, `"delta":{"content":"HI"},"finish_reason":null`, `"delta":{},"finish_reason":"stop"`, `[DONE]`}
	if len(ev) != len(want) {
		t.Fatalf("chat events %q", ev)
	}
	for i, w := range want {
		if !strings.Contains(ev[i], w) || (i < 3 && !strings.Contains(ev[i], `"object":"chat.completion.chunk"`)) {
			t.Errorf("chat event %d %s lacks %s", i, ev[i], w)
		}
	}
	failing := httptest.NewServer(New(&fake{err: errors.New("engine died")}, Options{}))
	defer failing.Close()
	_, b = post(t, failing.URL+"/v1/completions", `{"prompt": "abc", "stream": true}`)
	ev = sseEvents(t, b)
	if len(ev) != 1 || !strings.Contains(ev[0], `"error"`) || !strings.Contains(ev[0], "engine died") {
		t.Errorf("failed stream %q", ev)
	}
}

// badStreamer streams text that is not its completion.
type badStreamer struct{ fake }

func (b *badStreamer) GenerateStream(ctx context.Context, req *lm.GenerateRequest, emit func(string) error) (*lm.GenerateResponse, error) {
	emit("xyz")
	return &lm.GenerateResponse{Text: "abc", FinishReason: "stop"}, nil
}

func TestStreamerContract(t *testing.T) {
	ts := httptest.NewServer(New(&badStreamer{}, Options{}))
	defer ts.Close()
	_, b := post(t, ts.URL+"/v1/completions", `{"prompt": "abc", "stream": true}`)
	ev := sseEvents(t, b)
	if len(ev) != 2 || !strings.Contains(ev[1], "not the start of its completion") {
		t.Errorf("events %q", ev)
	}
}

// Without PromptScorer the prompt is scored through Loglikelihood and the
// configured tokenizer.
func TestScoreThroughLoglikelihood(t *testing.T) {
	ts := httptest.NewServer(New(&fake{}, Options{Tokenizer: runeTokenizer{}}))
	defer ts.Close()
	for _, c := range []struct {
		prompt string
		top    bool
	}{{"Zür", false}, {"AAA", true}} {
		_, b := post(t, ts.URL+"/v1/completions", fmt.Sprintf(`{"prompt": %q, "echo": true, "max_tokens": 0, "logprobs": 1}`, c.prompt))
		var r struct {
			Choices []struct {
				Text     string
				Logprobs struct {
					Tokens        []string
					TokenLogprobs []*float64           `json:"token_logprobs"`
					TopLogprobs   []map[string]float64 `json:"top_logprobs"`
					TextOffset    []int                `json:"text_offset"`
				}
			}
			Usage struct {
				PromptTokens int `json:"prompt_tokens"`
			}
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		lp := r.Choices[0].Logprobs
		if r.Choices[0].Text != c.prompt || fmt.Sprint(lp.Tokens) != fmt.Sprint(append([]string{""}, strings.Split(c.prompt, "")...)) ||
			lp.TokenLogprobs[0] != nil || *lp.TokenLogprobs[1] != -0.5 || fmt.Sprint(lp.TextOffset) != "[0 0 1 2]" || r.Usage.PromptTokens != 4 {
			t.Errorf("%q: %s", c.prompt, b)
		}
		if (lp.TopLogprobs != nil) != c.top {
			t.Errorf("%q: top_logprobs %v, want them only for a greedy prompt", c.prompt, lp.TopLogprobs)
		}
	}
	_, b := post(t, ts.URL+"/v1/completions", `{"prompt": "abc", "echo": true, "max_tokens": 0}`)
	if !strings.Contains(string(b), `"text":"abc"`) || !strings.Contains(string(b), `"prompt_tokens":4`) {
		t.Errorf("plain echo: %s", b)
	}
}

// Token pieces join to the decoded text, for byte-level and
// SentencePiece-style tokenizers, through multi-byte characters.
func TestTokenPieces(t *testing.T) {
	for _, name := range []string{"bytelevel-gpt2", "bytelevel-llama3", "sentencepiece-bpe"} {
		tok, err := tokenizer.Load("../../../testdata/refmodels/tokenizers/" + name + "/tokenizer.json")
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{"The special magic number for Zürich is: 7281934.", " leading space", "naïve café 東京 🎉 ok", "a\nb\n\n c", ""} {
			ids := tok.Encode(text)
			pieces := tokenPieces(tok, ids)
			if len(pieces) != len(ids) {
				t.Fatalf("%d pieces for %d ids", len(pieces), len(ids))
			}
			if got, want := strings.Join(pieces, ""), tok.Decode(ids); got != want {
				t.Errorf("%s: pieces of %q join to %q, want %q", name, text, got, want)
			}
		}
	}
}

// FuzzRequests: any body to any endpoint gets a JSON answer or a stream,
// never a panic.
func FuzzRequests(f *testing.F) {
	for _, s := range []string{`{"prompt":"a","stop":["b"],"max_tokens":3}`, `{"prompt":"a","echo":true,"max_tokens":0,"logprobs":1}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"stream":true}`, `{"prompt":["a"],"stream":true,"stream_options":{"include_usage":true}}`, `[]`} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(1))
		f.Add(s, uint8(2))
	}
	s := New(&fake{}, Options{Tokenizer: runeTokenizer{}, MaxRequestBytes: 1 << 16})
	paths := []string{"/v1/completions", "/v1/chat/completions", "/tokenize"}
	f.Fuzz(func(t *testing.T, body string, which uint8) {
		path := paths[int(which)%len(paths)]
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", path, strings.NewReader(body)))
		ct := w.Header().Get("Content-Type")
		switch {
		case ct == "text/event-stream":
			if !strings.HasPrefix(w.Body.String(), "data: ") {
				t.Fatalf("stream %q", w.Body.String())
			}
		case ct == "application/json":
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("invalid JSON answer %q", w.Body.String())
			}
			if w.Code != 200 {
				var e errShape
				if json.Unmarshal(w.Body.Bytes(), &e); e.Error == nil {
					t.Fatalf("status %d without an error object: %s", w.Code, w.Body.String())
				}
			}
		default:
			t.Fatalf("content type %q", ct)
		}
	})
}
