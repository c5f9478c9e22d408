package torch

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/model"
)

// The worker parses config.json with the native runtime's rules: on every
// case below both accept, or both reject with the same message.
func TestConfigErrorsMatch(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	py := python(t)
	wd, err := WorkerDir()
	if err != nil {
		t.Fatal(err)
	}
	base := `"vocab_size":10,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2`
	cases := []string{
		`{"architectures":["GPT2LMHeadModel"]}`,
		`{"architectures":["LlamaForCausalLM","MistralForCausalLM"]}`,
		`{"model_type":"gemma"}`,
		`{"model_type":"llama",` + base + `,"hidden_act":"gelu"}`,
		`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"longrope","factor":2}}`,
		`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"llama3","factor":8}}`,
		`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"llama3","factor":8,"original_max_position_embeddings":8,"low_freq_factor":4,"high_freq_factor":1}}`,
		`{"model_type":"llama",` + base + `,"rope_scaling":{"rope_type":"yarn","factor":-1}}`,
		`{"model_type":"llama",` + base + `,"rope_scaling":{"type":"linear","factor":2,"partial_rotary_factor":0.5}}`,
		`{"model_type":"llama",` + base + `,"head_dim":3}`,
		`{"model_type":"llama",` + base + `,"num_key_value_heads":3}`,
		`{"model_type":"llama",` + base + `,"rms_norm_eps":0}`,
		`{"model_type":"llama",` + base + `,"rope_theta":0.5}`,
		`{"model_type":"llama",` + base + `,"eos_token_id":[1,12]}`,
		`{"model_type":"llama",` + base + `,"bos_token_id":10}`,
		`{"model_type":"llama",` + base + `,"pretraining_tp":0}`,
		`{"model_type":"llama",` + base + `,"attention_bias":"yes"}`,
		`{"model_type":"llama",` + base + `,"eos_token_id":"x"}`,
		`{"model_type":"llama","hidden_size":8}`,
		`{"model_type":"llama","vocab_size":10.5}`,
		`{"model_type":"llama","vocab_size":-3}`,
		`{"model_type":"qwen2",` + base + `,"use_sliding_window":true}`,
		`{"model_type":"minicpm",` + base + `,"dim_model_base":0}`,
		`{"model_type":"minicpm",` + base + `,"scale_emb":12,"scale_depth":1.4,"dim_model_base":4}`,
		`{"model_type":"mistral",` + base + `,"sliding_window":4096}`,
		`{"model_type":"llama",` + base + `,"rope_parameters":{"rope_theta":1e6,"rope_type":"default"}}`,
	}
	dir := t.TempDir()
	var files []string
	for i, c := range cases {
		path := filepath.Join(dir, fmt.Sprintf("c%d", i), "config.json")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	cmd := exec.Command(py, append([]string{"-m", "evalctl_torch", "check-config"}, files...)...)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+wd, "PYTHONDONTWRITEBYTECODE=1")
	out, _ := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(cases) {
		t.Fatalf("%d answers for %d files:\n%s", len(lines), len(cases), out)
	}
	for i, c := range cases {
		var ans struct {
			File  string `json:"file"`
			Error string `json:"error"`
		}
		if err := json.Unmarshal([]byte(lines[i]), &ans); err != nil || ans.File != files[i] {
			t.Fatalf("answer %q: %v", lines[i], err)
		}
		_, goErr := model.ParseConfig([]byte(c), files[i])
		switch {
		case goErr == nil && ans.Error == "":
		case goErr != nil && ans.Error != "":
			if ans.Error != goErr.Error() {
				t.Errorf("case %d %s:\n  Go:     %s\n  Python: %s", i, c, goErr, ans.Error)
			}
		default:
			t.Errorf("case %d %s: Go %v, Python %q", i, c, goErr, ans.Error)
		}
	}
}
