package model

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/datasets/safetensors"
)

// Load reads a model: a Hugging Face model directory, or a .gguf file.
// The tokenizer (tokenizer.json, or the GGUF vocabulary) is loaded too when
// present; Tok stays nil otherwise.
func Load(path string) (*Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		if strings.HasSuffix(strings.ToLower(path), ".gguf") {
			return loadGGUF(path)
		}
		return nil, fmt.Errorf("%s: not a model directory or a .gguf file", path)
	}
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	src, err := openSafetensors(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	m, err := loadWeights(cfg, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	tp := filepath.Join(path, "tokenizer.json")
	if _, err := os.Stat(tp); err == nil {
		if m.Tok, err = tokenizer.Load(tp); err != nil {
			return nil, err
		}
	}
	if err := m.loadTokenizerConfig(filepath.Join(path, "tokenizer_config.json")); err != nil {
		return nil, err
	}
	return m, nil
}

// LoadFS reads a Hugging Face model directory (single model.safetensors)
// from a file system, such as one embedded in the binary; name identifies it
// in errors and as Model.Path.
func LoadFS(fsys fs.FS, dir, name string) (*Model, error) {
	read := func(f string) ([]byte, error) { return fs.ReadFile(fsys, path.Join(dir, f)) }
	data, err := read("config.json")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	cfg, err := ParseConfig(data, name+"/config.json")
	if err != nil {
		return nil, err
	}
	if g, err := read("generation_config.json"); err == nil {
		gc, err := parseGenerationConfig(g, name+"/generation_config.json")
		if err != nil {
			return nil, err
		}
		cfg.EOS = mergeIDs(cfg.EOS, gc)
	}
	w, err := read("model.safetensors")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f, err := safetensors.Parse(w, name+"/model.safetensors")
	if err != nil {
		return nil, err
	}
	src := &safetensorsDir{files: []*safetensors.File{f}, where: map[string]*safetensors.File{}}
	for _, t := range f.Names() {
		src.where[t] = f
	}
	m, err := loadWeights(cfg, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	m.Path = name
	if t, err := read("tokenizer.json"); err == nil {
		if m.Tok, err = tokenizer.Parse(t, name+"/tokenizer.json"); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	m.AddBOS = cfg.BOS >= 0 && cfg.Arch != Qwen2
	if tc, err := read("tokenizer_config.json"); err == nil {
		if err := m.parseTokenizerConfig(tc, name+"/tokenizer_config.json"); err != nil {
			return nil, err
		}
	}
	return m, nil
}
