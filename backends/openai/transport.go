package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Error is a request that failed: not retryable, or still failing after the
// retries. It names the endpoint (without credentials or query), the HTTP
// status and the start of the response body when there was one, and never
// holds the API key.
type Error struct {
	Op       string // generate, loglikelihood, tokenize or models
	Method   string
	URL      string // scheme, host and path only
	Status   int    // HTTP status; 0 when no response came
	Body     string // start of the response body, printable
	Attempts int
	Err      error  // the cause (network error, parse error, context error)
	note     string // why retrying stopped
	secret   string
}

func (e *Error) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "openai %s: %s %s", e.Op, e.Method, e.URL)
	if e.Status != 0 {
		fmt.Fprintf(&sb, ": HTTP %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Err != nil {
		sb.WriteString(": ")
		sb.WriteString(e.Err.Error())
	}
	if e.Body != "" {
		sb.WriteString("; body: ")
		sb.WriteString(e.Body)
	}
	if e.note != "" {
		sb.WriteString("; ")
		sb.WriteString(e.note)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&sb, " (%d attempts)", e.Attempts)
	}
	return redactSecret(sb.String(), e.secret)
}

// Unwrap returns the cause, so that errors.Is(err, context.Canceled) works.
func (e *Error) Unwrap() error { return e.Err }

func redactSecret(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[redacted]")
}

// statusError is a non-2xx response.
type statusError struct {
	status     int
	body       string
	retryAfter time.Duration // from the Retry-After header; -1 when absent
}

func (e *statusError) Error() string { return "HTTP " + strconv.Itoa(e.status) }

// transientError marks a failure worth retrying (a broken connection, a
// truncated stream, an attempt timeout).
type transientError struct{ err error }

func (e *transientError) Error() string { return e.err.Error() }
func (e *transientError) Unwrap() error { return e.err }

func transient(format string, args ...any) error {
	return &transientError{fmt.Errorf(format, args...)}
}

// errAttemptTimeout is the cause of an attempt's context when its timeout
// fires, telling it apart from the caller's deadline.
var errAttemptTimeout = errors.New("attempt timeout")

// retryable says whether err is worth another attempt: 408, 429 and 5xx
// responses, connection failures, truncated responses and attempt timeouts.
// Any other 4xx, a malformed response or a missing field is not.
func retryable(err error) bool {
	var se *statusError
	if errors.As(err, &se) {
		return se.status == http.StatusRequestTimeout || se.status == http.StatusTooManyRequests || se.status >= 500
	}
	var te *transientError
	return errors.As(err, &te)
}

// endpoint is one base URL of the server.
type endpoint struct {
	base  *url.URL // as configured, e.g. http://host:8000/v1
	root  *url.URL // base without a trailing /v1: where /tokenize lives
	label string   // base without credentials or query, for errors
}

func newEndpoint(raw string) (*endpoint, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("no host")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	u.Fragment = ""
	root := *u
	root.Path = strings.TrimSuffix(u.Path, "/v1")
	return &endpoint{base: u, root: &root, label: redactURL(u)}, nil
}

// url returns base+path (fromRoot: root+path), with the base's query kept.
func (e *endpoint) url(path string, fromRoot bool) (full, label string) {
	b := e.base
	if fromRoot {
		b = e.root
	}
	u := *b
	u.Path = b.Path + path
	return u.String(), redactURL(&u)
}

// redactURL keeps the scheme, host and path: user info and query (where
// keys sometimes travel) are dropped.
func redactURL(u *url.URL) string {
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return c.String()
}

// call is one logical request: endpoint path, method, body, and what to do
// with a 2xx response.
type call struct {
	op       string
	method   string
	path     string
	fromRoot bool
	body     []byte
	// handle reads a 2xx response; sent is when the request was sent.
	// Read errors it returns must be transient to be retried.
	handle func(resp *http.Response, sent time.Time) error
	// passStatus, if set, picks statuses returned at once, without retry
	// (the tokenize endpoint's detection of what a server supports).
	passStatus func(status int) bool
}

// do runs c with retries and returns nil or an *Error.
func (cl *Client) do(ctx context.Context, c *call) error {
	start := time.Now()
	for attempt := 1; ; attempt++ {
		ep := cl.pick()
		full, label := ep.url(c.path, c.fromRoot)
		err := cl.attempt(ctx, c, full)
		if err == nil {
			return nil
		}
		fail := func(cause error, note string) error {
			e := &Error{Op: c.op, Method: c.method, URL: label, Attempts: attempt, Err: cause, note: note, secret: cl.key}
			var se *statusError
			if errors.As(cause, &se) {
				e.Status, e.Body, e.Err = se.status, se.body, nil
			}
			return e
		}
		if ctx.Err() != nil {
			return fail(ctx.Err(), "")
		}
		var se *statusError
		if c.passStatus != nil && errors.As(err, &se) && c.passStatus(se.status) {
			return fail(err, "")
		}
		if !retryable(err) {
			return fail(err, "")
		}
		if attempt > cl.opts.Retries {
			note := ""
			if cl.opts.Retries > 0 {
				note = fmt.Sprintf("gave up after %d retries", cl.opts.Retries)
			}
			return fail(err, note)
		}
		wait := cl.backoff(attempt)
		if errors.As(err, &se) && se.retryAfter >= 0 {
			wait = se.retryAfter
		}
		if cl.opts.RetryTotal > 0 && time.Since(start)+wait > cl.opts.RetryTotal {
			return fail(err, fmt.Sprintf("gave up: the next attempt (in %s) would start past the retry time bound %s", wait.Round(time.Millisecond), cl.opts.RetryTotal))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fail(ctx.Err(), "")
		case <-t.C:
		}
	}
}

// backoff is the full-jitter exponential wait before retry number n (1..):
// uniform in [0, min(max, base*2^(n-1))].
func (cl *Client) backoff(n int) time.Duration {
	d := cl.opts.RetryBaseWait
	for i := 1; i < n && d < cl.opts.RetryMaxWait; i++ {
		d *= 2
	}
	d = min(d, cl.opts.RetryMaxWait)
	if d <= 0 {
		return 0
	}
	return rand.N(d + 1)
}

// pick returns the next endpoint in round-robin order.
func (cl *Client) pick() *endpoint {
	i := cl.next.Add(1) - 1
	return cl.endpoints[i%uint64(len(cl.endpoints))]
}

// attempt sends one request within the concurrency limit and the attempt
// timeout.
func (cl *Client) attempt(ctx context.Context, c *call, full string) error {
	select {
	case cl.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-cl.sem }()
	// stop ends the attempt early (bounded draining); the timeout sits
	// below it so that its cause tells a timeout apart.
	actx, stop := context.WithCancel(ctx)
	defer stop()
	if cl.opts.Timeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(actx, cl.opts.Timeout, errAttemptTimeout)
		defer cancel()
	}
	var body io.Reader
	if c.body != nil {
		body = bytes.NewReader(c.body)
	}
	req, err := http.NewRequestWithContext(actx, c.method, full, body)
	if err != nil {
		return err
	}
	if c.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	if cl.key != "" {
		req.Header.Set("Authorization", "Bearer "+cl.key)
	}
	sent := time.Now()
	resp, err := cl.hc.Do(req)
	if err != nil {
		return cl.transportError(ctx, actx, err)
	}
	drain := false
	defer func() {
		if drain {
			// Read what is left (the end of a chunked body) so that the
			// connection can be reused, but never wait long for it.
			t := time.AfterFunc(50*time.Millisecond, stop)
			io.CopyN(io.Discard, resp.Body, 4<<10)
			t.Stop()
		}
		resp.Body.Close()
	}()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		t := time.AfterFunc(2*time.Second, stop) // a body that never comes is not waited for
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2<<10))
		t.Stop()
		return &statusError{status: resp.StatusCode, body: snippet(b, 300), retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	err = c.handle(resp, sent)
	if err != nil && ctx.Err() == nil && context.Cause(actx) == errAttemptTimeout {
		return transient("no complete response within the timeout %s", cl.opts.Timeout)
	}
	drain = err == nil
	return err
}

// transportError classifies an error of http.Client.Do: the caller's
// context ending is returned as is; anything else (refused, reset, attempt
// timeout) is transient. The *url.Error wrapper is dropped: it repeats the
// URL with its query.
func (cl *Client) transportError(ctx, actx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if context.Cause(actx) == errAttemptTimeout {
		return transient("no response within the timeout %s", cl.opts.Timeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transientError{err}
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date.
// It returns -1 when the header is absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return -1
		}
		if n > 1<<31 {
			n = 1 << 31
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return -1
}

// readBody reads a whole response body up to the limit. Read failures are
// transient; a body over the limit is not.
func (cl *Client) readBody(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, cl.opts.MaxResponseBytes+1))
	if err != nil {
		return nil, transient("reading the response: %v (after %d bytes)", err, len(b))
	}
	if int64(len(b)) > cl.opts.MaxResponseBytes {
		return nil, fmt.Errorf("response larger than max_response_bytes (%d)", cl.opts.MaxResponseBytes)
	}
	return b, nil
}

// bodyError wraps a parse error with the start of the body it came from.
func bodyError(err error, body []byte) error {
	return fmt.Errorf("%w; body: %s", err, snippet(body, 200))
}
