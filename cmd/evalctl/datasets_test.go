package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/harness"
)

// tokPath is the tokenizer the export tests fit their samples with.
const tokPath = "../../testdata/refmodels/tokenizers/bytelevel-gpt2/tokenizer.json"

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

// TestDatasetsExportInterrupted interrupts an export once it has written
// some samples: OUT is not created (a file at OUT is always a whole
// export), OUT.partial holds only complete samples, as many as the message
// says, and they are the beginning of what an uninterrupted export writes.
func TestDatasetsExportInterrupted(t *testing.T) {
	dir := t.TempDir()
	suite := filepath.Join(dir, "s.yaml")
	os.WriteFile(suite, []byte(`name: x
seed: 1001
samples: 1000
lengths: [1200]
depths: [0.3]
backends: [dense]
tasks:
  - name: needle
    params: {max_tokens: 16}
`), 0o644)
	out := filepath.Join(dir, "a.jsonl")
	partial := out + ".partial"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errb}
	res := make(chan error, 1)
	go func() {
		res <- run(ctx, e, []string{"evalctl", "datasets", "export", suite, "--tokenizer", tokPath, "--out", out, "--workers", "1"})
	}()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Millisecond) {
		if st, err := os.Stat(partial); err == nil && st.Size() > 0 {
			break
		}
		select {
		case err := <-res:
			t.Fatalf("export ended before it could be interrupted: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no output after a minute")
		}
	}
	cancel()
	if err := <-res; !errors.Is(err, harness.ErrInterrupted) {
		t.Fatalf("interrupted export returned %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("%s exists after an interrupted export (%v)", out, err)
	}
	got, err := os.ReadFile(partial)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != '\n' {
		t.Fatalf("%s does not end with a complete line (%d bytes)", partial, len(got))
	}
	n := bytes.Count(got, []byte("\n"))
	for i, line := range bytes.Split(got[:len(got)-1], []byte("\n")) {
		var r exportRecord
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("line %d of %s: %v", i+1, partial, err)
		}
	}
	if want := fmt.Sprintf("export interrupted: %d complete samples", n); !strings.Contains(errb.String(), want) {
		t.Fatalf("stderr %q does not say %q", errb.String(), want)
	}
	if _, errs, code := evalctl(t, "", "datasets", "export", suite, "--tokenizer", tokPath, "--out", out); code != 0 {
		t.Fatalf("export: exit %d\n%s", code, errs)
	}
	full, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("%s left after a whole export (%v)", partial, err)
	}
	if !bytes.HasPrefix(full, got) || bytes.Count(full, []byte("\n")) != 1000 {
		t.Fatalf("the interrupted samples (%d) are not the start of the whole export (%d lines)", n, bytes.Count(full, []byte("\n")))
	}
}
