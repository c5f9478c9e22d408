//go:build !evalctl_noembed

package models

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model"
	"github.com/evalctl/evalctl/params"
)

// TestMatchesPyTorch: each embedded float16 model's logits equal
// transformers' LlamaForCausalLM on the same weights (reference.json, made
// by tools/trainmodel/train.py) within 1e-3, and its tokenizer gives the same
// ids.
func TestMatchesPyTorch(t *testing.T) {
	for _, name := range Names {
		t.Run(name, func(t *testing.T) { matchesPyTorch(t, name) })
	}
}

func matchesPyTorch(t *testing.T, name string) {
	m, err := load(name)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(name + "/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Inputs []struct {
			Text      string      `json:"text"`
			IDs       []int       `json:"ids"`
			Positions []int       `json:"positions"`
			Logits    [][]float64 `json:"logits"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Inputs) == 0 {
		t.Fatal("no reference inputs")
	}
	worst := 0.0
	for _, in := range ref.Inputs {
		ids := append([]int{m.Cfg.BOS}, m.Tok.Encode(in.Text)...)
		if len(ids) != len(in.IDs) {
			t.Fatalf("%q: %d ids, reference %d", in.Text, len(ids), len(in.IDs))
		}
		for i := range ids {
			if ids[i] != in.IDs[i] {
				t.Fatalf("%q: id %d is %d, reference %d", in.Text, i, ids[i], in.IDs[i])
			}
		}
		want := map[int]int{}
		for j, p := range in.Positions {
			want[p] = j
		}
		s := m.NewSeq(len(ids), false)
		err := s.Forward(context.Background(), ids, attention.NewDense(), nil,
			func(i int) bool { _, ok := want[i]; return ok },
			func(i int, l []float32) error {
				for v, x := range l {
					worst = math.Max(worst, math.Abs(float64(x)-in.Logits[want[i]][v]))
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("max |logit diff| vs transformers: %.3g", worst)
	if worst > 1e-3 {
		t.Fatalf("max |logit diff| %.3g > 1e-3", worst)
	}
}

// TestBuiltinPaths: the model backend's paths "default" and
// "default-sparse" load the embedded models (two different models of one
// tokenizer and width: the default has 6 layers, its predecessor's sparse
// twin 4), and each answers a pass-key prompt of its training distribution.
func TestBuiltinPaths(t *testing.T) {
	d, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Sparse()
	if err != nil {
		t.Fatal(err)
	}
	if d == s || d.Cfg.Layers != 6 || s.Cfg.Layers != 4 || d.Cfg.Hidden != s.Cfg.Hidden || d.Cfg.Vocab != s.Cfg.Vocab {
		t.Fatalf("default and default-sparse: same model %v, layers %d and %d, hidden %d and %d",
			d == s, d.Cfg.Layers, s.Cfg.Layers, d.Cfg.Hidden, s.Cfg.Hidden)
	}
	for _, name := range Names {
		t.Run(name, func(t *testing.T) { answersPassKey(t, name) })
	}
}

func answersPassKey(t *testing.T, name string) {
	info, ok := backends.Lookup("model")
	if !ok {
		t.Fatal("no model backend registered")
	}
	p, err := params.Resolve(info.Params, map[string]any{"path": name})
	if err != nil {
		t.Fatal(err)
	}
	b, err := info.New(backends.Config{Label: name, Params: p})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e := b.(*model.Backend).Engine
	m := e.M
	if want, _ := load(name); m != want {
		t.Fatalf("path %q: the backend did not load the embedded model %q", name, name)
	}
	prompt := "There is an important piece of information hidden inside a lot of irrelevant text. Find it and memorize it.\n" +
		"The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again. The pass key is 48213. Remember it. 48213 is the pass key. " +
		"The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.\nWhat is the pass key? The pass key is"
	r, err := e.Generate(context.Background(), &lm.GenerateRequest{Prompt: prompt, MaxTokens: 8})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "48213") {
		t.Fatalf("answer %q does not hold the pass key 48213", r.Text)
	}
	if m.Cfg.Params() > 8<<20 {
		t.Fatalf("%d parameters: the weights file would exceed 16 MiB in float16", m.Cfg.Params())
	}
}
