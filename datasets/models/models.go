// Package models embeds evalctl's default model (datasets/models/default):
// a 4.2M-parameter Llama-architecture model with its own 4096-token
// byte-level BPE tokenizer, trained by tools/trainmodel on samples of
// evalctl's own tasks (see default/MODEL_CARD.md). Importing the package
// makes the path "default" of the model backend load it.
package models

import (
	"embed"
	"io/fs"
	"sync"

	"github.com/evalctl/evalctl/backends/model"
)

//go:embed default/config.json default/generation_config.json default/model.safetensors default/tokenizer.json default/tokenizer_config.json
var files embed.FS

// FS is the embedded model directory "default".
func FS() fs.FS { return files }

var (
	once   sync.Once
	loaded *model.Model
	err    error
)

// Default loads the embedded default model (once; the weights are shared).
func Default() (*model.Model, error) {
	once.Do(func() { loaded, err = model.LoadFS(files, "default", "default") })
	return loaded, err
}

func init() { model.DefaultModel = Default }
