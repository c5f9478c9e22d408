package model

// GGUF models: the llama.cpp naming of tensors and metadata, mapped to the
// Hugging Face names the loader uses.
//
// Decisions (facts of llama.cpp's converter, followed so that files
// interoperate):
//   - Architectures "llama" (also Mistral's), "qwen2" and "minicpm".
//   - For llama and minicpm, llama.cpp permutes the rows of the q and k
//     projections from Hugging Face's rotate-half layout to interleaved
//     pairs; the reader undoes it and the writer applies it. Qwen2 keeps
//     the Hugging Face layout (NEOX rope).
//   - Rope scaling: linear and yarn as rope.scaling.* keys; llama3 as the
//     per-frequency divisors of the rope_freqs.weight tensor. Dynamic NTK
//     has no GGUF form: writing it is an error.
//   - MiniCPM: embedding_scale (scale_emb), residual_scale
//     (scale_depth/sqrt(layers)) and logit_scale (hidden/dim_model_base).
//   - The tokenizer is read from tokenizer.ggml.* (tokens, scores, types,
//     merges, pre, bos/eos/unk ids, add_bos_token).

import (
	"fmt"
	"math"
	"os"
	"sort"
	"strings"

	"github.com/evalctl/evalctl/backends/model/tokenizer"
	"github.com/evalctl/evalctl/datasets/gguf"
)

// layerNames pairs the per-layer tensor names of llama.cpp ("blk.N." +
// key) with Hugging Face's ("model.layers.N." + value); globalNames the
// others. One table serves both directions.
var (
	layerNames = [][2]string{
		{"attn_norm.weight", "input_layernorm.weight"}, {"ffn_norm.weight", "post_attention_layernorm.weight"},
		{"attn_q.weight", "self_attn.q_proj.weight"}, {"attn_k.weight", "self_attn.k_proj.weight"},
		{"attn_v.weight", "self_attn.v_proj.weight"}, {"attn_output.weight", "self_attn.o_proj.weight"},
		{"attn_q.bias", "self_attn.q_proj.bias"}, {"attn_k.bias", "self_attn.k_proj.bias"},
		{"attn_v.bias", "self_attn.v_proj.bias"}, {"attn_output.bias", "self_attn.o_proj.bias"},
		{"ffn_gate.weight", "mlp.gate_proj.weight"}, {"ffn_up.weight", "mlp.up_proj.weight"},
		{"ffn_down.weight", "mlp.down_proj.weight"}, {"ffn_gate.bias", "mlp.gate_proj.bias"},
		{"ffn_up.bias", "mlp.up_proj.bias"}, {"ffn_down.bias", "mlp.down_proj.bias"},
	}
	globalNames = [][2]string{
		{"token_embd.weight", "model.embed_tokens.weight"},
		{"output_norm.weight", "model.norm.weight"},
		{"output.weight", "lm_head.weight"},
	}
	ggufToHFLayer, hfToGGUFLayer   = pairMaps(layerNames)
	ggufToHFGlobal, hfToGGUFGlobal = pairMaps(globalNames)
)

func pairMaps(pairs [][2]string) (forward, backward map[string]string) {
	forward, backward = map[string]string{}, map[string]string{}
	for _, p := range pairs {
		forward[p[0]], backward[p[1]] = p[1], p[0]
	}
	return forward, backward
}

// ggufToHF maps a llama.cpp tensor name to the Hugging Face one.
func ggufToHF(name string) (string, bool) {
	if hf, ok := ggufToHFGlobal[name]; ok {
		return hf, true
	}
	var layer int
	var rest string
	if _, err := fmt.Sscanf(name, "blk.%d.%s", &layer, &rest); err != nil {
		return "", false
	}
	hf, ok := ggufToHFLayer[rest]
	if !ok || fmt.Sprintf("blk.%d.%s", layer, rest) != name {
		return "", false
	}
	return fmt.Sprintf("model.layers.%d.%s", layer, hf), true
}

// hfToGGUF maps a Hugging Face tensor name of the architecture to the
// llama.cpp one.
func hfToGGUF(name string) string {
	if g, ok := hfToGGUFGlobal[name]; ok {
		return g
	}
	var layer int
	var rest string
	fmt.Sscanf(name, "model.layers.%d.%s", &layer, &rest)
	return fmt.Sprintf("blk.%d.%s", layer, hfToGGUFLayer[rest])
}

// permuteRows converts rows of a q or k projection ([heads*d, cols]) between
// the rotate-half layout (dimension i pairs with i+d/2) and interleaved pairs
// (2i with 2i+1). toInterleaved chooses the direction.
func permuteRows(w []float32, heads, d, cols int, toInterleaved bool) []float32 {
	out := make([]float32, len(w))
	half := d / 2
	for h := 0; h < heads; h++ {
		for i := 0; i < half; i++ {
			for s := 0; s < 2; s++ {
				hfRow := h*d + s*half + i // rotate-half position
				ilRow := h*d + 2*i + s    // interleaved position
				src, dst := hfRow, ilRow
				if !toInterleaved {
					src, dst = ilRow, hfRow
				}
				copy(out[dst*cols:(dst+1)*cols], w[src*cols:(src+1)*cols])
			}
		}
	}
	return out
}

// ggufSource serves a GGUF file's tensors under Hugging Face names.
type ggufSource struct {
	f     *gguf.File
	cfg   *Config
	names map[string]string // HF -> GGUF
}

func (s *ggufSource) Names() []string {
	var out []string
	for hf := range s.names {
		out = append(out, hf)
	}
	sort.Strings(out)
	return out
}

func (s *ggufSource) Tensor(name string) ([]float32, []int, error) {
	gn, ok := s.names[name]
	if !ok {
		return nil, nil, fmt.Errorf("%s: tensor %q (%s) not found", s.f.Name(), hfToGGUF(name), name)
	}
	info, _ := s.f.Tensor(gn)
	v, err := s.f.Float32(gn)
	if err != nil {
		return nil, nil, err
	}
	shape := info.Shape()
	if s.cfg.Arch != Qwen2 && (strings.HasSuffix(gn, "attn_q.weight") || strings.HasSuffix(gn, "attn_k.weight") ||
		strings.HasSuffix(gn, "attn_q.bias") || strings.HasSuffix(gn, "attn_k.bias")) {
		heads := s.cfg.Heads
		if strings.Contains(gn, "attn_k") {
			heads = s.cfg.KVHeads
		}
		cols := 1
		if len(shape) == 2 {
			cols = shape[1]
		}
		if len(v) != heads*s.cfg.HeadDim*cols {
			return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, the metadata implies %d rows", s.f.Name(), gn, shape, heads*s.cfg.HeadDim)
		}
		v = permuteRows(v, heads, s.cfg.HeadDim, cols, false)
	}
	return v, shape, nil
}

func (s *ggufSource) Close() error { return s.f.Close() }

// ggufConfig maps the metadata to a Config.
func ggufConfig(f *gguf.File) (*Config, error) {
	arch, err := f.String("general.architecture")
	if err != nil {
		return nil, err
	}
	c := &Config{ScaleEmb: 1, BOS: -1}
	switch arch {
	case "llama":
		c.Arch = Llama
	case "qwen2":
		c.Arch = Qwen2
	case "minicpm":
		c.Arch = MiniCPM
	default:
		return nil, fmt.Errorf("%s: general.architecture %q is not supported (supported: llama, qwen2, minicpm)", f.Name(), arch)
	}
	var firstErr error
	u := func(key string, required bool, def int) int {
		v, err := f.Uint(arch + "." + key)
		if err != nil {
			if _, present := f.Get(arch + "." + key); present || required {
				if firstErr == nil {
					firstErr = err
				}
			}
			return def
		}
		if v > 1<<31 {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %s.%s = %d is too large", f.Name(), arch, key, v)
			}
			return def
		}
		return int(v)
	}
	fl := func(key string, def float64) float64 {
		v, err := f.Float(arch + "." + key)
		if err != nil {
			if _, present := f.Get(arch + "." + key); present && firstErr == nil {
				firstErr = err
			}
			return def
		}
		return v
	}
	c.Hidden = u("embedding_length", true, 0)
	c.Layers = u("block_count", true, 0)
	c.Intermediate = u("feed_forward_length", true, 0)
	c.Heads = u("attention.head_count", true, 0)
	c.KVHeads = u("attention.head_count_kv", false, c.Heads)
	if c.Heads > 0 {
		c.HeadDim = u("attention.key_length", false, c.Hidden/c.Heads)
	}
	c.MaxPos = u("context_length", false, 2048)
	c.RMSEps = fl("attention.layer_norm_rms_epsilon", 1e-6)
	c.Rope = Rope{Theta: fl("rope.freq_base", 10000), Type: "default", Factor: 1, BetaFast: 32, BetaSlow: 1, Truncate: true}
	if st, err := f.String(arch + ".rope.scaling.type"); err == nil {
		switch st {
		case "none", "":
		case "linear", "yarn":
			c.Rope.Type = st
			c.Rope.Factor = fl("rope.scaling.factor", 1)
			c.Rope.OriginalMaxPos = u("rope.scaling.original_context_length", false, 0)
			c.Rope.BetaFast = fl("rope.scaling.yarn_beta_fast", 32)
			c.Rope.BetaSlow = fl("rope.scaling.yarn_beta_slow", 1)
			c.Rope.AttentionFactor = fl("rope.scaling.attn_factor", 0)
		default:
			return nil, fmt.Errorf("%s: %s.rope.scaling.type %q is not supported (none, linear, yarn)", f.Name(), arch, st)
		}
	}
	if c.Arch == MiniCPM {
		c.ScaleEmb = fl("embedding_scale", 1)
		rs := fl("residual_scale", 1)
		ls := fl("logit_scale", 1)
		c.ScaleDepth = rs * math.Sqrt(float64(c.Layers))
		if ls <= 0 {
			return nil, fmt.Errorf("%s: minicpm.logit_scale %v must be positive", f.Name(), ls)
		}
		c.DimModelBase = int(math.Round(float64(c.Hidden) / ls))
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return c, nil
}

func loadGGUF(path string) (*Model, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := ggufConfig(f)
	if err != nil {
		return nil, err
	}
	src := &ggufSource{f: f, cfg: c, names: map[string]string{}}
	var ropeFreqs []float32
	for _, t := range f.Tensors {
		if t.Name == "rope_freqs.weight" {
			if ropeFreqs, err = f.Float32(t.Name); err != nil {
				return nil, err
			}
			continue
		}
		hf, ok := ggufToHF(t.Name)
		if !ok {
			return nil, fmt.Errorf("%s: tensor %q is not part of a supported architecture", path, t.Name)
		}
		src.names[hf] = t.Name
	}
	if ropeFreqs != nil {
		if len(ropeFreqs) != c.HeadDim/2 {
			return nil, fmt.Errorf("%s: tensor rope_freqs.weight has %d elements, want head_dim/2 = %d", path, len(ropeFreqs), c.HeadDim/2)
		}
		c.Rope.Type = "freqs"
		c.Rope.FreqFactors = make([]float64, len(ropeFreqs))
		for i, v := range ropeFreqs {
			if !(v > 0) {
				return nil, fmt.Errorf("%s: tensor rope_freqs.weight[%d] = %v must be positive", path, i, v)
			}
			c.Rope.FreqFactors[i] = float64(v)
		}
	}
	_, hasOut := src.names["lm_head.weight"]
	c.TieEmbed = !hasOut
	c.QKVBias = src.names["model.layers.0.self_attn.q_proj.bias"] != ""
	c.OBias = src.names["model.layers.0.self_attn.o_proj.bias"] != ""
	c.MLPBias = src.names["model.layers.0.mlp.gate_proj.bias"] != ""

	// Tokenizer and special ids.
	var tok *tokenizer.Tokenizer
	addBOS := false
	if _, ok := f.Get("tokenizer.ggml.tokens"); ok {
		v := tokenizer.Vocab{BOS: -1, EOS: -1, UNK: -1}
		if v.Model, err = f.String("tokenizer.ggml.model"); err != nil {
			return nil, err
		}
		if p, err := f.String("tokenizer.ggml.pre"); err == nil {
			v.Pre = p
		}
		if v.Tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
			return nil, err
		}
		if _, ok := f.Get("tokenizer.ggml.scores"); ok {
			if v.Scores, err = f.Float32s("tokenizer.ggml.scores"); err != nil {
				return nil, err
			}
		}
		if _, ok := f.Get("tokenizer.ggml.token_type"); ok {
			ts, err := f.Ints("tokenizer.ggml.token_type")
			if err != nil {
				return nil, err
			}
			v.Types = make([]int32, len(ts))
			for i, t := range ts {
				v.Types[i] = int32(t)
			}
		}
		if _, ok := f.Get("tokenizer.ggml.merges"); ok {
			if v.Merges, err = f.Strings("tokenizer.ggml.merges"); err != nil {
				return nil, err
			}
		}
		for key, dst := range map[string]*int{"bos": &v.BOS, "eos": &v.EOS, "unknown": &v.UNK} {
			if x, err := f.Uint("tokenizer.ggml." + key + "_token_id"); err == nil {
				*dst = int(x)
			}
		}
		if tok, err = tokenizer.FromVocab(v); err != nil {
			return nil, fmt.Errorf("%s: tokenizer: %w", path, err)
		}
		c.BOS = v.BOS
		if v.EOS >= 0 {
			c.EOS = []int{v.EOS}
		}
		addBOS = v.BOS >= 0 && c.Arch != Qwen2
		if b, err := f.Bool("tokenizer.ggml.add_bos_token"); err == nil {
			addBOS = b && v.BOS >= 0
		}
	}
	// The vocabulary size is the embedding's row count.
	if info, ok := f.Tensor("token_embd.weight"); ok {
		if s := info.Shape(); len(s) == 2 {
			c.Vocab = s[0]
		}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m, err := loadWeights(c, src)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path, m.Tok, m.AddBOS = path, tok, addBOS
	return m, nil
}

// WriteGGUF writes m as a GGUF v3 file whose projection and embedding
// matrices are stored as typ (F32, F16, BF16 or Q8_0; norms and biases stay
// F32), with the tokenizer when the model has one.
func WriteGGUF(m *Model, path string, typ gguf.GGMLType) error {
	c := m.Cfg
	arch := map[Arch]string{Llama: "llama", Mistral: "llama", Qwen2: "qwen2", MiniCPM: "minicpm"}[c.Arch]
	if c.SlidingWindow > 0 {
		return fmt.Errorf("sliding_window %d has no GGUF form in this writer", c.SlidingWindow)
	}
	kv := []gguf.KV{
		gguf.String("general.architecture", arch),
		gguf.String("general.name", "evalctl-converted"),
		gguf.Uint32(arch+".context_length", uint32(c.MaxPos)),
		gguf.Uint32(arch+".embedding_length", uint32(c.Hidden)),
		gguf.Uint32(arch+".block_count", uint32(c.Layers)),
		gguf.Uint32(arch+".feed_forward_length", uint32(c.Intermediate)),
		gguf.Uint32(arch+".attention.head_count", uint32(c.Heads)),
		gguf.Uint32(arch+".attention.head_count_kv", uint32(c.KVHeads)),
		gguf.Uint32(arch+".attention.key_length", uint32(c.HeadDim)),
		gguf.Uint32(arch+".attention.value_length", uint32(c.HeadDim)),
		gguf.Uint32(arch+".rope.dimension_count", uint32(c.HeadDim)),
		gguf.Float32(arch+".rope.freq_base", float32(c.Rope.Theta)),
		gguf.Float32(arch+".attention.layer_norm_rms_epsilon", float32(c.RMSEps)),
		gguf.Uint32(arch+".vocab_size", uint32(c.Vocab)),
	}
	var tensors []gguf.Tensor
	switch c.Rope.Type {
	case "default":
	case "linear", "yarn":
		kv = append(kv, gguf.String(arch+".rope.scaling.type", c.Rope.Type), gguf.Float32(arch+".rope.scaling.factor", float32(c.Rope.Factor)))
		if c.Rope.OriginalMaxPos > 0 {
			kv = append(kv, gguf.Uint32(arch+".rope.scaling.original_context_length", uint32(c.Rope.OriginalMaxPos)))
		}
		if c.Rope.Type == "yarn" {
			if c.Rope.Mscale != 0 || c.Rope.MscaleAllDim != 0 || !c.Rope.Truncate {
				return fmt.Errorf("yarn with mscale, mscale_all_dim or truncate=false has no GGUF form in this writer")
			}
			kv = append(kv, gguf.Float32(arch+".rope.scaling.yarn_beta_fast", float32(c.Rope.BetaFast)),
				gguf.Float32(arch+".rope.scaling.yarn_beta_slow", float32(c.Rope.BetaSlow)))
			if c.Rope.AttentionFactor != 0 {
				kv = append(kv, gguf.Float32(arch+".rope.scaling.attn_factor", float32(c.Rope.AttentionFactor)))
			}
		}
	case "llama3", "freqs":
		// Per-frequency divisors, as llama.cpp stores llama3 scaling.
		base := ropeFor(&Config{HeadDim: c.HeadDim, Rope: Rope{Theta: c.Rope.Theta, Type: "default"}}, 1)
		scaled := ropeFor(c, 1)
		f := make([]float32, len(base.invFreq))
		for i := range f {
			f[i] = float32(base.invFreq[i] / scaled.invFreq[i])
		}
		tensors = append(tensors, gguf.Tensor{Name: "rope_freqs.weight", Shape: []int{len(f)}, Type: gguf.F32, Data: f})
	default:
		return fmt.Errorf("rope type %q has no GGUF form", c.Rope.Type)
	}
	if c.Arch == MiniCPM {
		kv = append(kv, gguf.Float32("minicpm.embedding_scale", float32(c.ScaleEmb)),
			gguf.Float32("minicpm.residual_scale", float32(c.ScaleDepth/math.Sqrt(float64(c.Layers)))),
			gguf.Float32("minicpm.logit_scale", float32(float64(c.Hidden)/float64(c.DimModelBase))))
	}
	if m.Tok != nil {
		v, err := m.Tok.Vocab()
		if err != nil {
			return fmt.Errorf("tokenizer: %w", err)
		}
		kv = append(kv, gguf.String("tokenizer.ggml.model", v.Model), gguf.StringArray("tokenizer.ggml.tokens", v.Tokens))
		if v.Pre != "" {
			kv = append(kv, gguf.String("tokenizer.ggml.pre", v.Pre))
		}
		if v.Scores != nil {
			kv = append(kv, gguf.Float32Array("tokenizer.ggml.scores", v.Scores))
		}
		if v.Types != nil {
			kv = append(kv, gguf.Int32Array("tokenizer.ggml.token_type", v.Types))
		}
		if v.Merges != nil {
			kv = append(kv, gguf.StringArray("tokenizer.ggml.merges", v.Merges))
		}
		if c.BOS >= 0 {
			kv = append(kv, gguf.Uint32("tokenizer.ggml.bos_token_id", uint32(c.BOS)))
		}
		if len(c.EOS) > 0 {
			kv = append(kv, gguf.Uint32("tokenizer.ggml.eos_token_id", uint32(c.EOS[0])))
		}
		if v.UNK >= 0 {
			kv = append(kv, gguf.Uint32("tokenizer.ggml.unknown_token_id", uint32(v.UNK)))
		}
		kv = append(kv, gguf.Bool("tokenizer.ggml.add_bos_token", m.AddBOS))
	}

	add := func(hf string, data []float32, shape []int, matrix bool) {
		t := gguf.F32
		if matrix && (typ != gguf.Q8_0 || shape[len(shape)-1]%32 == 0) {
			t = typ
		}
		tensors = append(tensors, gguf.Tensor{Name: hfToGGUF(hf), Shape: shape, Type: t, Data: data})
	}
	untr := func(li linear) []float32 { return transpose(li.wt, li.in, li.out) } // back to [out, in]
	h := c.Hidden
	add("model.embed_tokens.weight", m.embed, []int{c.Vocab, h}, true)
	for i, ly := range m.layers {
		p := fmt.Sprintf("model.layers.%d.", i)
		add(p+"input_layernorm.weight", ly.attnNorm, []int{h}, false)
		add(p+"post_attention_layernorm.weight", ly.mlpNorm, []int{h}, false)
		for _, x := range []struct {
			name string
			li   linear
		}{{"self_attn.q_proj", ly.q}, {"self_attn.k_proj", ly.k}, {"self_attn.v_proj", ly.v}, {"self_attn.o_proj", ly.o},
			{"mlp.gate_proj", ly.gate}, {"mlp.up_proj", ly.up}, {"mlp.down_proj", ly.down}} {
			w, b := untr(x.li), x.li.b
			if c.Arch != Qwen2 && (x.name == "self_attn.q_proj" || x.name == "self_attn.k_proj") {
				heads := c.Heads
				if x.name == "self_attn.k_proj" {
					heads = c.KVHeads
				}
				w = permuteRows(w, heads, c.HeadDim, x.li.in, true)
				if b != nil {
					b = permuteRows(b, heads, c.HeadDim, 1, true)
				}
			}
			add(p+x.name+".weight", w, []int{x.li.out, x.li.in}, true)
			if b != nil {
				add(p+x.name+".bias", b, []int{x.li.out}, false)
			}
		}
	}
	add("model.norm.weight", m.norm, []int{h}, false)
	if !c.TieEmbed {
		add("lm_head.weight", untr(m.head), []int{c.Vocab, h}, true)
	}
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s already exists", path)
	}
	return gguf.WriteFile(path, kv, tensors)
}
