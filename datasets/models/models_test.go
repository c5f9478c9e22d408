package models

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model"
)

// TestDefaultMatchesPyTorch: the embedded float16 model's logits equal
// transformers' LlamaForCausalLM on the same weights (reference.json, made
// by tools/trainmodel/train.py) within 1e-3, and its tokenizer gives the same
// ids.
func TestDefaultMatchesPyTorch(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("default/reference.json")
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
	t.Logf("max |logit diff| vs transformers: %.2g", worst)
	if worst > 1e-3 {
		t.Fatalf("max |logit diff| %.3g > 1e-3", worst)
	}
}

// TestDefaultPath: the model backend's path "default" loads the embedded
// model and answers a pass-key prompt of its training distribution.
func TestDefaultPath(t *testing.T) {
	m, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	e := &model.Engine{M: m, Mode: attention.NewDense()}
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
