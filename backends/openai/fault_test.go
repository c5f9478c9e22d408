package openai

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/lm"
)

const okJSON = `{"choices":[{"text":"fine","finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":1}}`

// faultServer answers request number n (1, 2, ...) with behave(n, w, r).
func faultServer(t *testing.T, behave func(n int, w http.ResponseWriter, r *http.Request)) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var count atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		behave(int(count.Add(1)), w, r)
	}))
	t.Cleanup(ts.Close)
	return ts, &count
}

func faultClient(t *testing.T, url string, stream bool, retries int, timeout time.Duration) *Client {
	return newClient(t, Options{
		URLs: []string{url + "/v1"}, Model: "m", Stream: stream, Retries: retries, Timeout: timeout,
		RetryBaseWait: time.Millisecond, RetryMaxWait: 5 * time.Millisecond, RetryTotal: 10 * time.Second,
	})
}

func gen(c *Client) (*lm.GenerateResponse, time.Duration, error) {
	t0 := time.Now()
	r, err := c.Generate(context.Background(), &lm.GenerateRequest{Prompt: "x", MaxTokens: 4})
	return r, time.Since(t0), err
}

// sleepOrGone waits d unless the client goes away.
func sleepOrGone(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

// reset writes head (a partial response) and resets the connection.
func reset(t *testing.T, w http.ResponseWriter, head string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	buf.WriteString(head)
	buf.Flush()
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0) // close with RST
	}
	conn.Close()
}

func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	for _, e := range events {
		fmt.Fprintf(w, "data: %s\n\n", e)
		w.(http.Flusher).Flush()
	}
}

const (
	chunkA    = `{"choices":[{"text":"fi","finish_reason":null}]}`
	chunkB    = `{"choices":[{"text":"ne","finish_reason":null}]}`
	chunkEnd  = `{"choices":[{"text":"","finish_reason":"stop"}]}`
	chunkUse  = `{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":2}}`
	streamBad = "broken"
)

// Each fault ends as a retried success, or as a clear error, within bounded
// time, after exactly the configured number of attempts.
func TestFaults(t *testing.T) {
	cases := []struct {
		name     string
		stream   bool
		retries  int
		timeout  time.Duration
		behave   func(t *testing.T, n int, w http.ResponseWriter, r *http.Request)
		attempts int      // requests the server sees
		errHas   []string // empty: success
		within   time.Duration
		atLeast  time.Duration
	}{
		{name: "slow first byte, then fast", retries: 2, timeout: 100 * time.Millisecond, attempts: 2, within: 2 * time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					sleepOrGone(r, 2*time.Second)
					return
				}
				io.WriteString(w, okJSON)
			}},
		{name: "slow first byte always", retries: 1, timeout: 100 * time.Millisecond, attempts: 2, within: 2 * time.Second,
			errHas: []string{"no response within the timeout 100ms", "2 attempts", "/v1/completions"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) { sleepOrGone(r, 5*time.Second) }},
		{name: "reset mid-response", retries: 2, attempts: 2, within: 2 * time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					reset(t, w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"choices\":[{\"te")
					return
				}
				io.WriteString(w, okJSON)
			}},
		{name: "reset mid-stream", stream: true, retries: 2, attempts: 2, within: 2 * time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					reset(t, w, "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"+
						fmt.Sprintf("%x\r\ndata: %s\n\n\r\n", len(chunkA)+8, chunkA))
					return
				}
				sse(w, chunkA, chunkB, chunkEnd, chunkUse, "[DONE]")
			}},
		{name: "500s then success", retries: 3, attempts: 3, within: 2 * time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n < 3 {
					http.Error(w, `{"error":{"message":"engine overloaded"}}`, 500)
					return
				}
				io.WriteString(w, okJSON)
			}},
		{name: "500 always", retries: 2, attempts: 3, within: 2 * time.Second,
			errHas: []string{"HTTP 500", "engine overloaded", "3 attempts", "gave up after 2 retries", "/v1/completions"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"error":{"message":"engine overloaded"}}`, 500)
			}},
		{name: "429 with Retry-After, then success", retries: 3, attempts: 2, within: 3 * time.Second, atLeast: time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					w.Header().Set("Retry-After", "1")
					http.Error(w, "slow down", 429)
					return
				}
				io.WriteString(w, okJSON)
			}},
		{name: "429 with Retry-After past the retry bound", retries: 3, attempts: 1, within: time.Second,
			errHas: []string{"HTTP 429", "retry time bound"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "3600")
				http.Error(w, "slow down", 429)
			}},
		{name: "408 is retried", retries: 3, attempts: 2, within: time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					http.Error(w, "timeout", 408)
					return
				}
				io.WriteString(w, okJSON)
			}},
		{name: "400 is not retried", retries: 3, attempts: 1, within: time.Second,
			errHas: []string{"HTTP 400", "prompt too long"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				http.Error(w, `{"error":{"message":"prompt too long"}}`, 400)
			}},
		{name: "malformed JSON", retries: 3, attempts: 1, within: time.Second,
			errHas: []string{"malformed JSON", `body: {"choices": [tru`},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"choices": [true, `)
			}},
		{name: "no choices", retries: 3, attempts: 1, within: time.Second, errHas: []string{"no choices"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"choices": []}`)
			}},
		{name: "truncated stream, then whole", stream: true, retries: 2, attempts: 2, within: 2 * time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					sse(w, chunkA, chunkB)
					return
				}
				sse(w, chunkA, chunkB, chunkEnd, chunkUse, "[DONE]")
			}},
		{name: "truncated stream always", stream: true, retries: 1, attempts: 2, within: 2 * time.Second,
			errHas: []string{"truncated stream", "2 attempts"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				sse(w, chunkA)
				io.WriteString(w, "data: {\"choi") // an event cut short
			}},
		{name: "malformed stream chunk", stream: true, retries: 2, attempts: 1, within: time.Second,
			errHas: []string{"stream event 2", "malformed JSON", streamBad},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) { sse(w, chunkA, streamBad) }},
		{name: "malformed chunk, then the server hangs", stream: true, retries: 2, timeout: 10 * time.Second, attempts: 1, within: time.Second,
			errHas: []string{"malformed JSON"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				sse(w, chunkA, streamBad)
				sleepOrGone(r, 10*time.Second)
			}},
		{name: "[DONE], then the server hangs", stream: true, timeout: 10 * time.Second, attempts: 1, within: time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				sse(w, chunkA, chunkB, chunkEnd, "[DONE]")
				sleepOrGone(r, 10*time.Second)
			}},
		{name: "error inside the stream, then whole", stream: true, retries: 2, attempts: 2, within: 2 * time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				if n == 1 {
					sse(w, chunkA, `{"error":{"message":"engine died","type":"server_error"}}`)
					return
				}
				sse(w, chunkA, chunkB, chunkEnd, "[DONE]")
			}},
		{name: "stream hangs after a chunk", stream: true, retries: 1, timeout: 150 * time.Millisecond, attempts: 2, within: 2 * time.Second,
			errHas: []string{"no complete response within the timeout 150ms"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				sse(w, chunkA)
				sleepOrGone(r, 5*time.Second)
			}},
		{name: "stream without [DONE] after finish", stream: true, attempts: 1, within: time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) { sse(w, chunkA, chunkB, chunkEnd) }},
		{name: "JSON answer to a stream request", stream: true, attempts: 1, within: time.Second,
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, okJSON)
			}},
		{name: "body too large", attempts: 1, within: 2 * time.Second, errHas: []string{"larger than max_response_bytes"},
			behave: func(t *testing.T, n int, w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, `{"choices":[{"text":"`+strings.Repeat("x", 2<<20)+`"}]}`)
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ts, count := faultServer(t, func(n int, w http.ResponseWriter, r *http.Request) { c.behave(t, n, w, r) })
			cl := faultClient(t, ts.URL, c.stream, c.retries, c.timeout)
			cl.opts.MaxResponseBytes = 1 << 20
			resp, took, err := gen(cl)
			if got := int(count.Load()); got != c.attempts {
				t.Errorf("%d requests, want %d", got, c.attempts)
			}
			if took > c.within || took < c.atLeast {
				t.Errorf("took %v, want within [%v, %v]", took, c.atLeast, c.within)
			}
			if len(c.errHas) == 0 {
				if err != nil {
					t.Fatalf("error %v, want success", err)
				}
				if resp.Text != "fine" {
					t.Errorf("text %q", resp.Text)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			for _, w := range c.errHas {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			t.Logf("error: %v", err)
		})
	}
}

// A server that accepts connections and never answers is bounded by the
// per-attempt timeout.
func TestHungServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var accepted atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go io.Copy(io.Discard, bufio.NewReader(c)) // read the request, answer nothing
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	cl := faultClient(t, "http://"+l.Addr().String(), true, 2, 100*time.Millisecond)
	_, took, err := gen(cl)
	if err == nil || !strings.Contains(err.Error(), "timeout 100ms") || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("error %v", err)
	}
	if took > 2*time.Second {
		t.Errorf("took %v", took)
	}
	if accepted.Load() != 3 {
		t.Errorf("%d connections, want 3", accepted.Load())
	}
}

// Cancelling the context stops at once: in flight, or while waiting to
// retry.
func TestCancel(t *testing.T) {
	hang, _ := faultServer(t, func(n int, w http.ResponseWriter, r *http.Request) { sleepOrGone(r, 10*time.Second) })
	busy, count := faultServer(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "busy", 503)
	})
	for _, c := range []struct {
		name string
		url  string
	}{{"in flight", hang.URL}, {"waiting to retry", busy.URL}} {
		t.Run(c.name, func(t *testing.T) {
			cl := newClient(t, Options{URLs: []string{c.url + "/v1"}, Model: "m", Retries: 5, RetryTotal: time.Minute, Timeout: time.Minute})
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			t0 := time.Now()
			_, err := cl.Generate(ctx, &lm.GenerateRequest{Prompt: "x", MaxTokens: 1})
			if !errors.Is(err, context.Canceled) {
				t.Errorf("error %v, want context.Canceled", err)
			}
			if took := time.Since(t0); took > time.Second {
				t.Errorf("took %v after cancelling at 50ms", took)
			}
		})
	}
	if count.Load() != 1 {
		t.Errorf("the busy server got %d requests, want 1", count.Load())
	}
}

// Retrying stops at the total time bound whatever the count.
func TestRetryTotalBound(t *testing.T) {
	ts, count := faultServer(t, func(n int, w http.ResponseWriter, r *http.Request) { http.Error(w, "down", 502) })
	cl := newClient(t, Options{URLs: []string{ts.URL + "/v1"}, Model: "m", Retries: 1000,
		RetryBaseWait: 20 * time.Millisecond, RetryMaxWait: 40 * time.Millisecond, RetryTotal: 300 * time.Millisecond})
	_, took, err := gen(cl)
	if err == nil || !strings.Contains(err.Error(), "retry time bound 300ms") {
		t.Errorf("error %v", err)
	}
	if took > time.Second || count.Load() < 3 {
		t.Errorf("took %v for %d attempts", took, count.Load())
	}
}

// A refused connection is retried, then reported.
func TestConnectionRefused(t *testing.T) {
	ts := httptest.NewServer(http.NotFoundHandler())
	url := ts.URL
	ts.Close()
	cl := faultClient(t, url, false, 2, time.Second)
	_, took, err := gen(cl)
	var e *Error
	if !errors.As(err, &e) || e.Attempts != 3 || e.Status != 0 || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %v", err)
	}
	if took > time.Second {
		t.Errorf("took %v", took)
	}
}

// Loglikelihood against servers that do not score prompts says so, naming
// the server and the missing field.
func TestLoglikelihoodUnsupported(t *testing.T) {
	for _, c := range []struct {
		name, body, want string
	}{
		{"no echo", `{"choices":[{"text":"x","logprobs":null}]}`, "does not start with the prompt"},
		{"no logprobs", `{"choices":[{"text":"ab","logprobs":null}]}`, "no logprobs"},
		{"no token_logprobs", `{"choices":[{"text":"ab","logprobs":{"tokens":["a","b"],"text_offset":[0,1]}}]}`, "logprobs.token_logprobs"},
		{"no text_offset", `{"choices":[{"text":"ab","logprobs":{"token_logprobs":[null,-1]}}]}`, "logprobs.text_offset"},
		{"generated only", `{"choices":[{"text":"abc","logprobs":{"token_logprobs":[-1],"text_offset":[2]}}],"usage":{"prompt_tokens":2}}`, "1 token log-probabilities for 2 prompt tokens"},
		{"first token null", `{"choices":[{"text":"ab","logprobs":{"token_logprobs":[null,-1],"text_offset":[0,1]}}]}`, "token_logprobs[0] is null"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts, _ := faultServer(t, func(n int, w http.ResponseWriter, r *http.Request) { io.WriteString(w, c.body) })
			cl := faultClient(t, ts.URL, false, 0, time.Second)
			ctxText := "a"
			if c.name == "first token null" {
				ctxText = ""
			}
			cont := "b"
			if c.name == "first token null" {
				cont = "ab"
			}
			_, err := cl.Loglikelihood(context.Background(), &lm.LoglikelihoodRequest{Context: ctxText, Continuation: cont})
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), ts.URL+"/v1/completions") {
				t.Errorf("error %v, want one naming %q and the URL", err, c.want)
			}
		})
	}
}

// Retry-After is read as seconds or as an HTTP date.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		v    string
		want time.Duration
	}{
		{"", -1}, {"3", 3 * time.Second}, {" 0 ", 0}, {"-1", -1}, {"soon", -1},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	} {
		if got := parseRetryAfter(c.v, now); got != c.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", c.v, got, c.want)
		}
	}
}

// Backoff waits stay within the doubling, capped bound.
func TestBackoff(t *testing.T) {
	c := &Client{opts: Options{RetryBaseWait: 10 * time.Millisecond, RetryMaxWait: 50 * time.Millisecond}}
	for n := 1; n <= 8; n++ {
		bound := min(10*time.Millisecond<<(n-1), 50*time.Millisecond)
		for i := 0; i < 100; i++ {
			if d := c.backoff(n); d < 0 || d > bound {
				t.Fatalf("backoff(%d) = %v, bound %v", n, d, bound)
			}
		}
	}
}
