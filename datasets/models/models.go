// Package models embeds evalctl's built-in models, trained by
// tools/trainmodel on samples of evalctl's own tasks:
//
//   - "default" (datasets/models/default): a 4.2M-parameter
//     Llama-architecture model with its own 4096-token byte-level BPE
//     tokenizer (see default/MODEL_CARD.md);
//   - "default-sparse" (datasets/models/default-sparse): the same model's
//     last fine-tuning stage run with InfLLM-V2 sparse attention in the
//     training loop instead of dense attention (same data, seed and
//     schedule), for comparing trained-sparse with training-free sparse
//     attention.
//
// Importing the package makes these names valid paths of the model backend.
package models

import (
	"embed"
	"io/fs"
	"sync"

	"github.com/evalctl/evalctl/backends/model"
)

//go:embed default/config.json default/generation_config.json default/model.safetensors default/tokenizer.json default/tokenizer_config.json
//go:embed default-sparse/config.json default-sparse/generation_config.json default-sparse/model.safetensors default-sparse/tokenizer.json default-sparse/tokenizer_config.json
var files embed.FS

// FS holds the embedded model directories, "default" and "default-sparse".
func FS() fs.FS { return files }

// Names are the built-in models, in the order of the package doc.
var Names = []string{"default", "default-sparse"}

type builtin struct {
	once sync.Once
	m    *model.Model
	err  error
}

var loaded = map[string]*builtin{}

func load(name string) (*model.Model, error) {
	b := loaded[name]
	b.once.Do(func() { b.m, b.err = model.LoadFS(files, name, name) })
	return b.m, b.err
}

// Default loads the embedded default model (once; the weights are shared).
func Default() (*model.Model, error) { return load("default") }

// Sparse loads the sparse-trained twin of the default model (once).
func Sparse() (*model.Model, error) { return load("default-sparse") }

func init() {
	for _, name := range Names {
		loaded[name] = &builtin{}
		model.RegisterBuiltin(name, func() (*model.Model, error) { return load(name) })
	}
}
