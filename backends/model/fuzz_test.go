package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfig: any input gives a config that validates or an error
// naming the file; never a panic.
func FuzzParseConfig(f *testing.F) {
	for _, name := range []string{"llama", "qwen2", "minicpm", "llama-rope-yarn", "llama-rope-llama3", "mistral"} {
		data, err := os.ReadFile(filepath.Join(refDir, name, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"model_type":"llama","vocab_size":1e300}`))
	f.Add([]byte(`{"architectures":["LlamaForCausalLM"],"rope_scaling":{"rope_type":"llama3","factor":-1}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data, "config.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "config.json") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
		_ = ropeFor(c, 10)
	})
}

// TestConfigErrors: unsupported architectures and values are refused by
// name.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{"architectures":["GPT2LMHeadModel"]}`, `architectures: "GPT2LMHeadModel" is not supported`},
		{`{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"hidden_act":"gelu"}`, `hidden_act: "gelu" is not supported`},
		{`{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"rope_scaling":{"rope_type":"longrope","factor":2}}`, `rope_scaling.rope_type: "longrope" is not supported`},
		{`{"model_type":"llama","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"head_dim":3}`, `head_dim`},
		{`{"model_type":"llama","hidden_size":8}`, `vocab_size: missing`},
		{`{"model_type":"llama","vocab_size":"many"}`, `vocab_size: want a number`},
		{`{"model_type":"qwen2","vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2,"use_sliding_window":true}`, `use_sliding_window`},
		{`[1,2]`, `not a JSON object`},
	} {
		_, err := ParseConfig([]byte(tc.json), "c.json")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "c.json") {
			t.Errorf("%s: error %v, want one naming c.json and %q", tc.json, err, tc.want)
		}
	}
}

// FuzzLoadGGUF: a mutated GGUF model file loads or fails with an error,
// never a panic.
func FuzzLoadGGUF(f *testing.F) {
	m, err := Load(filepath.Join(refDir, "qwen2"))
	if err != nil {
		f.Fatal(err)
	}
	seed := filepath.Join(f.TempDir(), "seed.gguf")
	if err := WriteGGUF(m, seed, 0); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(seed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, uint32(0), byte(0))
	f.Add(data, uint32(40), byte(0xff))
	f.Fuzz(func(t *testing.T, data []byte, at uint32, b byte) {
		if len(data) > 0 {
			data = append([]byte(nil), data...)
			data[int(at)%len(data)] ^= b
		}
		p := filepath.Join(t.TempDir(), "m.gguf")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if m, err := Load(p); err == nil && m.Cfg.Validate() != nil {
			t.Fatal("loaded a model whose config does not validate")
		}
	})
}
