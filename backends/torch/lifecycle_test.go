package torch

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/datasets/safetensors"
)

func llamaDir() string { return filepath.Join(refDir, "llama") }

// longPrompt is a prompt of a few hundred tokens for the reference models.
var longPrompt = strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)

func pid(b *ModelBackend, i int) int {
	w := b.pool.procs[i]
	if w.cmd == nil || w.cmd.Process == nil {
		return 0
	}
	return w.cmd.Process.Pid
}

// A worker that crashes mid-request makes that request an error naming it
// (exit status, stderr log), and the next request starts a fresh one.
func TestWorkerCrashRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := newBackend(t, "torch", cpu(t, map[string]any{"path": llamaDir()})).(*ModelBackend)
	ctx := context.Background()
	if _, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	first := pid(b, 0)
	errc := make(chan error, 1)
	go func() {
		_, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: longPrompt, MaxTokens: 100000})
		errc <- err
	}()
	time.Sleep(1500 * time.Millisecond)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "torch worker cpu exited during the request") || !strings.Contains(err.Error(), "killed") {
			t.Fatalf("error %v, want the worker's exit named", err)
		}
		t.Logf("crash: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the request did not end after its worker was killed")
	}
	r, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2})
	if err != nil {
		t.Fatalf("after the crash: %v", err)
	}
	if p := pid(b, 0); p == first || p == 0 {
		t.Fatalf("worker pid %d after the crash, was %d: not restarted", p, first)
	}
	t.Logf("restarted: %q", r.Text)
}

// A request past request_timeout is cancelled in the worker (which stays
// up, so the next request needs no reload) and becomes an error.
func TestRequestTimeoutCancels(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	b := newBackend(t, "torch", cpu(t, map[string]any{"path": llamaDir(), "request_timeout": 2})).(*ModelBackend)
	ctx := context.Background()
	if _, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2}); err != nil {
		t.Fatal(err)
	}
	first := pid(b, 0)
	start := time.Now()
	_, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: longPrompt, MaxTokens: 100000})
	if err == nil || !strings.Contains(err.Error(), "request_timeout") {
		t.Fatalf("error %v, want a request_timeout error", err)
	}
	if el := time.Since(start); el > 30*time.Second {
		t.Errorf("the timed-out request took %v", el)
	}
	if _, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2}); err != nil {
		t.Fatalf("after the timeout: %v", err)
	}
	if p := pid(b, 0); p != first {
		t.Errorf("worker pid %d, was %d: the cancelled worker should have stayed", p, first)
	}
	// A cell's own deadline acts the same way.
	cctx, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
	defer cancel()
	if _, err := b.Generate(cctx, &lm.GenerateRequest{Prompt: longPrompt, MaxTokens: 100000}); err == nil {
		t.Fatal("no error past the context deadline")
	}
	if _, err := b.Generate(ctx, &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2}); err != nil {
		t.Fatalf("after the deadline: %v", err)
	}
}

// A worker that cannot load its model fails with the worker's own message
// (naming the tensor), and every later request gets that error at once
// instead of another start.
func TestStartErrorIsFinal(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	python(t)
	dir := t.TempDir()
	for _, f := range []string{"config.json", "generation_config.json", "tokenizer.json"} {
		data, err := os.ReadFile(filepath.Join(llamaDir(), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src, err := safetensors.Open(filepath.Join(llamaDir(), "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var ts []safetensors.Tensor
	for _, n := range src.Names() {
		v, shape, err := src.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, safetensors.F32Tensor(n, shape, v))
	}
	src.Close()
	ts = append(ts, safetensors.F32Tensor("model.layers.0.mlp.extra.weight", []int{2}, []float32{1, 2}))
	if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), ts, nil); err != nil {
		t.Fatal(err)
	}
	b := newBackend(t, "torch", cpu(t, map[string]any{"path": dir})).(*ModelBackend)
	_, err = b.Generate(context.Background(), &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2})
	if err == nil || !strings.Contains(err.Error(), "tensors not used by the configured architecture: model.layers.0.mlp.extra.weight") {
		t.Fatalf("error %v", err)
	}
	start := time.Now()
	_, err2 := b.Generate(context.Background(), &lm.GenerateRequest{Prompt: "hello", MaxTokens: 2})
	if err2 == nil || err2.Error() != err.Error() {
		t.Fatalf("second error %v, want the first", err2)
	}
	if time.Since(start) > time.Second {
		t.Errorf("the second request took %v: it started the worker again", time.Since(start))
	}
}

// startByHand runs `python -m evalctl_torch serve` as evalctl torch-worker
// does and returns its URL.
func startByHand(t *testing.T, model string) string {
	t.Helper()
	dir, err := WorkerDir()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(python(t), "-m", "evalctl_torch", "serve", "--device", "cpu", "--port", "0", "--path", model, "--threads", "1")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+dir, "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatal("no readiness line")
	}
	var h Health
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Port == 0 {
		t.Fatalf("readiness line %q: %v", sc.Text(), err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d", h.Port)
}

// A worker started by hand and named by URL serves the backend like a
// spawned one; one serving another model is refused.
func TestURLWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	url := startByHand(t, llamaDir())
	ctx := context.Background()
	req := &lm.GenerateRequest{Prompt: longPrompt, MaxTokens: 5}
	byURL := newBackend(t, "torch", cpu(t, map[string]any{"path": llamaDir(), "url": url})).(*ModelBackend)
	spawned := newBackend(t, "torch", cpu(t, map[string]any{"path": llamaDir()})).(*ModelBackend)
	a, err := byURL.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := spawned.Generate(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if a.Text != b.Text || a.OutputTokens != b.OutputTokens {
		t.Fatalf("by URL %q, spawned %q", a.Text, b.Text)
	}
	other := newBackend(t, "torch", cpu(t, map[string]any{"path": filepath.Join(refDir, "qwen2"), "url": url})).(*ModelBackend)
	if _, err := other.Generate(ctx, req); err == nil || !strings.Contains(err.Error(), "config.json differs") {
		t.Fatalf("error %v, want a model mismatch", err)
	}
}

// Several workers take requests in parallel; backends of the same model
// share them.
func TestParallelWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	p := cpu(t, map[string]any{"path": llamaDir(), "devices": "cpu,cpu", "threads": 1})
	b := newBackend(t, "torch", p).(*ModelBackend)
	q := map[string]any{"attention": "sparse", "block_size": 16, "topk": 4, "local_blocks": 1}
	for k, v := range p {
		q[k] = v
	}
	s := newBackend(t, "torch", q).(*ModelBackend)
	if b.pool != s.pool || len(b.pool.procs) != 2 {
		t.Fatalf("pools %p %p with %d workers: want one shared pool of 2", b.pool, s.pool, len(b.pool.procs))
	}
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			m := lm.Model(b)
			if i%2 == 1 {
				m = s
			}
			_, errs[i] = m.Loglikelihood(context.Background(), &lm.LoglikelihoodRequest{Context: longPrompt, Continuation: " the end"})
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if pid(b, 0) == 0 || pid(b, 1) == 0 || pid(b, 0) == pid(b, 1) {
		t.Fatalf("worker pids %d, %d: want two running workers", pid(b, 0), pid(b, 1))
	}
}
