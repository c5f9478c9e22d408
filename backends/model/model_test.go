package model

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
)

const refDir = "../../testdata/refmodels/models"

type refInput struct {
	Text      string      `json:"text"`
	IDs       []int       `json:"ids"`
	Positions []int       `json:"positions"`
	Logits    [][]float64 `json:"logits"`
}

type refModel struct {
	Architecture string     `json:"architecture"`
	Inputs       []refInput `json:"inputs"`
}

// loadRefs reads the references of tools/refmodels/gen.py and gen_extra.py.
func loadRefs(t testing.TB) map[string]refModel {
	t.Helper()
	all := map[string]refModel{}
	for _, f := range []string{"reference.json", "reference_extra.json"} {
		data, err := os.ReadFile(filepath.Join(refDir, f))
		if err != nil {
			t.Fatal(err)
		}
		var ref struct {
			Models map[string]refModel `json:"models"`
		}
		if err := json.Unmarshal(data, &ref); err != nil {
			t.Fatal(err)
		}
		for k, v := range ref.Models {
			all[k] = v
		}
	}
	if len(all) < 15 {
		t.Fatalf("only %d reference models", len(all))
	}
	return all
}

// logitsAt runs ids through a fresh sequence in chunks of chunk tokens and
// returns the logits at the given positions.
func logitsAt(t testing.TB, m *Model, mode attention.Mode, ids []int, positions []int, chunk int) [][]float32 {
	t.Helper()
	want := map[int]int{}
	for j, p := range positions {
		want[p] = j
	}
	out := make([][]float32, len(positions))
	s := m.NewSeq(len(ids), false)
	for c0 := 0; c0 < len(ids); c0 += chunk {
		c1 := min(c0+chunk, len(ids))
		err := s.Forward(context.Background(), ids[c0:c1], mode, nil,
			func(i int) bool { _, ok := want[c0+i]; return ok },
			func(i int, l []float32) error { out[want[c0+i]] = append([]float32(nil), l...); return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func maxDiff(a []float32, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-b[i]))
	}
	return d
}

// TestReferenceLogits checks every architecture against the logits of
// Hugging Face transformers (tools/refmodels/gen.py): whole prompt, chunked
// prefill and token-by-token decoding, with the reference and the fast
// dense attention.
func TestReferenceLogits(t *testing.T) {
	fast, err := flash.NewDense(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range loadRefs(t) {
		t.Run(name, func(t *testing.T) {
			m, err := Load(filepath.Join(refDir, name))
			if err != nil {
				t.Fatal(err)
			}
			worst := 0.0
			defer func() { t.Logf("max |logit diff| %.2g", worst) }()
			for _, in := range ref.Inputs {
				for _, tc := range []struct {
					mode  attention.Mode
					chunk int
				}{{attention.NewDense(), len(in.IDs)}, {attention.NewDense(), 5}, {fast, 1}, {fast, len(in.IDs)}} {
					if tc.chunk < len(in.IDs) && m.Cfg.Rope.Type == "dynamic" && len(in.IDs) > m.Cfg.MaxPos {
						// Dynamic NTK depends on the call's length: only a
						// single forward call matches transformers' one.
						continue
					}
					got := logitsAt(t, m, tc.mode, in.IDs, in.Positions, tc.chunk)
					for j, p := range in.Positions {
						if len(got[j]) != len(in.Logits[j]) {
							t.Fatalf("%q pos %d: %d logits, want %d", in.Text, p, len(got[j]), len(in.Logits[j]))
						}
						d := maxDiff(got[j], in.Logits[j])
						worst = max(worst, d)
						if d > 1e-4 {
							t.Errorf("%q (%d tokens) pos %d chunk %d: max |logit diff| %.2g > 1e-4", in.Text, len(in.IDs), p, tc.chunk, d)
						}
					}
				}
			}
		})
	}
}
