package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Arch is a supported architecture family.
type Arch string

// The supported architectures.
const (
	Llama   Arch = "llama"
	Mistral Arch = "mistral"
	Qwen2   Arch = "qwen2"
	MiniCPM Arch = "minicpm"
)

var archByClass = map[string]Arch{
	"LlamaForCausalLM":   Llama,
	"MistralForCausalLM": Mistral,
	"Qwen2ForCausalLM":   Qwen2,
	"MiniCPMForCausalLM": MiniCPM,
}

// Config is the architecture of a model, as read from an HF config.json (or
// mapped from GGUF metadata).
type Config struct {
	Arch         Arch
	Vocab        int
	Hidden       int
	Intermediate int
	Layers       int
	Heads        int
	KVHeads      int
	HeadDim      int
	RMSEps       float64
	MaxPos       int // max_position_embeddings
	TieEmbed     bool
	// QKVBias: q, k and v projections have biases (Qwen2, Llama with
	// attention_bias); OBias: the output projection too (Llama with
	// attention_bias). MLPBias: gate, up and down have biases.
	QKVBias, OBias, MLPBias bool
	Rope                    Rope
	// MiniCPM: embeddings times ScaleEmb, residual branches times
	// ScaleDepth/sqrt(Layers), final hidden state divided by
	// Hidden/DimModelBase before the LM head. Other architectures: 1, 0, 0.
	ScaleEmb     float64
	ScaleDepth   float64
	DimModelBase int
	// SlidingWindow is Mistral's attention window (0: none). The runtime
	// computes full attention, so contexts longer than it are refused.
	SlidingWindow int
	BOS           int   // -1: none
	EOS           []int // end-of-sequence ids
}

// Rope is the rotary embedding configuration.
type Rope struct {
	Theta float64
	// Type is default, linear, dynamic, yarn or llama3.
	Type   string
	Factor float64
	// OriginalMaxPos is original_max_position_embeddings (yarn, llama3);
	// 0 when absent.
	OriginalMaxPos   int
	LowFreqFactor    float64 // llama3
	HighFreqFactor   float64 // llama3
	BetaFast         float64 // yarn (default 32)
	BetaSlow         float64 // yarn (default 1)
	AttentionFactor  float64 // yarn; 0: derived from the factor
	Mscale           float64 // yarn (DeepSeek style); 0: unused
	MscaleAllDim     float64 // yarn; 0: unused
	Truncate         bool    // yarn: floor/ceil the correction range (default true)
	PartialRotaryDim int     // rotary dimensions; 0: the whole head
	// FreqFactors (Type "freqs", from GGUF's rope_freqs tensor) divide
	// each default frequency: llama.cpp's form of llama3 scaling.
	FreqFactors []float64
}

// ConfigError is a problem with a config file, naming the file and the key.
type ConfigError struct {
	File, Key, Msg string
}

func (e *ConfigError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Key, e.Msg)
}

// rawConfig is config.json: every key we read, as raw JSON, so that types
// can be checked with the key's name in the error.
type rawConfig map[string]json.RawMessage

// LoadConfig reads dir/config.json, and generation_config.json when present
// for the end-of-sequence ids.
func LoadConfig(dir string) (*Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseConfig(data, path)
	if err != nil {
		return nil, err
	}
	gpath := filepath.Join(dir, "generation_config.json")
	if gdata, err := os.ReadFile(gpath); err == nil {
		eos, err := parseGenerationConfig(gdata, gpath)
		if err != nil {
			return nil, err
		}
		c.EOS = mergeIDs(c.EOS, eos)
	}
	return c, nil
}

// parseGenerationConfig returns the end-of-sequence ids of a
// generation_config.json.
func parseGenerationConfig(data []byte, name string) ([]int, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &ConfigError{File: name, Msg: "not a JSON object: " + err.Error()}
	}
	r := reader{file: name, raw: raw}
	eos := r.ids("eos_token_id")
	for _, e := range eos {
		if e < 0 {
			r.fail("eos_token_id", "negative id %d", e)
		}
	}
	return eos, r.err
}

func mergeIDs(a, b []int) []int {
	out := append([]int(nil), a...)
	for _, x := range b {
		found := false
		for _, y := range out {
			found = found || x == y
		}
		if !found {
			out = append(out, x)
		}
	}
	return out
}

// reader reads typed keys from a raw config, keeping the first error.
type reader struct {
	file   string
	prefix string // of sub-objects' keys: "rope_scaling."
	raw    rawConfig
	err    error
}

func (r *reader) fail(key, format string, a ...any) {
	if r.err == nil {
		r.err = &ConfigError{File: r.file, Key: r.prefix + key, Msg: fmt.Sprintf(format, a...)}
	}
}

func (r *reader) has(key string) bool {
	v, ok := r.raw[key]
	return ok && !bytes.Equal(bytes.TrimSpace(v), []byte("null"))
}

func (r *reader) num(key string, def float64) float64 {
	if !r.has(key) {
		return def
	}
	var f float64
	if err := json.Unmarshal(r.raw[key], &f); err != nil {
		r.fail(key, "want a number, got %s", trim(r.raw[key]))
		return def
	}
	return f
}

func (r *reader) int(key string, def int) int {
	f := r.num(key, float64(def))
	if f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		r.fail(key, "want an integer, got %v", f)
		return def
	}
	return int(f)
}

func (r *reader) need(key string) int {
	if !r.has(key) {
		r.fail(key, "missing")
		return 0
	}
	v := r.int(key, 0)
	if v <= 0 {
		r.fail(key, "must be positive, got %d", v)
	}
	return v
}

func (r *reader) bool(key string, def bool) bool {
	if !r.has(key) {
		return def
	}
	var b bool
	if err := json.Unmarshal(r.raw[key], &b); err != nil {
		r.fail(key, "want true or false, got %s", trim(r.raw[key]))
		return def
	}
	return b
}

func (r *reader) str(key, def string) string {
	if !r.has(key) {
		return def
	}
	var s string
	if err := json.Unmarshal(r.raw[key], &s); err != nil {
		r.fail(key, "want a string, got %s", trim(r.raw[key]))
		return def
	}
	return s
}

// ids reads an id or a list of ids.
func (r *reader) ids(key string) []int {
	if !r.has(key) {
		return nil
	}
	var one int
	if err := json.Unmarshal(r.raw[key], &one); err == nil {
		return []int{one}
	}
	var many []int
	if err := json.Unmarshal(r.raw[key], &many); err != nil {
		r.fail(key, "want a token id or a list of ids, got %s", trim(r.raw[key]))
	}
	return many
}

func trim(b []byte) string {
	s := string(b)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

// ParseConfig parses an HF config.json; name is used in errors. Unknown keys
// are ignored (HF configs carry many training-only keys), but every key that
// changes the computation is either implemented or refused by name.
func ParseConfig(data []byte, name string) (*Config, error) {
	var raw rawConfig
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &ConfigError{File: name, Msg: "not a JSON object: " + err.Error()}
	}
	r := &reader{file: name, raw: raw}
	c := &Config{}

	var classes []string
	if r.has("architectures") {
		if err := json.Unmarshal(raw["architectures"], &classes); err != nil {
			r.fail("architectures", "want a list of strings, got %s", trim(raw["architectures"]))
		}
	}
	mt := r.str("model_type", "")
	switch {
	case len(classes) > 1:
		r.fail("architectures", "several architectures %q: one expected", classes)
	case len(classes) == 1:
		a, ok := archByClass[classes[0]]
		if !ok {
			r.fail("architectures", "%q is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, MiniCPMForCausalLM)", classes[0])
		}
		c.Arch = a
	default:
		switch Arch(mt) {
		case Llama, Mistral, Qwen2, MiniCPM:
			c.Arch = Arch(mt)
		default:
			r.fail("model_type", "%q is not supported (supported: llama, mistral, qwen2, minicpm)", mt)
		}
	}

	c.Vocab = r.need("vocab_size")
	c.Hidden = r.need("hidden_size")
	c.Intermediate = r.need("intermediate_size")
	c.Layers = r.need("num_hidden_layers")
	c.Heads = r.need("num_attention_heads")
	c.KVHeads = r.int("num_key_value_heads", c.Heads)
	if c.Heads > 0 {
		c.HeadDim = r.int("head_dim", c.Hidden/c.Heads)
	}
	c.RMSEps = r.num("rms_norm_eps", 1e-6)
	c.MaxPos = r.int("max_position_embeddings", 2048)
	if act := r.str("hidden_act", "silu"); act != "silu" && act != "swish" {
		r.fail("hidden_act", "%q is not supported (only silu)", act)
	}
	if tp := r.int("pretraining_tp", 1); tp < 1 {
		r.fail("pretraining_tp", "must be >= 1, got %d", tp)
	}
	switch c.Arch {
	case Qwen2:
		c.QKVBias = true
		c.TieEmbed = r.bool("tie_word_embeddings", false)
		if r.bool("use_sliding_window", false) {
			r.fail("use_sliding_window", "sliding-window attention is not supported")
		}
	case MiniCPM:
		c.TieEmbed = r.bool("tie_word_embeddings", true)
		c.ScaleEmb = r.num("scale_emb", 1)
		c.ScaleDepth = r.num("scale_depth", 1)
		c.DimModelBase = r.int("dim_model_base", c.Hidden)
		if c.DimModelBase <= 0 {
			r.fail("dim_model_base", "must be positive, got %d", c.DimModelBase)
		}
		c.QKVBias = r.bool("attention_bias", false)
		c.OBias = c.QKVBias
	case Mistral:
		c.TieEmbed = r.bool("tie_word_embeddings", false)
		c.SlidingWindow = r.int("sliding_window", 0)
	default:
		c.TieEmbed = r.bool("tie_word_embeddings", false)
		c.QKVBias = r.bool("attention_bias", false)
		c.OBias = c.QKVBias
		c.MLPBias = r.bool("mlp_bias", false)
	}
	if c.Arch != MiniCPM {
		c.ScaleEmb, c.ScaleDepth = 1, 0
	}
	c.BOS = -1
	if b := r.ids("bos_token_id"); len(b) == 1 {
		c.BOS = b[0]
	}
	c.EOS = r.ids("eos_token_id")

	// Rotary embedding: transformers 5 writes rope_parameters (theta
	// inside), older versions rope_theta plus an optional rope_scaling.
	c.Rope = Rope{Theta: r.num("rope_theta", 10000), Type: "default", Factor: 1, BetaFast: 32, BetaSlow: 1, Truncate: true}
	scalingKey := "rope_scaling"
	if r.has("rope_parameters") {
		scalingKey = "rope_parameters"
	}
	if r.has(scalingKey) {
		var sub rawConfig
		if err := json.Unmarshal(raw[scalingKey], &sub); err != nil {
			r.fail(scalingKey, "want an object, got %s", trim(raw[scalingKey]))
		} else {
			s := &reader{file: name, prefix: scalingKey + ".", raw: sub}
			c.Rope.Theta = s.num("rope_theta", c.Rope.Theta)
			typ := s.str("rope_type", s.str("type", "default"))
			c.Rope.Type = typ
			c.Rope.Factor = s.num("factor", 1)
			c.Rope.OriginalMaxPos = s.int("original_max_position_embeddings", 0)
			c.Rope.LowFreqFactor = s.num("low_freq_factor", 1)
			c.Rope.HighFreqFactor = s.num("high_freq_factor", 4)
			c.Rope.BetaFast = s.num("beta_fast", 32)
			c.Rope.BetaSlow = s.num("beta_slow", 1)
			c.Rope.AttentionFactor = s.num("attention_factor", 0)
			c.Rope.Mscale = s.num("mscale", 0)
			c.Rope.MscaleAllDim = s.num("mscale_all_dim", 0)
			c.Rope.Truncate = s.bool("truncate", true)
			if prf := s.num("partial_rotary_factor", 1); prf != 1 {
				s.fail("partial_rotary_factor", "%v is not supported (only 1)", prf)
			}
			switch typ {
			case "default", "linear", "dynamic", "yarn", "llama3":
			default:
				s.fail("rope_type", "%q is not supported (supported: default, linear, dynamic, yarn, llama3)", typ)
			}
			if typ != "default" && !(c.Rope.Factor > 0) {
				s.fail("factor", "must be positive for rope_type %q, got %v", typ, c.Rope.Factor)
			}
			if typ == "llama3" && c.Rope.OriginalMaxPos <= 0 {
				s.fail("original_max_position_embeddings", "required by rope_type llama3")
			}
			if typ == "llama3" && !(c.Rope.HighFreqFactor > c.Rope.LowFreqFactor) {
				s.fail("high_freq_factor", "must exceed low_freq_factor (%v), got %v", c.Rope.LowFreqFactor, c.Rope.HighFreqFactor)
			}
			if s.err != nil && r.err == nil {
				r.err = s.err
			}
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	if err := c.Validate(); err != nil {
		return nil, &ConfigError{File: name, Msg: err.Error()}
	}
	return c, nil
}

// Validate checks the relations between fields.
func (c *Config) Validate() error {
	switch {
	case c.Vocab <= 0 || c.Hidden <= 0 || c.Intermediate <= 0 || c.Layers <= 0 || c.Heads <= 0:
		return fmt.Errorf("vocab_size, hidden_size, intermediate_size, num_hidden_layers and num_attention_heads must be positive")
	case c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return fmt.Errorf("num_key_value_heads: %d does not divide num_attention_heads %d", c.KVHeads, c.Heads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return fmt.Errorf("head_dim: %d must be positive and even", c.HeadDim)
	case !(c.RMSEps > 0):
		return fmt.Errorf("rms_norm_eps: must be positive, got %v", c.RMSEps)
	case !(c.Rope.Theta > 1):
		return fmt.Errorf("rope_theta: must exceed 1, got %v", c.Rope.Theta)
	case c.BOS >= c.Vocab:
		return fmt.Errorf("bos_token_id: %d outside the vocabulary of %d", c.BOS, c.Vocab)
	}
	for _, e := range c.EOS {
		if e < 0 || e >= c.Vocab {
			return fmt.Errorf("eos_token_id: %d outside the vocabulary of %d", e, c.Vocab)
		}
	}
	return nil
}

// String is a one-line summary.
func (c *Config) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d layers, hidden %d, heads %d/%d x %d, ffn %d, vocab %d, rope %s theta %g",
		c.Arch, c.Layers, c.Hidden, c.Heads, c.KVHeads, c.HeadDim, c.Intermediate, c.Vocab, c.Rope.Type, c.Rope.Theta)
	if c.Rope.Type != "default" {
		fmt.Fprintf(&b, " x%g", c.Rope.Factor)
	}
	return b.String()
}

// Params is the number of parameters.
func (c *Config) Params() int64 {
	h, q, kv := int64(c.Hidden), int64(c.Heads*c.HeadDim), int64(c.KVHeads*c.HeadDim)
	per := h*q*2 + h*kv*2 + 3*h*int64(c.Intermediate) + 2*h
	n := per*int64(c.Layers) + int64(c.Vocab)*h + h
	if !c.TieEmbed {
		n += int64(c.Vocab) * h
	}
	return n
}
