package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
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
