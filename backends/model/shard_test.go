package model

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/datasets/safetensors"
)

// TestShardedIndex splits a reference model into two shards with a
// model.safetensors.index.json, as large HF checkpoints come, and checks the
// logits; then breaks the index in two ways.
func TestShardedIndex(t *testing.T) {
	src := filepath.Join(refDir, "llama")
	f, err := safetensors.Open(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	for _, name := range []string{"config.json", "generation_config.json", "tokenizer.json"} {
		data, _ := os.ReadFile(filepath.Join(src, name))
		os.WriteFile(filepath.Join(dir, name), data, 0o644)
	}
	shards := [2][]safetensors.Tensor{}
	index := map[string]string{}
	for i, name := range f.Names() {
		v, shape, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		s := i % 2
		shards[s] = append(shards[s], safetensors.F32Tensor(name, shape, v))
		index[name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[s]
	}
	for s, ts := range shards {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[s]
		if err := safetensors.WriteFile(filepath.Join(dir, name), ts, nil); err != nil {
			t.Fatal(err)
		}
	}
	writeIndex := func(m map[string]string) {
		data, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": m})
		os.WriteFile(filepath.Join(dir, "model.safetensors.index.json"), data, 0o644)
	}
	writeIndex(index)
	a, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := loadRef(t, "llama")
	ids := b.Tok.Encode("The special magic number is 7281934.")
	la := logitsAt(t, a, attention.NewDense(), ids, []int{len(ids) - 1}, len(ids))[0]
	lb := logitsAt(t, b, attention.NewDense(), ids, []int{len(ids) - 1}, len(ids))[0]
	if !slicesEqualF(la, lb) {
		t.Fatal("sharded model differs from the single file")
	}
	// A tensor listed in the wrong shard, and one listed in no file.
	bad := map[string]string{}
	for k, v := range index {
		bad[k] = v
	}
	bad["model.norm.weight"] = "model-00002-of-00002.safetensors"
	if index["model.norm.weight"] == bad["model.norm.weight"] {
		bad["model.norm.weight"] = "model-00001-of-00002.safetensors"
	}
	writeIndex(bad)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "model.norm.weight") {
		t.Fatalf("tensor in the wrong shard: %v", err)
	}
	index["model.extra.weight"] = "model-00001-of-00002.safetensors"
	writeIndex(index)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "model.extra.weight") {
		t.Fatalf("tensor in no shard: %v", err)
	}
}
