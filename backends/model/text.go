package model

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

// This file is the text side of a model without its weights, for backends
// that run the forward pass elsewhere (backends/torch): the configuration,
// the tokenizer, BOS and the prompt template, with the same rules as the
// native runtime, so that both see exactly the same token ids.

// LoadText reads a Hugging Face model directory's config.json,
// generation_config.json, tokenizer.json and tokenizer_config.json, but not
// its weights. The Model it returns has no weights: it can tokenize (through
// NewTextEngine) but not run forward passes (NewSeq panics).
func LoadText(dir string) (*Model, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a model directory (a torch backend needs a Hugging Face directory, not a GGUF file)", dir)
	}
	cfg, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	m := &Model{Cfg: cfg, Path: dir}
	tp := filepath.Join(dir, "tokenizer.json")
	if _, err := os.Stat(tp); err == nil {
		if m.Tok, err = tokenizer.Load(tp); err != nil {
			return nil, err
		}
	}
	if err := m.loadTokenizerConfig(filepath.Join(dir, "tokenizer_config.json")); err != nil {
		return nil, err
	}
	return m, nil
}

// NewTextEngine returns an Engine over m whose Tokenize applies the named
// template (plain, auto or a family) and BOS as the model backend does; it
// is for tokenizing and building requests only when m came from LoadText.
func NewTextEngine(m *Model, template string) (*Engine, error) {
	e := &Engine{M: m}
	if err := e.setTemplate(template); err != nil {
		return nil, err
	}
	return e, nil
}

// IsEOS says whether id ends a generation.
func (e *Engine) IsEOS(id int) bool { return e.isEOS(id) }

// CutStop cuts text before the earliest occurrence of any non-empty stop
// string and says whether it did.
func CutStop(text string, stops []string) (string, bool) { return cutStop(text, stops) }

// LoglikelihoodIDs are the ids Loglikelihood feeds for req and the number
// of context ids among them (BOS included): the context as raw text after
// BOS when the model adds one (the first EOS id when the context is empty
// and there is no BOS), then the continuation's ids.
func (e *Engine) LoglikelihoodIDs(req *lm.LoglikelihoodRequest) (ids []int, nctx int, err error) {
	if e.M.Tok == nil {
		return nil, 0, ErrNoTokenizer
	}
	if e.M.AddBOS {
		ids = append(ids, e.M.Cfg.BOS)
	}
	ids = append(ids, e.M.Tok.Encode(req.Context)...)
	if len(ids) == 0 {
		if len(e.M.Cfg.EOS) == 0 {
			return nil, 0, errors.New("empty context and the model has neither BOS nor EOS to start from")
		}
		ids = append(ids, e.M.Cfg.EOS[0])
	}
	cont := e.M.Tok.Encode(req.Continuation)
	if len(cont) == 0 {
		return nil, 0, errors.New("empty continuation")
	}
	return append(ids, cont...), len(ids), nil
}

// GenerateIDs tokenizes a generation request's prompt (Tokenize) and checks
// what Generate checks before running the model.
func (e *Engine) GenerateIDs(ctx context.Context, req *lm.GenerateRequest) ([]int, error) {
	if req.MaxTokens < 1 {
		return nil, fmt.Errorf("max tokens %d: must be at least 1", req.MaxTokens)
	}
	ids, err := e.Tokenize(ctx, req.Prompt)
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, errors.New("empty prompt and the model adds no BOS token")
	}
	return ids, nil
}

// WriteDirFS copies the files of a model directory held in fsys under dir
// (an embedded built-in model) to the directory out, for programs that
// read models from disk; it writes only config, generation config,
// tokenizer files and weights.
func WriteDirFS(fsys fs.FS, dir, out string) error {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for _, en := range ents {
		name := en.Name()
		if en.IsDir() || !(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".safetensors")) {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return err
		}
		tmp := filepath.Join(out, "."+name+".tmp")
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(out, name)); err != nil {
			return err
		}
	}
	return nil
}
