package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

// TestDatasetsExport exports a small suite twice (JSONL and zstd): the same
// bytes, one sample per (task, length, depth, sample) whatever the number
// of backends, prompt token counts equal to a fresh tokenization with BOS
// and within the length, references present.
func TestDatasetsExport(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.yaml")
	os.WriteFile(suite, []byte(`name: x
seed: 1000
samples: 2
lengths: [600, 1200]
depths: [0.3]
backends: [dense, sparse]
tasks:
  - name: needle
    params: {max_tokens: 16}
  - name: retrieval
    params: {kind: passkey}
`), 0o644)
	tokPath := "../../testdata/refmodels/tokenizers/bytelevel-gpt2/tokenizer.json"
	plain, zst := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl.zst")
	for _, out := range []string{plain, zst} {
		if _, errs, code := evalctl(t, "", "datasets", "export", suite, "--tokenizer", tokPath, "--bos", "1", "--out", out); code != 0 {
			t.Fatalf("export %s: exit %d\n%s", out, code, errs)
		}
	}
	a, _ := os.ReadFile(plain)
	f, err := os.Open(zst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var b []byte
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		b = append(append(b, sc.Bytes()...), '\n')
	}
	if string(a) != string(b) {
		t.Fatal("JSONL and zstd exports differ")
	}
	tk, err := tokenizer.Load(tokPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc = bufio.NewScanner(bytes.NewReader(a))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r exportRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		n++
		if r.Kind != "generate" || r.Prompt == "" || len(r.References) == 0 {
			t.Fatalf("record %d: %+v", n, r)
		}
		if want := 1 + len(tk.Encode(r.Prompt)); r.PromptTokens != want || r.PromptTokens+r.MaxTokens > r.Length {
			t.Fatalf("record %d: prompt_tokens %d, fresh count %d, max_tokens %d, length %d", n, r.PromptTokens, want, r.MaxTokens, r.Length)
		}
	}
	if n != 2*2*2 {
		t.Fatalf("%d records, want 8 (2 tasks x 2 lengths x 2 samples, once whatever the backends)", n)
	}
}
