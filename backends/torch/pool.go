package torch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// pool is the set of workers that backends with the same key share.
type pool struct {
	key            string
	spec           *spec
	procs          []*proc
	free           chan *proc
	refs           int
	requestTimeout time.Duration

	mu       sync.Mutex
	startErr error // a start that failed for good (startError)
}

var pools struct {
	sync.Mutex
	m map[string]*pool
}

// acquirePool returns the pool for key, creating it with mk.
func acquirePool(key string, mk func() (*pool, error)) (*pool, error) {
	pools.Lock()
	defer pools.Unlock()
	if pools.m == nil {
		pools.m = map[string]*pool{}
	}
	if p, ok := pools.m[key]; ok {
		p.refs++
		return p, nil
	}
	p, err := mk()
	if err != nil {
		return nil, err
	}
	p.key, p.refs = key, 1
	p.free = make(chan *proc, len(p.procs))
	for _, w := range p.procs {
		p.free <- w
	}
	pools.m[key] = p
	return p, nil
}

// release drops a reference; the last one stops the workers.
func (p *pool) release() {
	pools.Lock()
	p.refs--
	last := p.refs == 0
	if last {
		delete(pools.m, p.key)
	}
	pools.Unlock()
	if !last {
		return
	}
	var wg sync.WaitGroup
	for range p.procs {
		var w *proc
		select {
		case w = <-p.free:
		case <-time.After(30 * time.Second):
			// A request still holds it: its process dies with evalctl
			// (Pdeathsig on Linux).
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); w.stop() }()
	}
	wg.Wait()
}

// do runs fn on a free worker, started (or restarted) if needed, and turns
// what can go wrong with the worker into errors that name it.
func (p *pool) do(ctx context.Context, fn func(ctx context.Context, w *proc) error) error {
	var w *proc
	select {
	case w = <-p.free:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { p.free <- w }()
	if err := p.ready(ctx, w); err != nil {
		return err
	}
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if p.requestTimeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, p.requestTimeout)
	}
	defer cancel()
	err := fn(rctx, w)
	if err == nil {
		return nil
	}
	var we *workerError
	if errors.As(err, &we) {
		return err // the worker answered: it is fine
	}
	if w.cmd != nil && rctx.Err() == nil {
		// A broken connection usually means the process died: give its
		// exit a moment to be reaped so the error can name it.
		select {
		case <-w.exited:
		case <-time.After(2 * time.Second):
		}
	}
	if w.cmd != nil && !w.alive() {
		e := w.exitError("exited during the request")
		w.broken = e
		return e
	}
	if rctx.Err() != nil {
		p.abort(w)
		if ctx.Err() == nil {
			return fmt.Errorf("%s: no answer within request_timeout %v", w.name(), p.requestTimeout)
		}
		return fmt.Errorf("%s: %w", w.name(), ctx.Err())
	}
	// A transport failure with the process alive (or a URL worker): the
	// worker cannot be trusted any more.
	if w.cmd != nil {
		w.kill()
		e := w.exitError("broke the connection (" + err.Error() + ")")
		w.broken = e
		return e
	}
	w.broken = fmt.Errorf("%s: %v", w.name(), err)
	return w.broken
}

// ready starts a spawned worker that is not running, restarts a broken
// one, and checks a URL worker once.
func (p *pool) ready(ctx context.Context, w *proc) error {
	if w.device == "" {
		if w.broken != nil {
			return w.broken
		}
		if !w.started {
			if err := w.checkURL(ctx); err != nil {
				return err
			}
			w.started = true
		}
		return nil
	}
	p.mu.Lock()
	se := p.startErr
	p.mu.Unlock()
	if se != nil {
		return se
	}
	if w.started && w.broken == nil && w.alive() {
		return nil
	}
	if w.started {
		w.kill()
	}
	w.broken = nil
	err := w.start(ctx)
	var ste *startError
	if errors.As(err, &ste) {
		p.mu.Lock()
		p.startErr = err
		p.mu.Unlock()
	}
	return err
}

// abort cancels the worker's running request; a worker still busy after a
// grace period is killed (spawned: started again by the next request) or
// given up (URL).
func (p *pool) abort(w *proc) {
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Post(w.endpointURL("/cancel"), "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := c.Get(w.endpointURL("/health"))
		if err == nil {
			var h Health
			derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h)
			resp.Body.Close()
			if derr == nil && !h.Busy {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w.cmd != nil {
		w.kill()
		w.broken = fmt.Errorf("%s was killed: still busy 10s after a cancel", w.name())
		return
	}
	w.broken = fmt.Errorf("%s is still busy 10s after a cancel; restart it", w.name())
}

// workerError is an error answer of a worker (it is alive and well).
type workerError struct {
	worker string
	status int
	msg    string
}

func (e *workerError) Error() string { return fmt.Sprintf("%s: %s", e.worker, e.msg) }

func readError(w *proc, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var m struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &m) == nil && m.Error != "" {
		msg = m.Error
	}
	return &workerError{worker: w.name(), status: resp.StatusCode, msg: fmt.Sprintf("%s (HTTP %d)", msg, resp.StatusCode)}
}

// post sends a body and returns the response when its status is 200.
func post(ctx context.Context, w *proc, endpoint, ctype string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", w.endpointURL(endpoint), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, readError(w, resp)
	}
	return resp, nil
}

// postJSON sends v and decodes the answer into out.
func postJSON(ctx context.Context, w *proc, endpoint string, v, out any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	resp, err := post(ctx, w, endpoint, "application/json", b)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return &workerError{worker: w.name(), status: 200, msg: "bad answer: " + err.Error()}
	}
	return nil
}
