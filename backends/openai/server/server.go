// Package server exposes any lm.Model as an OpenAI-compatible HTTP API, so
// that the models evalctl runs natively can be measured by the same
// clients (evalctl's own openai backend, lm-evaluation-harness, load
// generators) as vLLM or llama.cpp.
//
// Endpoints:
//
//	GET  /v1/models            the one model, named Options.ModelName
//	POST /v1/completions       prompt (a string), max_tokens, stop, stream, echo, logprobs
//	POST /v1/chat/completions  messages, max_tokens (or max_completion_tokens), stop, stream
//	POST /tokenize             vLLM-style: {"prompt"} or {"messages"} (or llama.cpp's {"content"})
//	                           -> {"tokens", "count"}: lm.Model.Tokenize, template and special tokens included
//
// Decisions:
//
//   - Decoding is greedy: lm.Model has nothing else. A request asking for a
//     temperature above 0, or for n > 1, is refused (400) rather than
//     silently answered greedily. top_p, seed and other sampling fields are
//     accepted and ignored.
//   - The model owns its prompt template (see package lm), so the server
//     applies none. A chat request's prompt is the text of its messages
//     joined by a blank line, roles dropped; a single user message is its
//     content unchanged, so that chat and completions requests for the
//     same text see the same prompt. Content given as parts keeps its
//     text parts, joined; other parts are refused.
//   - Log-probabilities are given for prompts only: echo=true with
//     max_tokens=0 and logprobs set (how lm-evaluation-harness and evalctl
//     score continuations). If the model implements PromptScorer the
//     answer carries each position's most likely token in top_logprobs.
//     Otherwise the prompt is scored through lm.Model.Loglikelihood with an
//     empty context and the prompt as continuation, and Options.Tokenizer
//     gives the token texts and offsets; Loglikelihood only says whether
//     every token was the most likely one, so top_logprobs is filled (each
//     token being its position's best) when the whole prompt was greedy and
//     is null otherwise. text_offset counts Unicode code points, as the
//     OpenAI API does. logprobs with generated tokens are refused.
//   - Streaming sends the completion as it is produced when the model
//     implements Streamer; otherwise as one chunk once Generate returns.
//     A final chunk carries finish_reason; with
//     stream_options.include_usage a usage chunk (empty choices) follows;
//     then "data: [DONE]". An error after the stream started is sent as a
//     data event holding an error object, without [DONE].
//   - Limits: bodies above Options.MaxRequestBytes get 413. At most
//     Options.MaxConcurrent requests run the model; up to Options.MaxQueue
//     more wait, each until Options.QueueTimeout or its own context ends;
//     beyond that the answer is 503 with Retry-After. /v1/models and
//     /tokenize are not queued.
//   - Errors are JSON in OpenAI's shape:
//     {"error": {"message", "type", "param", "code"}}, also for unknown
//     paths (404) and wrong methods (405).
//   - Shutdown stops accepting, lets every request in flight (queued and
//     streaming ones included) finish, and returns; if its context ends
//     first, the models' contexts are cancelled and connections closed.
package server

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evalctl/evalctl/backends/lm"
)

// Streamer is an optional capability of the served model, found by type
// assertion: generation that hands out the completion's text as it is
// produced. emit receives consecutive pieces whose concatenation is the
// returned Text (so a model must hold back text that may turn out to be
// part of a stop string); an error from emit (the client went away) should
// end generation.
type Streamer interface {
	GenerateStream(ctx context.Context, req *lm.GenerateRequest, emit func(text string) error) (*lm.GenerateResponse, error)
}

// PromptScorer is an optional capability of the served model: the
// log-probability of every token of a prompt, tokenized as
// lm.Model.Loglikelihood tokenizes a context (raw text after BOS, when the
// model has one), with the most likely token at each position.
type PromptScorer interface {
	ScorePrompt(ctx context.Context, prompt string) (*PromptScore, error)
}

// PromptScore is a scored prompt; all slices have one entry per token.
// Entry 0 of Logprobs, Top and TopLogprobs is ignored: the first token has
// nothing before it.
type PromptScore struct {
	// Tokens holds the text of each token; joined they give the prompt.
	// Special tokens (BOS) are "".
	Tokens []string
	// Logprobs holds the natural-log probability of each token given the
	// ones before it.
	Logprobs []float64
	// Top and TopLogprobs hold the most likely token at each position and
	// its log-probability.
	Top         []string
	TopLogprobs []float64
}

// TextTokenizer is the model's raw tokenizer (no template, no special
// tokens); *tokenizer.Tokenizer of backends/model/tokenizer is one.
type TextTokenizer interface {
	Encode(text string) []int
	Decode(ids []int) string
}

// Options configure a Server. Zero values mean the defaults noted.
type Options struct {
	// ModelName is the model's id in /v1/models and in responses (default
	// "evalctl"). Requests naming another model get 404; an empty or
	// absent model is accepted.
	ModelName string
	// MaxRequestBytes bounds a request body (default 32 MiB); larger ones
	// get 413.
	MaxRequestBytes int64
	// MaxConcurrent is how many requests run the model at once (default 1).
	MaxConcurrent int
	// MaxQueue is how many more may wait for their turn (default 64;
	// negative: none wait).
	MaxQueue int
	// QueueTimeout bounds a wait in the queue (default: none; the wait
	// ends with the request's context).
	QueueTimeout time.Duration
	// RetryAfter is what a 503 tells clients to wait (default 1s, whole
	// seconds).
	RetryAfter time.Duration
	// DefaultMaxTokens is max_tokens when a request gives none (default 16,
	// as OpenAI's completions API).
	DefaultMaxTokens int
	// Tokenizer, the model's raw tokenizer, lets a model without
	// PromptScorer answer echo+logprobs requests (token texts and offsets).
	Tokenizer TextTokenizer
	// ReadHeaderTimeout bounds the reading of request headers by Serve and
	// ListenAndServe (default 30s).
	ReadHeaderTimeout time.Duration
}

// Server is the HTTP API of one model. It is an http.Handler; Serve and
// ListenAndServe run it on their own http.Server, which Shutdown stops.
type Server struct {
	model lm.Model
	opts  Options
	mux   *http.ServeMux
	slots chan struct{}
	queue atomic.Int64 // requests waiting for a slot
	ids   atomic.Uint64

	stop       context.Context // cancelled when a shutdown gives up waiting
	stopCancel context.CancelFunc

	mu       sync.Mutex
	closing  bool
	inflight int
	idle     chan struct{} // closed when closing and nothing is in flight
	idleOnce sync.Once
	servers  []*http.Server
}

// New returns a Server for model.
func New(model lm.Model, opts Options) *Server {
	if opts.ModelName == "" {
		opts.ModelName = "evalctl"
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 32 << 20
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 1
	}
	if opts.MaxQueue == 0 {
		opts.MaxQueue = 64
	}
	if opts.RetryAfter <= 0 {
		opts.RetryAfter = time.Second
	}
	if opts.DefaultMaxTokens <= 0 {
		opts.DefaultMaxTokens = 16
	}
	if opts.ReadHeaderTimeout <= 0 {
		opts.ReadHeaderTimeout = 30 * time.Second
	}
	s := &Server{model: model, opts: opts, slots: make(chan struct{}, opts.MaxConcurrent), idle: make(chan struct{})}
	s.stop, s.stopCancel = context.WithCancel(context.Background())
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /tokenize", s.handleTokenize)
	mux.HandleFunc("/", s.handleUnknown)
	s.mux = mux
	return s
}

var knownPaths = map[string]string{
	"/v1/models": "GET", "/v1/completions": "POST", "/v1/chat/completions": "POST", "/tokenize": "POST",
}

func (s *Server) handleUnknown(w http.ResponseWriter, r *http.Request) {
	if m, ok := knownPaths[r.URL.Path]; ok {
		w.Header().Set("Allow", m)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed on "+r.URL.Path+"; use "+m)
		return
	}
	writeError(w, http.StatusNotFound, "no endpoint "+r.URL.Path+"; endpoints: GET /v1/models, POST /v1/completions, POST /v1/chat/completions, POST /tokenize")
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		w.Header().Set("Connection", "close")
		s.busy(w, "the server is shutting down")
		return
	}
	defer s.leave()
	s.mux.ServeHTTP(w, r)
}

func (s *Server) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.inflight++
	return true
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
	if s.closing && s.inflight == 0 {
		s.idleOnce.Do(func() { close(s.idle) })
	}
}

// requestContext is the request's context, also cancelled when a shutdown
// stops waiting.
func (s *Server) requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(r.Context())
	stop := context.AfterFunc(s.stop, cancel)
	return ctx, func() { stop(); cancel() }
}

// acquire waits for a model slot: at once if one is free, else in the
// queue if it has room, until QueueTimeout or the context ends. It writes
// the 503 itself when it fails.
func (s *Server) acquire(ctx context.Context, w http.ResponseWriter) (release func(), ok bool) {
	release = func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, true
	default:
	}
	if s.opts.MaxQueue < 0 {
		s.busy(w, "server busy: "+strconv.Itoa(s.opts.MaxConcurrent)+" requests running and no queue")
		return nil, false
	}
	if n := s.queue.Add(1); n > int64(s.opts.MaxQueue) {
		s.queue.Add(-1)
		s.busy(w, "server busy: "+strconv.Itoa(s.opts.MaxConcurrent)+" requests running and "+strconv.Itoa(s.opts.MaxQueue)+" waiting")
		return nil, false
	}
	defer s.queue.Add(-1)
	var timeout <-chan time.Time
	if s.opts.QueueTimeout > 0 {
		t := time.NewTimer(s.opts.QueueTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case s.slots <- struct{}{}:
		return release, true
	case <-timeout:
		s.busy(w, "server busy: no turn within "+s.opts.QueueTimeout.String())
	case <-ctx.Done():
		s.busy(w, "server busy: the request ended while waiting for its turn")
	}
	return nil, false
}

// busy writes a 503 with Retry-After.
func (s *Server) busy(w http.ResponseWriter, msg string) {
	secs := int((s.opts.RetryAfter + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	writeError(w, http.StatusServiceUnavailable, msg)
}

// Serve answers requests arriving on l until Shutdown; it then returns
// http.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		l.Close()
		return http.ErrServerClosed
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: s.opts.ReadHeaderTimeout}
	s.servers = append(s.servers, hs)
	s.mu.Unlock()
	return hs.Serve(l)
}

// ListenAndServe listens on addr (such as "127.0.0.1:0" for any free
// port), calls ready with the bound address, and serves until Shutdown,
// when it returns http.ErrServerClosed.
func (s *Server) ListenAndServe(addr string, ready func(net.Addr)) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if ready != nil {
		ready(l.Addr())
	}
	return s.Serve(l)
}

// Shutdown stops accepting requests (new ones on open connections get
// 503), waits for the requests in flight to finish, and returns nil. If ctx
// ends first, it cancels the contexts of the model calls still running,
// closes the connections and returns the context's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	servers := append([]*http.Server(nil), s.servers...)
	if s.inflight == 0 {
		s.idleOnce.Do(func() { close(s.idle) })
	}
	s.mu.Unlock()
	var err error
	for _, hs := range servers {
		if e := hs.Shutdown(ctx); e != nil && err == nil {
			err = e
		}
	}
	select {
	case <-s.idle:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		s.stopCancel()
		for _, hs := range servers {
			hs.Close()
		}
		return err
	}
	return nil
}
