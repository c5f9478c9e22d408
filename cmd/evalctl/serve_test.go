package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evalctl/evalctl/harness/record"
)

// TestServeSamePredictions runs one suite against the native runtime
// directly and through `evalctl serve` on loopback (the openai backend,
// streaming and not, with the server's tokenizer): every cell gives the same
// prompt length and the same prediction.
func TestServeSamePredictions(t *testing.T) {
	modelDir, _ := filepath.Abs("../../testdata/refmodels/models/qwen2")
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	var serr bytes.Buffer
	e := &env{stdin: bytes.NewReader(nil), stdout: &bytes.Buffer{}, stderr: &serr, ready: func(a net.Addr) { addrc <- a }}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, e, []string{"evalctl", "serve", modelDir, "--addr", "127.0.0.1:0", "--set", "attention=sparse",
			"--set", "topk=4", "--set", "block_size=16", "--set", "kernel_size=16", "--set", "kernel_stride=8", "--set", "local_blocks=1", "--max-concurrent", "2"})
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve exited: %v\n%s", err, serr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	suite := fmt.Sprintf(`name: serve
seed: 3
samples: 2
lengths: [600, 1200]
depths: [0.5]
backends:
  - name: model
    label: native
    params: {path: %q, attention: sparse, topk: 4, block_size: 16, kernel_size: 16, kernel_stride: 8, local_blocks: 1}
  - name: openai
    label: remote
    params: {url: "http://%s/v1", stream: true}
  - name: openai
    label: remote-nostream
    params: {url: "http://%s/v1", stream: false}
tasks:
  - name: needle
    params: {max_tokens: 12, haystack: noise}
  - name: retrieval
    params: {kind: passkey}
`, modelDir, addr, addr)
	dir := t.TempDir()
	path := filepath.Join(dir, "serve.yaml")
	os.WriteFile(path, []byte(suite), 0o644)
	_, errs, code := evalctl(t, "", "run", path, "--out", dir, "--run-id", "r", "--no-report", "--workers", "2")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, errs)
	}
	recs, bad, err := record.ReadRun(filepath.Join(dir, "r"))
	if err != nil || len(bad) > 0 || len(recs) != 24 {
		t.Fatalf("records %d, bad %v, err %v", len(recs), bad, err)
	}
	type id struct {
		task   string
		length int
		sample int
	}
	native := map[id]*record.Record{}
	for _, r := range recs {
		if r.Error != "" {
			t.Fatalf("%s %s %d: %s", r.Backend, r.Task, r.Length, r.Error)
		}
		if r.Backend == "native" {
			native[id{r.Task, r.Length, r.Sample}] = r
		}
	}
	nonEmpty := 0
	for _, r := range recs {
		n := native[id{r.Task, r.Length, r.Sample}]
		if r.Output != n.Output || r.Metrics["prompt_tokens"].Value != n.Metrics["prompt_tokens"].Value {
			t.Errorf("%s %s %d/%d: output %q (%v tokens), native %q (%v tokens)", r.Backend, r.Task, r.Length, r.Sample,
				r.Output, r.Metrics["prompt_tokens"].Value, n.Output, n.Metrics["prompt_tokens"].Value)
		}
		if r.Output != "" {
			nonEmpty++
		}
	}
	if nonEmpty == 0 {
		t.Fatal("every prediction is empty: nothing compared")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
}
