//go:build !evalctl_noembed

package models

import "embed"

//go:embed default/config.json default/generation_config.json default/model.safetensors default/tokenizer.json default/tokenizer_config.json
//go:embed default-sparse/config.json default-sparse/generation_config.json default-sparse/model.safetensors default-sparse/tokenizer.json default-sparse/tokenizer_config.json
var files embed.FS

// Names are the built-in models, in the order of the package doc.
var Names = []string{"default", "default-sparse"}
