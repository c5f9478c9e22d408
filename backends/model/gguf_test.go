package model

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/datasets/gguf"
)

// TestGGUFRoundTrip converts every reference model to GGUF with the
// project's writer and checks that the loaded file gives the transformers
// logits (F32: within 1e-4; F16 and Q8_0: close) and the same tokenization.
func TestGGUFRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for name, ref := range loadRefs(t) {
		t.Run(name, func(t *testing.T) {
			m := loadRef(t, name)
			for _, typ := range []gguf.GGMLType{gguf.F32, gguf.F16, gguf.BF16, gguf.Q8_0} {
				path := filepath.Join(dir, name+"-"+typ.String()+".gguf")
				err := WriteGGUF(m, path, typ)
				if m.Cfg.Rope.Type == "dynamic" || (m.Cfg.Rope.Type == "yarn" && m.Cfg.Rope.Mscale != 0) {
					if err == nil {
						t.Fatal("dynamic rope written to GGUF")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				g, err := Load(path)
				if err != nil {
					t.Fatal(err)
				}
				if g.Cfg.Layers != m.Cfg.Layers || g.Cfg.Heads != m.Cfg.Heads || g.Cfg.Vocab != m.Cfg.Vocab || g.AddBOS != m.AddBOS {
					t.Fatalf("%s: config %v, want %v", typ, g.Cfg, m.Cfg)
				}
				// Random weights of scale 0.2 give logits of several units: 8-bit
				// quantization moves them by tenths.
				tol := map[gguf.GGMLType]float64{gguf.F32: 1e-4, gguf.F16: 2e-2, gguf.BF16: 0.2, gguf.Q8_0: 0.6}[typ]
				worst := 0.0
				for _, in := range ref.Inputs {
					got := logitsAt(t, g, attention.NewDense(), in.IDs, in.Positions, len(in.IDs))
					for j := range in.Positions {
						worst = max(worst, maxDiff(got[j], in.Logits[j]))
					}
					if g.Tok != nil && !strings.HasPrefix(in.Text, "<random") {
						want := m.Tok.Encode(in.Text)
						if gotIDs := g.Tok.Encode(in.Text); !slices.Equal(gotIDs, want) {
							t.Fatalf("%s: GGUF tokenizer gives %v, tokenizer.json %v", typ, gotIDs, want)
						}
					}
				}
				if worst > tol {
					t.Errorf("%s: max |logit diff| %.3g > %g", typ, worst, tol)
				}
				t.Logf("%s: max |logit diff| %.2g", typ, worst)
			}
		})
	}
}

// TestGGUFErrors: a truncated file and a file with a tensor of the wrong
// shape give errors naming the file or the tensor.
func TestGGUFErrors(t *testing.T) {
	dir := t.TempDir()
	m := loadRef(t, "llama")
	path := filepath.Join(dir, "m.gguf")
	if err := WriteGGUF(m, path, gguf.F32); err != nil {
		t.Fatal(err)
	}
	if err := WriteGGUF(m, path, gguf.F32); err == nil {
		t.Fatal("overwrote an existing file")
	}
	data, _ := os.ReadFile(path)
	cut := filepath.Join(dir, "cut.gguf")
	os.WriteFile(cut, data[:len(data)-100], 0o644)
	if _, err := Load(cut); err == nil || !strings.Contains(err.Error(), "cut.gguf") {
		t.Fatalf("truncated file: %v", err)
	}
	// Drop a layer from the metadata: the weights no longer fit.
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var kv []gguf.KV
	for _, x := range f.Metadata {
		if x.Key == "llama.feed_forward_length" {
			x = gguf.Uint32(x.Key, 48)
		}
		kv = append(kv, x)
	}
	var ts []gguf.Tensor
	for _, ti := range f.Tensors {
		raw, _ := f.Raw(ti.Name)
		ts = append(ts, gguf.Tensor{Name: ti.Name, Shape: ti.Shape(), Type: ti.Type, Raw: raw})
	}
	bad := filepath.Join(dir, "bad.gguf")
	if err := gguf.WriteFile(bad, kv, ts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "mlp.gate_proj.weight") {
		t.Fatalf("inconsistent file: %v", err)
	}
}
