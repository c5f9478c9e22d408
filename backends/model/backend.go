package model

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/model/chat"
	"github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/params"
)

// The backend "model" runs the native runtime with one attention mode:
//
//	backends:
//	  - name: model
//	    label: sparse
//	    params: {path: ./my-model, attention: sparse, topk: 16}
//
// Every attention mode's parameters are accepted (a mode ignores the ones it
// does not use); backends that name the same path share one copy of the
// weights.

// builtins are the models that the path parameter names without a file:
// packages that embed weights register them (datasets/models registers
// "default" and "default-sparse").
var builtins struct {
	sync.Mutex
	load map[string]func() (*Model, error)
}

// RegisterBuiltin makes the path name load a built-in model with load (which
// should load once and share the weights). It panics on an empty name, a
// name with a path separator or a name registered twice: these are
// programming errors of an init function.
func RegisterBuiltin(name string, load func() (*Model, error)) {
	builtins.Lock()
	defer builtins.Unlock()
	if name == "" || filepath.Base(name) != name || load == nil {
		panic(fmt.Sprintf("model: RegisterBuiltin(%q): a plain name and a loader are needed", name))
	}
	if builtins.load == nil {
		builtins.load = map[string]func() (*Model, error){}
	}
	if _, dup := builtins.load[name]; dup {
		panic(fmt.Sprintf("model: RegisterBuiltin(%q): registered twice", name))
	}
	builtins.load[name] = load
}

func builtin(name string) func() (*Model, error) {
	builtins.Lock()
	defer builtins.Unlock()
	return builtins.load[name]
}

func specs() []params.Spec {
	s := []params.Spec{
		params.StringSpec("path", "default", "model: a Hugging Face model directory, a .gguf file, or a built-in model: default (the embedded model), default-sparse (the previous 4-layer default's twin fine-tuned with InfLLM-V2 sparse attention)"),
		params.StringSpec("attention", "dense", "attention mode of every layer", modes.Names()...),
		params.IntSpec("chunk", 8192, "most tokens per prefill forward call (0: the whole prompt at once); switching decides per call").Range(0, 1<<24),
		params.StringSpec("template", "plain", "prompt template: plain (the prompt as is), auto (the model's chat template when it has one, else plain), or a family", append([]string{"auto"}, chat.Names()...)...),
	}
	return append(s, modes.Specs(modes.Names()...)...)
}

func init() {
	backends.Register(backends.Info{
		Name:   "model",
		Help:   "native Go transformer (Llama, Mistral, Qwen2, MiniCPM; HF directories or GGUF) with the chosen attention mode in every layer",
		Params: specs(),
		Check: func(p params.Set) error {
			_, _, err := modes.Build(p.String("attention"), p)
			return err
		},
		New: newBackend,
	})
}

// shared holds loaded models by path, so that several backends (dense,
// sparse, switching) of one suite share the weights.
var shared struct {
	sync.Mutex
	m map[string]*sharedModel
}

type sharedModel struct {
	model *Model
	refs  int
}

func acquire(path string) (*Model, error) {
	load := builtin(path)
	abs := "builtin:" + path
	if load == nil {
		if path == "default" {
			return nil, fmt.Errorf("path: no default model is built in; give a model directory or .gguf file")
		}
		var err error
		if abs, err = filepath.Abs(path); err != nil {
			return nil, err
		}
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.m == nil {
		shared.m = map[string]*sharedModel{}
	}
	if s, ok := shared.m[abs]; ok {
		s.refs++
		return s.model, nil
	}
	var m *Model
	var err error
	if load != nil {
		m, err = load()
	} else {
		m, err = Load(abs)
	}
	if err != nil {
		return nil, err
	}
	shared.m[abs] = &sharedModel{model: m, refs: 1}
	return m, nil
}

func release(m *Model) {
	shared.Lock()
	defer shared.Unlock()
	for k, s := range shared.m {
		if s.model == m {
			if s.refs--; s.refs == 0 {
				delete(shared.m, k)
			}
			return
		}
	}
}

// Backend is the "model" backend: an Engine plus its configuration.
type Backend struct {
	*Engine
	Label string
	once  sync.Once
}

// Close releases the backend's hold on the shared weights.
func (b *Backend) Close() error {
	b.once.Do(func() { release(b.M) })
	return nil
}

func newBackend(c backends.Config) (backends.Backend, error) {
	p := c.Params
	mode, _, err := modes.Build(p.String("attention"), p)
	if err != nil {
		return nil, err
	}
	m, err := acquire(p.String("path"))
	if err != nil {
		return nil, err
	}
	m.SetThreads(p.Int("threads"))
	e := &Engine{M: m, Mode: mode, Chunk: p.Int("chunk"), NoPE: p.String("attention") != "dense" && p.Bool("use_nope")}
	if err := e.setTemplate(p.String("template")); err != nil {
		release(m)
		return nil, err
	}
	return &Backend{Engine: e, Label: c.Label}, nil
}

// setTemplate chooses the prompt template: plain (the prompt as is), auto
// (the tokenizer config's chat template when the model directory has one,
// else plain) or a family by name. A chat template formats the prompt as
// one user message followed by the assistant turn's opening.
func (e *Engine) setTemplate(name string) error {
	if name == "plain" {
		e.Format, e.FormatAddsBOS = nil, false
		return nil
	}
	cfgPath := ""
	if st, err := os.Stat(e.M.Path); err == nil && st.IsDir() {
		cfgPath = chat.ConfigPath(e.M.Path)
	}
	t, _, err := chat.Resolve(name, cfgPath)
	if err != nil {
		return fmt.Errorf("template %q: %w", name, err)
	}
	if t.Name() == "plain" {
		e.Format, e.FormatAddsBOS = nil, false
		return nil
	}
	e.Format = func(prompt string) (string, error) {
		return t.Format([]chat.Message{{Role: "user", Content: prompt}}, true)
	}
	e.FormatAddsBOS = t.AddsBOS()
	return nil
}
