package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/evalctl/evalctl/datasets/safetensors"
)

// source gives tensors by their Hugging Face name, decoded to float32 in
// the Hugging Face (PyTorch) shape.
type source interface {
	Names() []string
	Tensor(name string) ([]float32, []int, error)
	Close() error
}

// safetensorsDir reads model.safetensors or the shards listed in
// model.safetensors.index.json.
type safetensorsDir struct {
	files []*safetensors.File
	where map[string]*safetensors.File
}

func openSafetensors(dir string) (*safetensorsDir, error) {
	s := &safetensorsDir{where: map[string]*safetensors.File{}}
	index := filepath.Join(dir, "model.safetensors.index.json")
	single := filepath.Join(dir, "model.safetensors")
	var shards []string
	weightMap := map[string]string{}
	if data, err := os.ReadFile(index); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(data, &idx); err != nil {
			return nil, fmt.Errorf("%s: %v", index, err)
		}
		if len(idx.WeightMap) == 0 {
			return nil, fmt.Errorf("%s: weight_map is missing or empty", index)
		}
		weightMap = idx.WeightMap
		seen := map[string]bool{}
		for _, f := range idx.WeightMap {
			if f != filepath.Base(f) || f == "" {
				return nil, fmt.Errorf("%s: weight_map names shard %q outside the model directory", index, f)
			}
			if !seen[f] {
				seen[f] = true
				shards = append(shards, f)
			}
		}
		sort.Strings(shards)
	} else if _, err := os.Stat(single); err == nil {
		shards = []string{"model.safetensors"}
	} else {
		return nil, fmt.Errorf("%s: no model.safetensors or model.safetensors.index.json", dir)
	}
	for _, name := range shards {
		f, err := safetensors.Open(filepath.Join(dir, name))
		if err != nil {
			s.Close()
			return nil, err
		}
		s.files = append(s.files, f)
		for _, t := range f.Names() {
			if prev, dup := s.where[t]; dup {
				s.Close()
				return nil, fmt.Errorf("tensor %q is in both %s and %s", t, prev.Name(), f.Name())
			}
			s.where[t] = f
		}
	}
	for t, shard := range weightMap {
		f, ok := s.where[t]
		if !ok {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %q is listed in shard %s but no shard holds it", index, t, shard)
		}
		if filepath.Base(f.Name()) != shard {
			s.Close()
			return nil, fmt.Errorf("%s: tensor %q is listed in shard %s but found in %s", index, t, shard, f.Name())
		}
	}
	return s, nil
}

func (s *safetensorsDir) Names() []string {
	var out []string
	for n := range s.where {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *safetensorsDir) Tensor(name string) ([]float32, []int, error) {
	f, ok := s.where[name]
	if !ok {
		return nil, nil, fmt.Errorf("tensor %q: %w", name, safetensors.ErrNotFound)
	}
	v, shape, err := f.Float32(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: tensor %q: %w", f.Name(), name, err)
	}
	return v, shape, nil
}

func (s *safetensorsDir) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}

// loader takes tensors from a source, checking shapes and that every tensor
// of the source is used.
type loader struct {
	src   source
	names map[string]bool
	used  map[string]bool
	err   error
}

func (l *loader) fail(err error) {
	if l.err == nil {
		l.err = err
	}
}

// get returns a tensor of the given shape, or nil after recording an error.
func (l *loader) get(name string, shape ...int) []float32 {
	if l.err != nil {
		return nil
	}
	v, got, err := l.src.Tensor(name)
	if err != nil {
		l.fail(err)
		return nil
	}
	l.used[name] = true
	if !slices.Equal(got, shape) {
		l.fail(fmt.Errorf("tensor %q has shape %v, the config implies %v", name, got, shape))
		return nil
	}
	return v
}

func (l *loader) has(name string) bool {
	return l.names[name]
}

// linearFrom reads an [out, in] weight (and bias) into the transposed layout
// the matrix kernels take.
func (l *loader) linear(prefix string, in, out int, bias bool) linear {
	w := l.get(prefix+".weight", out, in)
	li := linear{in: in, out: out}
	if w != nil {
		li.wt = transpose(w, out, in)
	}
	if bias {
		li.b = l.get(prefix+".bias", out)
	} else if l.has(prefix + ".bias") {
		l.fail(fmt.Errorf("tensor %q is present but the config has no such bias (attention_bias / mlp_bias)", prefix+".bias"))
	}
	return li
}

// unused reports tensors of the source that the architecture does not use:
// they mean a feature the runtime would silently ignore.
func (l *loader) unused() error {
	var extra []string
	for _, n := range l.src.Names() {
		if !l.used[n] && !strings.HasSuffix(n, "rotary_emb.inv_freq") {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		if len(extra) > 5 {
			extra = append(extra[:5], fmt.Sprintf("... (%d in all)", len(extra)))
		}
		return fmt.Errorf("tensors not used by the configured architecture: %s", strings.Join(extra, ", "))
	}
	return nil
}

func transpose(w []float32, rows, cols int) []float32 {
	t := make([]float32, len(w))
	for r := 0; r < rows; r++ {
		row := w[r*cols : (r+1)*cols]
		for c, v := range row {
			t[c*rows+r] = v
		}
	}
	return t
}

// loadWeights reads every tensor of the architecture from src.
func loadWeights(c *Config, src source) (*Model, error) {
	l := &loader{src: src, names: map[string]bool{}, used: map[string]bool{}}
	for _, n := range src.Names() {
		l.names[n] = true
	}
	m := &Model{Cfg: c}
	h, q, kv := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.embed = l.get("model.embed_tokens.weight", c.Vocab, h)
	m.layers = make([]layer, c.Layers)
	for i := range m.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		ly := &m.layers[i]
		ly.attnNorm = l.get(p+"input_layernorm.weight", h)
		ly.mlpNorm = l.get(p+"post_attention_layernorm.weight", h)
		ly.q = l.linear(p+"self_attn.q_proj", h, q, c.QKVBias)
		ly.k = l.linear(p+"self_attn.k_proj", h, kv, c.QKVBias)
		ly.v = l.linear(p+"self_attn.v_proj", h, kv, c.QKVBias)
		ly.o = l.linear(p+"self_attn.o_proj", q, h, c.OBias)
		ly.gate = l.linear(p+"mlp.gate_proj", h, c.Intermediate, c.MLPBias)
		ly.up = l.linear(p+"mlp.up_proj", h, c.Intermediate, c.MLPBias)
		ly.down = l.linear(p+"mlp.down_proj", c.Intermediate, h, c.MLPBias)
	}
	m.norm = l.get("model.norm.weight", h)
	if c.TieEmbed {
		if l.has("lm_head.weight") {
			// Some tied checkpoints store the copy anyway; it must match.
			head := l.get("lm_head.weight", c.Vocab, h)
			if head != nil && !slices.Equal(head, m.embed) {
				l.fail(fmt.Errorf("tensor %q differs from model.embed_tokens.weight but tie_word_embeddings is true", "lm_head.weight"))
			}
		}
		if m.embed != nil {
			m.head = linear{in: h, out: c.Vocab, wt: transpose(m.embed, c.Vocab, h)}
		}
	} else {
		m.head = l.linear("lm_head", h, c.Vocab, false)
	}
	if l.err != nil {
		return nil, l.err
	}
	if err := l.unused(); err != nil {
		return nil, err
	}
	return m, nil
}
