package safetensors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The reference models committed for the runtime's tests are real
// safetensors files whose tensors fit their configs.
func TestReferenceModelsParse(t *testing.T) {
	dirs, _ := filepath.Glob("../../testdata/refmodels/models/*/model.safetensors")
	if len(dirs) < 5 {
		t.Fatalf("found %d reference models", len(dirs))
	}
	for _, p := range dirs {
		f, err := Open(p)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Vocab  int `json:"vocab_size"`
			Hidden int `json:"hidden_size"`
			Layers int `json:"num_hidden_layers"`
		}
		b, err := os.ReadFile(filepath.Join(filepath.Dir(p), "config.json"))
		if err != nil || json.Unmarshal(b, &cfg) != nil {
			t.Fatalf("%s: config: %v", p, err)
		}
		emb, ok := f.Info("model.embed_tokens.weight")
		if !ok || len(emb.Shape) != 2 || emb.Shape[0] != cfg.Vocab || emb.Shape[1] != cfg.Hidden || (emb.DType != F32 && emb.DType != F16 && emb.DType != BF16) {
			t.Errorf("%s: embed_tokens %+v, config %+v", p, emb, cfg)
		}
		if _, ok := f.Info("model.layers." + itoa(cfg.Layers-1) + ".mlp.down_proj.weight"); !ok {
			t.Errorf("%s: no last layer", p)
		}
		f.Close()
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
