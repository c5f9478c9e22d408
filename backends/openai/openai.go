package openai

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/params"
)

// Options configure a Client. The zero value of a field means its default,
// as noted; the registered backend fills them from its parameters.
type Options struct {
	// URLs are base URLs of the API, such as http://host:8000/v1; requests
	// (and retries) go to them in turn, round-robin.
	URLs []string
	// Model is sent in every request; empty: the first model listed by
	// GET {url}/models, asked once.
	Model string
	// API is "completions" (the default: the prompt is sent as raw text)
	// or "chat" (the prompt is sent as one user message, and the server
	// applies its chat template).
	API string
	// APIKey, when set, is sent as "Authorization: Bearer <key>". It never
	// appears in errors.
	APIKey string
	// Stream asks for server-sent events, to time the first token and the
	// later ones.
	Stream bool
	// Concurrency bounds the requests in flight (default 8).
	Concurrency int
	// Retries is the number of retries after the first attempt.
	Retries int
	// RetryBaseWait is the first backoff bound, doubling per retry up to
	// RetryMaxWait (0: RetryBaseWait); the wait is uniform below the bound
	// (full jitter). A Retry-After header replaces it.
	RetryBaseWait, RetryMaxWait time.Duration
	// RetryTotal, when positive, stops retrying once the next attempt would
	// start later than this after the first one.
	RetryTotal time.Duration
	// Timeout, when positive, bounds one attempt, from sending the request
	// to the end of the response.
	Timeout time.Duration
	// ExtraBody is a JSON object whose members are added to every request
	// body. It may not set the members the client owns (model, prompt,
	// messages, max_tokens, stop, stream, echo, logprobs, temperature,
	// seed, ...).
	ExtraBody string
	// Tokenizer is what Tokenize uses: "server" (the server's /tokenize
	// endpoint), the path of a local tokenizer.json, or "" / "none".
	Tokenizer string
	// BOS says which special tokens a local tokenizer adds around the text:
	// "auto" (the default: as the tokenizer.json post-processor says),
	// "none", or a token such as "<s>" put before the text.
	BOS string
	// Seed is sent with every request.
	Seed int64
	// MaxResponseBytes bounds a response body and a stream (default 256 MiB).
	MaxResponseBytes int64
}

// Client is an lm.Model served by OpenAI-compatible servers, and the
// registered backend "openai". It is safe for concurrent use.
type Client struct {
	opts      Options
	endpoints []*endpoint
	next      atomic.Uint64
	sem       chan struct{}
	hc        *http.Client
	key       string
	extra     map[string]json.RawMessage

	tok            *tokenizer.Tokenizer
	prefix, suffix []int // special tokens a local tokenizer adds

	modelMu sync.Mutex
	model   string

	chatTokStyle atomic.Int32 // server tokenize in chat mode: 0 unknown, vllmStyle, llamaStyle
}

var _ lm.Model = (*Client)(nil)
var _ backends.Backend = (*Client)(nil)

// Members of a request body the client owns; extra_body may not set them.
var reserved = []string{
	"add_generation_prompt", "add_special_tokens", "echo", "logprobs", "max_completion_tokens", "max_tokens",
	"messages", "model", "n", "prompt", "seed", "stop", "stream", "stream_options", "temperature", "top_logprobs",
}

// New validates opts and returns a Client. It does no I/O beyond loading a
// local tokenizer.
func New(opts Options) (*Client, error) {
	if opts.API == "" {
		opts.API = "completions"
	}
	if opts.API != "completions" && opts.API != "chat" {
		return nil, fmt.Errorf("openai: api %q: want completions or chat", opts.API)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.MaxResponseBytes <= 0 {
		opts.MaxResponseBytes = 256 << 20
	}
	if opts.Retries < 0 {
		return nil, fmt.Errorf("openai: retries %d: want 0 or more", opts.Retries)
	}
	if opts.RetryMaxWait <= 0 {
		opts.RetryMaxWait = opts.RetryBaseWait
	}
	if opts.BOS == "" {
		opts.BOS = "auto"
	}
	if opts.Tokenizer == "none" {
		opts.Tokenizer = ""
	}
	c := &Client{opts: opts, key: opts.APIKey, sem: make(chan struct{}, opts.Concurrency), model: opts.Model}
	if len(opts.URLs) == 0 {
		return nil, errors.New("openai: no url: give the base URL of the API, such as http://host:8000/v1")
	}
	for _, u := range opts.URLs {
		ep, err := newEndpoint(u)
		if err != nil {
			return nil, fmt.Errorf("openai: url %q: %v", redactRawURL(u), err)
		}
		c.endpoints = append(c.endpoints, ep)
	}
	extra, err := parseExtraBody(opts.ExtraBody)
	if err != nil {
		return nil, fmt.Errorf("openai: extra_body: %v", err)
	}
	c.extra = extra
	switch opts.Tokenizer {
	case "", "server":
		if opts.BOS != "auto" {
			return nil, fmt.Errorf("openai: bos %q applies to a local tokenizer only (tokenizer is %q)", opts.BOS, opts.Tokenizer)
		}
	default:
		if opts.API == "chat" {
			return nil, fmt.Errorf("openai: tokenizer %q: a local tokenizer cannot apply the server's chat template, so its ids would not be what the model sees; with api: chat use tokenizer: server", opts.Tokenizer)
		}
		c.tok, c.prefix, c.suffix, err = loadTokenizer(opts.Tokenizer, opts.BOS)
		if err != nil {
			return nil, fmt.Errorf("openai: %v", err)
		}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   opts.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		// Compression would let a proxy buffer the stream and blur timings.
		DisableCompression: true,
	}
	c.hc = &http.Client{Transport: tr}
	return c, nil
}

// redactRawURL drops user info and query from a URL that may not parse.
func redactRawURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		host := rest
		if k := strings.IndexAny(rest, "/?#"); k >= 0 {
			host = rest[:k]
		}
		if j := strings.LastIndex(host, "@"); j >= 0 {
			s = s[:i+3] + rest[j+1:]
		}
	}
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	return s
}

func parseExtraBody(s string) (map[string]json.RawMessage, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &m); err != nil || m == nil {
		return nil, fmt.Errorf("not a JSON object: %s", snippet([]byte(s), 60))
	}
	var bad []string
	for _, k := range reserved {
		if _, ok := m[k]; ok {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("sets %s, which the backend sets itself (reserved: %s)", strings.Join(bad, ", "), strings.Join(reserved, ", "))
	}
	return m, nil
}

// Close releases idle connections.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// body encodes fields plus the extra body members.
func (c *Client) body(fields map[string]any) ([]byte, error) {
	m := make(map[string]any, len(fields)+len(c.extra))
	for k, v := range c.extra {
		m[k] = v
	}
	for k, v := range fields {
		m[k] = v
	}
	return json.Marshal(m)
}

// modelName returns the configured model, or asks the first server.
func (c *Client) modelName(ctx context.Context) (string, error) {
	if c.opts.Model != "" {
		return c.opts.Model, nil
	}
	c.modelMu.Lock()
	defer c.modelMu.Unlock()
	if c.model != "" {
		return c.model, nil
	}
	var ids []string
	err := c.do(ctx, &call{op: "models", method: http.MethodGet, path: "/models", handle: func(resp *http.Response, _ time.Time) error {
		b, err := c.readBody(resp.Body)
		if err != nil {
			return err
		}
		ids, err = parseModels(b)
		if err != nil {
			return bodyError(err, b)
		}
		if len(ids) == 0 {
			return bodyError(errors.New("the server lists no model; set the model parameter"), b)
		}
		return nil
	}})
	if err != nil {
		return "", err
	}
	c.model = ids[0]
	return c.model, nil
}

// Generate implements lm.Model: a greedy completion (temperature 0, the
// configured seed) through the completions or chat API.
func (c *Client) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	if req.MaxTokens < 1 {
		return nil, fmt.Errorf("openai generate: MaxTokens %d: want at least 1", req.MaxTokens)
	}
	model, err := c.modelName(ctx)
	if err != nil {
		return nil, err
	}
	chat := c.opts.API == "chat"
	fields := map[string]any{"model": model, "max_tokens": req.MaxTokens, "temperature": 0, "seed": c.opts.Seed}
	path := "/completions"
	if chat {
		path = "/chat/completions"
		fields["messages"] = []map[string]string{{"role": "user", "content": req.Prompt}}
	} else {
		fields["prompt"] = req.Prompt
	}
	if len(req.Stop) > 0 {
		fields["stop"] = req.Stop
	}
	if c.opts.Stream {
		fields["stream"] = true
		fields["stream_options"] = map[string]bool{"include_usage": true}
	}
	body, err := c.body(fields)
	if err != nil {
		return nil, fmt.Errorf("openai generate: encoding the request: %v", err)
	}
	var out *lm.GenerateResponse
	var finish string
	err = c.do(ctx, &call{op: "generate", method: http.MethodPost, path: path, body: body, handle: func(resp *http.Response, sent time.Time) error {
		var err error
		if c.opts.Stream && !isJSON(resp.Header.Get("Content-Type")) {
			out, finish, err = c.readStream(resp.Body, sent, chat)
		} else {
			out, finish, err = c.readWhole(resp.Body, sent, chat)
		}
		return err
	}})
	if err != nil {
		return nil, err
	}
	out.Text, out.FinishReason = cutStop(out.Text, finish, req.Stop)
	if out.PromptTokens == 0 && c.tok != nil {
		// No usage from the server: count with the local tokenizer.
		out.PromptTokens = len(c.prefix) + len(c.tok.Encode(req.Prompt)) + len(c.suffix)
	}
	return out, nil
}

func isJSON(contentType string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/json")
}

// readWhole reads a non-streamed response.
func (c *Client) readWhole(r io.Reader, sent time.Time, chat bool) (*lm.GenerateResponse, string, error) {
	b, err := c.readBody(r)
	if err != nil {
		return nil, "", err
	}
	parse := parseCompletion
	if chat {
		parse = parseChat
	}
	comp, err := parse(b)
	if err != nil {
		return nil, "", bodyError(err, b)
	}
	out := &lm.GenerateResponse{Text: comp.Text}
	out.Timing.Total = time.Since(sent)
	if comp.Usage != nil {
		out.PromptTokens, out.OutputTokens = comp.Usage.PromptTokens, comp.Usage.CompletionTokens
	} else if c.tok != nil {
		out.OutputTokens = len(c.tok.Encode(comp.Text))
	}
	return out, comp.FinishReason, nil
}

// readStream reads a streamed response: the first chunk carrying text sets
// Timing.Prefill (from sending the request), each later one adds its gap to
// Timing.Decode. The stream is complete at "[DONE]", or at its end after a
// chunk with a finish_reason (some servers send no [DONE]); anything else
// is a truncated stream, retried.
func (c *Client) readStream(r io.Reader, sent time.Time, chat bool) (*lm.GenerateResponse, string, error) {
	parse := parseCompletionChunk
	if chat {
		parse = parseChatChunk
	}
	sr := newSSEReader(r, int(min(c.opts.MaxResponseBytes, math.MaxInt32)))
	out := &lm.GenerateResponse{}
	var text strings.Builder
	var u *usage
	var finish string
	var last time.Time
	chunks, events, size := 0, 0, 0
	done := false
	for !done {
		data, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err == errEventTooLong {
			return nil, "", fmt.Errorf("stream event larger than max_response_bytes (%d)", c.opts.MaxResponseBytes)
		}
		if err != nil {
			return nil, "", transient("stream broken after %d events: %v", events, err)
		}
		now := time.Now()
		events++
		if size += len(data); int64(size) > c.opts.MaxResponseBytes {
			return nil, "", fmt.Errorf("stream larger than max_response_bytes (%d)", c.opts.MaxResponseBytes)
		}
		if string(bytes.TrimSpace(data)) == "[DONE]" {
			done = true
			continue
		}
		comp, err := parse(data)
		if err != nil {
			var se *serverError
			if errors.As(err, &se) {
				return nil, "", &transientError{fmt.Errorf("in the stream after %d events: %w", events-1, err)}
			}
			return nil, "", fmt.Errorf("stream event %d: %w; data: %q", events, err, snippet(data, 200))
		}
		if comp.Usage != nil {
			u = comp.Usage
		}
		if comp.FinishReason != "" {
			finish = comp.FinishReason
		}
		if comp.Text != "" {
			if chunks == 0 {
				out.Timing.Prefill = now.Sub(sent)
			} else {
				out.Timing.Decode = append(out.Timing.Decode, now.Sub(last))
			}
			last = now
			chunks++
			text.WriteString(comp.Text)
		}
	}
	if !done && finish == "" {
		return nil, "", transient("truncated stream: it ended without [DONE] or a finish_reason, after %d events", events)
	}
	out.Timing.Total = time.Since(sent)
	out.Text = text.String()
	if u != nil {
		out.PromptTokens, out.OutputTokens = u.PromptTokens, u.CompletionTokens
	} else {
		out.OutputTokens = chunks
	}
	return out, finish, nil
}

// cutStop cuts text before the first stop string (the server should have
// done it; doing it again is harmless) and maps the finish reason to "stop"
// or "length"; unknown reasons (content_filter, abort) are kept as sent.
func cutStop(text, finish string, stop []string) (string, string) {
	cut := -1
	for _, s := range stop {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		return text[:cut], "stop"
	}
	switch finish {
	case "length":
		return text, "length"
	case "", "stop", "eos", "eos_token", "stop_sequence", "end_turn":
		return text, "stop"
	}
	return text, finish
}

// Loglikelihood implements lm.Model through the completions endpoint (in
// both API modes): the prompt Context+Continuation with echo=true,
// logprobs=1 and max_tokens=0 returns the log-probability of every prompt
// token. The continuation starts at the first token reaching past the
// context (text_offset, in Unicode code points as the OpenAI API counts).
func (c *Client) Loglikelihood(ctx context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	if req.Continuation == "" {
		return nil, errors.New("openai loglikelihood: empty continuation")
	}
	model, err := c.modelName(ctx)
	if err != nil {
		return nil, err
	}
	body, err := c.body(map[string]any{
		"model": model, "prompt": req.Context + req.Continuation,
		"max_tokens": 0, "echo": true, "logprobs": 1, "temperature": 0, "seed": c.opts.Seed,
	})
	if err != nil {
		return nil, fmt.Errorf("openai loglikelihood: encoding the request: %v", err)
	}
	var out *lm.LoglikelihoodResponse
	err = c.do(ctx, &call{op: "loglikelihood", method: http.MethodPost, path: "/completions", body: body, handle: func(resp *http.Response, sent time.Time) error {
		b, err := c.readBody(resp.Body)
		if err != nil {
			return err
		}
		comp, err := parseCompletion(b)
		if err != nil {
			return bodyError(err, b)
		}
		out, err = scoreContinuation(comp, req.Context, req.Continuation, req.TokenLogprobs)
		if err != nil {
			return err
		}
		out.Timing.Total = time.Since(sent)
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const noPromptLogprobs = "the server does not return prompt log-probabilities (echo=true, logprobs=1, max_tokens=0)"

// scoreContinuation reads the continuation's log-probabilities from an
// echoed completion of context+cont.
func scoreContinuation(comp *completion, context, cont string, perToken bool) (*lm.LoglikelihoodResponse, error) {
	prompt := context + cont
	if !strings.HasPrefix(comp.Text, prompt) {
		return nil, fmt.Errorf("the response text does not start with the prompt: %s (text %q)", noPromptLogprobs, snippet([]byte(comp.Text), 60))
	}
	lp := comp.Logprobs
	switch {
	case lp == nil:
		return nil, fmt.Errorf("the choice has no logprobs: %s", noPromptLogprobs)
	case !lp.hasTokenLogprobs:
		return nil, fmt.Errorf("the choice has no logprobs.token_logprobs: %s", noPromptLogprobs)
	case !lp.hasTextOffset:
		return nil, fmt.Errorf("the choice has no logprobs.text_offset: %s", noPromptLogprobs)
	case len(lp.TextOffset) != len(lp.TokenLogprobs):
		return nil, fmt.Errorf("logprobs.text_offset has %d entries, token_logprobs %d", len(lp.TextOffset), len(lp.TokenLogprobs))
	}
	promptRunes := utf8.RuneCountInString(prompt)
	n := 0
	if comp.Usage != nil && comp.Usage.PromptTokens > 0 {
		n = comp.Usage.PromptTokens
		if n > len(lp.TokenLogprobs) {
			return nil, fmt.Errorf("%d token log-probabilities for %d prompt tokens: %s", len(lp.TokenLogprobs), n, noPromptLogprobs)
		}
	} else {
		for n < len(lp.TextOffset) && lp.TextOffset[n] < promptRunes {
			n++
		}
	}
	boundary := utf8.RuneCountInString(context)
	if n > 1 && len(lp.Tokens) >= n && lp.Tokens[0] != "" && !strings.HasPrefix(prompt, lp.Tokens[0]) {
		// A server that counts the text of a leading special token (BOS
		// shown as "<s>") in the offsets shifts them all by its length.
		first := utf8.RuneCountInString(lp.Tokens[0])
		if lp.TextOffset[n-1]+utf8.RuneCountInString(lp.Tokens[n-1])-promptRunes == first {
			boundary += first
			promptRunes += first
		}
	}
	k := -1
	for i := 0; i < n; i++ {
		end := promptRunes
		if i+1 < n {
			end = lp.TextOffset[i+1]
		}
		if end > boundary {
			k = i
			break
		}
	}
	if k < 0 {
		return nil, fmt.Errorf("no prompt token covers the continuation (%d prompt tokens, continuation from code point %d of %d)", n, boundary, promptRunes)
	}
	out := &lm.LoglikelihoodResponse{ContextTokens: k, Tokens: n - k, Greedy: true}
	for i := k; i < n; i++ {
		p := lp.TokenLogprobs[i]
		if p == nil {
			if i == 0 {
				return nil, errors.New("token_logprobs[0] is null: the continuation starts at the first token, which has nothing before it (give a context, or a server that adds BOS)")
			}
			return nil, fmt.Errorf("token_logprobs[%d] is null inside the continuation", i)
		}
		out.Logprob += *p
		if perToken {
			out.TokenLogprobs = append(out.TokenLogprobs, *p)
		}
		if !isArgmax(*p, lp, i) {
			out.Greedy = false
		}
	}
	return out, nil
}

// isArgmax says whether logprob p of token i is the largest of its
// top_logprobs (within rounding). Without top_logprobs it says false: the
// server gave no evidence.
func isArgmax(p float64, lp *logprobs, i int) bool {
	if i >= len(lp.TopLogprobs) || len(lp.TopLogprobs[i]) == 0 {
		return false
	}
	best := math.Inf(-1)
	for _, v := range lp.TopLogprobs[i] {
		if v != nil && *v > best {
			best = *v
		}
	}
	return p >= best-1e-6-1e-6*math.Abs(best)
}

// Tokenize implements lm.Model with the local tokenizer (special tokens
// added as configured by bos) or the server's /tokenize endpoint.
func (c *Client) Tokenize(ctx context.Context, prompt string) ([]int, error) {
	if c.tok != nil {
		ids := make([]int, 0, len(prompt)/3+len(c.prefix)+len(c.suffix))
		ids = append(ids, c.prefix...)
		ids = append(ids, c.tok.Encode(prompt)...)
		return append(ids, c.suffix...), nil
	}
	if c.opts.Tokenizer != "server" {
		return nil, errors.New("openai tokenize: no tokenizer configured: set tokenizer to server or to the path of a tokenizer.json")
	}
	return c.serverTokenize(ctx, prompt)
}

// Backend registration.

// Specs returns the parameters of the "openai" backend.
func Specs() []params.Spec {
	return []params.Spec{
		params.StringSpec("url", "", "base URL of the API, e.g. http://host:8000/v1; several, comma-separated, take requests in turn"),
		params.StringSpec("model", "", "model name sent with requests; empty: the first one listed by GET {url}/models"),
		params.StringSpec("api", "completions", "completions (the prompt as raw text) or chat (the prompt as one user message, templated by the server)", "completions", "chat"),
		params.StringSpec("api_key_env", "", "name of the environment variable holding the API key (sent as Authorization: Bearer; the key is never recorded)"),
		params.BoolSpec("stream", true, "stream responses (server-sent events) to time the first token (prefill) and each later chunk (decode)"),
		params.IntSpec("concurrency", 8, "most requests in flight at once").Range(1, 4096),
		params.IntSpec("retries", 3, "retries after the first attempt, on 408, 429, 5xx, connection errors, timeouts and truncated streams").Range(0, 1000),
		params.StringSpec("retry_base_wait", "500ms", "bound of the first backoff wait, doubling per retry (full jitter); a Retry-After header replaces it"),
		params.StringSpec("retry_max_wait", "30s", "largest bound of a backoff wait"),
		params.StringSpec("retry_total", "5m", "no retry starts later than this after the first attempt; 0: no time bound"),
		params.StringSpec("timeout", "10m", "limit of one attempt, from sending the request to the end of the response; 0: none"),
		params.StringSpec("extra_body", "", `JSON object merged into every request body, e.g. {"top_k": 1} or server-specific attention settings`),
		params.StringSpec("tokenizer", "server", "what Tokenize uses: server (its /tokenize endpoint), the path of a local tokenizer.json, or none"),
		params.StringSpec("bos", "auto", "special tokens a local tokenizer adds: auto (from the tokenizer.json post-processor), none, or a token put before the text, e.g. <s>"),
		params.IntSpec("seed", 0, "seed sent with every request"),
		params.IntSpec("max_response_bytes", 256<<20, "largest response body or stream read").Range(1<<10, 1<<40),
	}
}

// OptionsFromParams converts a resolved parameter set to Options, reading
// the API key from the environment variable named by api_key_env.
func OptionsFromParams(p params.Set) (Options, error) {
	o := Options{
		Model: p.String("model"), API: p.String("api"), Stream: p.Bool("stream"),
		Concurrency: p.Int("concurrency"), Retries: p.Int("retries"),
		ExtraBody: p.String("extra_body"), Tokenizer: p.String("tokenizer"), BOS: p.String("bos"),
		Seed: int64(p.Int("seed")), MaxResponseBytes: int64(p.Int("max_response_bytes")),
	}
	bad := func(name string, reason string) error {
		return &params.Error{Name: name, Value: p[name], Reason: reason}
	}
	for _, u := range strings.Split(p.String("url"), ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.URLs = append(o.URLs, u)
		}
	}
	if len(o.URLs) == 0 {
		return o, &params.Error{Name: "url", Reason: "required: the base URL of an OpenAI-compatible API, e.g. http://host:8000/v1 (several, comma-separated)"}
	}
	for _, u := range o.URLs {
		if _, err := newEndpoint(u); err != nil {
			return o, &params.Error{Name: "url", Value: redactRawURL(u), Reason: err.Error() + "; accepted: http(s)://host[:port][/path], comma-separated"}
		}
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
	}{{"retry_base_wait", &o.RetryBaseWait}, {"retry_max_wait", &o.RetryMaxWait}, {"retry_total", &o.RetryTotal}, {"timeout", &o.Timeout}} {
		v, err := parseDuration(p.String(d.name))
		if err != nil {
			return o, bad(d.name, err.Error()+"; accepted: a duration such as 500ms, 30s, 10m, or seconds")
		}
		*d.dst = v
	}
	if _, err := parseExtraBody(o.ExtraBody); err != nil {
		return o, bad("extra_body", err.Error())
	}
	if name := p.String("api_key_env"); name != "" {
		key, ok := os.LookupEnv(name)
		if !ok || key == "" {
			return o, &params.Error{Name: "api_key_env", Value: name, Reason: "the environment variable is not set or empty"}
		}
		o.APIKey = key
	}
	switch o.Tokenizer {
	case "server", "none", "":
		if o.BOS != "auto" {
			return o, bad("bos", "applies to a local tokenizer only; accepted with tokenizer "+strconv.Quote(o.Tokenizer)+": auto")
		}
	default:
		if o.API == "chat" {
			return o, bad("tokenizer", "a local tokenizer cannot apply the server's chat template; accepted with api chat: server or none")
		}
		if _, _, _, err := loadTokenizer(o.Tokenizer, o.BOS); err != nil {
			return o, bad("tokenizer", err.Error())
		}
	}
	return o, nil
}

// parseDuration reads a Go duration, or a plain number of seconds.
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		if f < 0 || f > 1e9 || math.IsNaN(f) {
			return 0, errors.New("out of range")
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("not a duration")
	}
	if d < 0 {
		return 0, errors.New("negative")
	}
	return d, nil
}

func init() {
	backends.Register(backends.Info{
		Name:   "openai",
		Help:   "a model behind OpenAI-compatible servers (vLLM, SGLang, llama.cpp, TGI): greedy generation, loglikelihood through echoed prompt logprobs, tokenize",
		Params: Specs(),
		Check: func(p params.Set) error {
			_, err := OptionsFromParams(p)
			return err
		},
		New: func(cfg backends.Config) (backends.Backend, error) {
			o, err := OptionsFromParams(cfg.Params)
			if err != nil {
				return nil, err
			}
			return New(o)
		},
	})
}
