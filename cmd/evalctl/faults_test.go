package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
	"github.com/evalctl/evalctl/backends/model"
	"github.com/evalctl/evalctl/backends/openai/server"
	"github.com/evalctl/evalctl/harness/record"
)

// TestRemoteFaultsAndResume runs a suite against a real model server on
// loopback that injects faults (500s, 429 with Retry-After, resets, a slow
// first byte past the timeout, malformed JSON) in a fixed rotation. The run
// stops after a few cells (--limit) and is resumed: every cell ends recorded
// exactly once, as a success (retried) or an error record, within bounded
// time, and the successes equal the fault-free predictions.
func TestRemoteFaultsAndResume(t *testing.T) {
	dir, _ := filepath.Abs("../../testdata/refmodels/models/qwen2")
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng := &model.Engine{M: m, Mode: mustDense(t)}
	srv := server.New(eng, server.Options{Tokenizer: m.Tok, MaxConcurrent: 2})
	var n atomic.Int64
	faulty := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/completions" {
			srv.ServeHTTP(w, r)
			return
		}
		switch n.Add(1) % 7 {
		case 1:
			http.Error(w, `{"error":{"message":"boom"}}`, http.StatusInternalServerError)
		case 2:
			w.Header().Set("Retry-After", "0")
			http.Error(w, `{"error":{"message":"slow down"}}`, http.StatusTooManyRequests)
		case 3:
			if hj, ok := w.(http.Hijacker); ok {
				c, _, _ := hj.Hijack()
				c.(*net.TCPConn).SetLinger(0)
				c.Close() // connection reset
				return
			}
		case 4:
			time.Sleep(1500 * time.Millisecond) // past the 1s timeout
			srv.ServeHTTP(w, r)
		case 5:
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"choices": [{"text": `)) // malformed JSON
		default:
			srv.ServeHTTP(w, r)
		}
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: faulty}
	go hs.Serve(l)
	defer hs.Close()

	suite := fmt.Sprintf(`name: faults
seed: 5
samples: 2
lengths: [500, 900]
depths: [0.5]
backends:
  - name: model
    label: native
    params: {path: %q}
  - name: openai
    label: remote
    params: {url: "http://%s/v1", stream: false, retries: 6, retry_base_wait: 10ms, retry_max_wait: 50ms, timeout: 1s, tokenizer: %q}
tasks:
  - name: needle
    params: {max_tokens: 8, haystack: noise}
  - name: retrieval
    params: {kind: passkey}
`, dir, l.Addr(), filepath.Join(dir, "tokenizer.json"))
	out := t.TempDir()
	path := filepath.Join(out, "s.yaml")
	os.WriteFile(path, []byte(suite), 0o644)
	start := time.Now()
	// First session: interrupted (as by Ctrl-C) once a few cells are done.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for ctx.Err() == nil {
			if recs, _, _ := record.ReadRun(filepath.Join(out, "r")); len(recs) >= 5 {
				cancel()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var errb bytes.Buffer
	err = run(ctx, &env{stdin: bytes.NewReader(nil), stdout: &bytes.Buffer{}, stderr: &errb},
		[]string{"evalctl", "run", path, "--out", out, "--run-id", "r", "--no-report", "--workers", "2", "--flush-interval", "10ms"})
	cancel()
	if code := exitCode(err); code != 130 && code != 0 {
		t.Fatalf("first part: exit %d %v\n%s", code, err, errb.String())
	}
	first, _, _ := record.ReadRun(filepath.Join(out, "r"))
	t.Logf("first session: %d records (%v)", len(first), err)
	if _, errs, code := evalctl(t, "", "run", "--resume", filepath.Join(out, "r"), "--no-report", "--workers", "2"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, errs)
	}
	if d := time.Since(start); d > 2*time.Minute {
		t.Fatalf("took %v", d)
	}
	recs, bad, err := record.ReadRun(filepath.Join(out, "r"))
	if err != nil || len(bad) > 0 {
		t.Fatalf("read: %v %v", bad, err)
	}
	seen := map[string]int{}
	native := map[string]string{}
	for _, r := range recs {
		seen[r.Key]++
		if r.Backend == "native" {
			native[fmt.Sprint(r.Task, r.Length, r.Sample)] = r.Output
		}
	}
	if len(recs) != 16 || len(seen) != 16 {
		t.Fatalf("%d records, %d distinct cells; want 16 each", len(recs), len(seen))
	}
	ok := 0
	for _, r := range recs {
		if r.Backend != "remote" {
			continue
		}
		if r.Error != "" {
			t.Logf("error record (allowed): %s", r.Error)
			continue
		}
		ok++
		if want := native[fmt.Sprint(r.Task, r.Length, r.Sample)]; r.Output != want {
			t.Errorf("%s %d/%d: remote %q, native %q", r.Task, r.Length, r.Sample, r.Output, want)
		}
	}
	if ok == 0 {
		t.Fatal("no remote cell succeeded through the faults")
	}
	if n.Load() < 10 {
		t.Fatalf("only %d completion requests: faults not exercised", n.Load())
	}
}

func mustDense(t *testing.T) attention.Mode {
	m, err := flash.NewDense(64, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
