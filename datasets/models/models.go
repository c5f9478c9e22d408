// Package models embeds evalctl's built-in models, trained by
// tools/trainmodel on samples of evalctl's own tasks:
//
//   - "default" (datasets/models/default): a 5.8M-parameter, 6-layer
//     Llama-architecture model with its own 4096-token byte-level BPE
//     tokenizer (see default/MODEL_CARD.md);
//   - "default-sparse" (datasets/models/default-sparse): the twin of the
//     previous default model (4 layers, stage 7): that model's last
//     fine-tuning stage run with InfLLM-V2 sparse attention in the training
//     loop instead of dense attention (same data, seed and schedule), for
//     comparing trained-sparse with training-free sparse attention. Its
//     dense control is not embedded (default-sparse/MODEL_CARD.md says where
//     it is).
//
// Importing the package makes these names valid paths of the model backend.
//
// Built with the tag evalctl_noembed, the package embeds and registers
// nothing: a smaller binary for machines that get the model files some
// other way (tools/trainmodel builds its device binary so, and passes the
// model directories by path).
package models

import (
	"fmt"
	"io/fs"
	"sync"

	"github.com/evalctl/evalctl/backends/model"
)

// FS holds the embedded model directories, "default" and "default-sparse"
// (none with evalctl_noembed).
func FS() fs.FS { return files }

type builtin struct {
	once sync.Once
	m    *model.Model
	err  error
}

var loaded = map[string]*builtin{}

func load(name string) (*model.Model, error) {
	b, ok := loaded[name]
	if !ok {
		return nil, fmt.Errorf("built-in model %q is not in this binary (built with evalctl_noembed)", name)
	}
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
