"""config.json of Hugging Face Llama, Mistral, Qwen2 and MiniCPM models,
parsed with the native runtime's rules (backends/model/config.go): the same
supported keys, the same defaults, and the same error text for what is
unsupported, key by key. Keys are read in the same order, so the first
error is the same one."""

import json
import math
import os
from dataclasses import dataclass, field

from . import gofmt
from .errors import ConfigError

ARCH_BY_CLASS = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
    "MiniCPMForCausalLM": "minicpm",
}


@dataclass
class Rope:
    theta: float = 10000.0
    type: str = "default"
    factor: float = 1.0
    original_max_pos: int = 0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    attention_factor: float = 0.0
    mscale: float = 0.0
    mscale_all_dim: float = 0.0
    truncate: bool = True


@dataclass
class Config:
    arch: str = ""
    vocab: int = 0
    hidden: int = 0
    intermediate: int = 0
    layers: int = 0
    heads: int = 0
    kv_heads: int = 0
    head_dim: int = 0
    rms_eps: float = 1e-6
    max_pos: int = 2048
    tie_embed: bool = False
    qkv_bias: bool = False
    o_bias: bool = False
    mlp_bias: bool = False
    rope: Rope = field(default_factory=Rope)
    scale_emb: float = 1.0
    scale_depth: float = 0.0
    dim_model_base: int = 0
    sliding_window: int = 0
    bos: int = -1
    eos: list = field(default_factory=list)

    def summary(self):
        return {"arch": self.arch, "layers": self.layers, "hidden": self.hidden, "heads": self.heads,
                "kv_heads": self.kv_heads, "head_dim": self.head_dim, "vocab": self.vocab,
                "intermediate": self.intermediate}


def _trim(value):
    s = json.dumps(value, separators=(",", ":"))
    return s[:60] + "..." if len(s) > 60 else s


class _Reader:
    def __init__(self, file, raw, prefix=""):
        self.file, self.raw, self.prefix = file, raw, prefix
        self.err = None

    def fail(self, key, msg):
        if self.err is None:
            self.err = ConfigError(self.file, self.prefix + key, msg)

    def has(self, key):
        return key in self.raw and self.raw[key] is not None

    def num(self, key, default):
        if not self.has(key):
            return float(default)
        x = self.raw[key]
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            self.fail(key, "want a number, got %s" % _trim(x))
            return float(default)
        return float(x)

    def int(self, key, default):
        f = self.num(key, float(default))
        if f != math.trunc(f) or abs(f) > (1 << 40):
            self.fail(key, "want an integer, got %s" % gofmt.v(f))
            return default
        return int(f)

    def need(self, key):
        if not self.has(key):
            self.fail(key, "missing")
            return 0
        v = self.int(key, 0)
        if v <= 0:
            self.fail(key, "must be positive, got %d" % v)
        return v

    def bool(self, key, default):
        if not self.has(key):
            return default
        x = self.raw[key]
        if not isinstance(x, bool):
            self.fail(key, "want true or false, got %s" % _trim(x))
            return default
        return x

    def str(self, key, default):
        if not self.has(key):
            return default
        x = self.raw[key]
        if not isinstance(x, str):
            self.fail(key, "want a string, got %s" % _trim(x))
            return default
        return x

    def ids(self, key):
        if not self.has(key):
            return []
        x = self.raw[key]
        if isinstance(x, int) and not isinstance(x, bool):
            return [x]
        if isinstance(x, list) and all(isinstance(e, int) and not isinstance(e, bool) for e in x):
            return list(x)
        self.fail(key, "want a token id or a list of ids, got %s" % _trim(x))
        return []


def _load_object(data, name):
    try:
        raw = json.loads(data)
    except ValueError as e:
        raise ConfigError(name, "", "not a JSON object: %s" % e)
    if not isinstance(raw, dict):
        raise ConfigError(name, "", "not a JSON object: got %s" % type(raw).__name__)
    return raw


def parse_config(data, name):
    """Parses config.json text (name is used in errors)."""
    raw = _load_object(data, name)
    r = _Reader(name, raw)
    c = Config()

    classes = []
    if r.has("architectures"):
        a = raw["architectures"]
        if isinstance(a, list) and all(isinstance(s, str) for s in a):
            classes = a
        else:
            r.fail("architectures", "want a list of strings, got %s" % _trim(a))
    mt = r.str("model_type", "")
    if len(classes) > 1:
        r.fail("architectures", "several architectures %s: one expected" % gofmt.qs(classes))
    elif len(classes) == 1:
        if classes[0] not in ARCH_BY_CLASS:
            r.fail("architectures", "%s is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, MiniCPMForCausalLM)" % gofmt.q(classes[0]))
        else:
            c.arch = ARCH_BY_CLASS[classes[0]]
    elif mt in ("llama", "mistral", "qwen2", "minicpm"):
        c.arch = mt
    else:
        r.fail("model_type", "%s is not supported (supported: llama, mistral, qwen2, minicpm)" % gofmt.q(mt))

    c.vocab = r.need("vocab_size")
    c.hidden = r.need("hidden_size")
    c.intermediate = r.need("intermediate_size")
    c.layers = r.need("num_hidden_layers")
    c.heads = r.need("num_attention_heads")
    c.kv_heads = r.int("num_key_value_heads", c.heads)
    if c.heads > 0:
        c.head_dim = r.int("head_dim", c.hidden // c.heads if c.hidden >= 0 else -((-c.hidden) // c.heads))
    c.rms_eps = r.num("rms_norm_eps", 1e-6)
    c.max_pos = r.int("max_position_embeddings", 2048)
    act = r.str("hidden_act", "silu")
    if act not in ("silu", "swish"):
        r.fail("hidden_act", "%s is not supported (only silu)" % gofmt.q(act))
    tp = r.int("pretraining_tp", 1)
    if tp < 1:
        r.fail("pretraining_tp", "must be >= 1, got %d" % tp)
    if c.arch == "qwen2":
        c.qkv_bias = True
        c.tie_embed = r.bool("tie_word_embeddings", False)
        if r.bool("use_sliding_window", False):
            r.fail("use_sliding_window", "sliding-window attention is not supported")
    elif c.arch == "minicpm":
        c.tie_embed = r.bool("tie_word_embeddings", True)
        c.scale_emb = r.num("scale_emb", 1)
        c.scale_depth = r.num("scale_depth", 1)
        c.dim_model_base = r.int("dim_model_base", c.hidden)
        if c.dim_model_base <= 0:
            r.fail("dim_model_base", "must be positive, got %d" % c.dim_model_base)
        c.qkv_bias = r.bool("attention_bias", False)
        c.o_bias = c.qkv_bias
    elif c.arch == "mistral":
        c.tie_embed = r.bool("tie_word_embeddings", False)
        c.sliding_window = r.int("sliding_window", 0)
    else:
        c.tie_embed = r.bool("tie_word_embeddings", False)
        c.qkv_bias = r.bool("attention_bias", False)
        c.o_bias = c.qkv_bias
        c.mlp_bias = r.bool("mlp_bias", False)
    if c.arch != "minicpm":
        c.scale_emb, c.scale_depth = 1.0, 0.0
    c.bos = -1
    b = r.ids("bos_token_id")
    if len(b) == 1:
        c.bos = b[0]
    c.eos = r.ids("eos_token_id")

    c.rope = Rope(theta=r.num("rope_theta", 10000))
    scaling_key = "rope_parameters" if r.has("rope_parameters") else "rope_scaling"
    if r.has(scaling_key):
        sub = raw[scaling_key]
        if not isinstance(sub, dict):
            r.fail(scaling_key, "want an object, got %s" % _trim(sub))
        else:
            s = _Reader(name, sub, scaling_key + ".")
            rp = c.rope
            rp.theta = s.num("rope_theta", rp.theta)
            typ = s.str("rope_type", s.str("type", "default"))
            rp.type = typ
            rp.factor = s.num("factor", 1)
            rp.original_max_pos = s.int("original_max_position_embeddings", 0)
            rp.low_freq_factor = s.num("low_freq_factor", 1)
            rp.high_freq_factor = s.num("high_freq_factor", 4)
            rp.beta_fast = s.num("beta_fast", 32)
            rp.beta_slow = s.num("beta_slow", 1)
            rp.attention_factor = s.num("attention_factor", 0)
            rp.mscale = s.num("mscale", 0)
            rp.mscale_all_dim = s.num("mscale_all_dim", 0)
            rp.truncate = s.bool("truncate", True)
            prf = s.num("partial_rotary_factor", 1)
            if prf != 1:
                s.fail("partial_rotary_factor", "%s is not supported (only 1)" % gofmt.v(prf))
            if typ not in ("default", "linear", "dynamic", "yarn", "llama3"):
                s.fail("rope_type", "%s is not supported (supported: default, linear, dynamic, yarn, llama3)" % gofmt.q(typ))
            if typ != "default" and not rp.factor > 0:
                s.fail("factor", "must be positive for rope_type %s, got %s" % (gofmt.q(typ), gofmt.v(rp.factor)))
            if typ == "llama3" and rp.original_max_pos <= 0:
                s.fail("original_max_position_embeddings", "required by rope_type llama3")
            if typ == "llama3" and not rp.high_freq_factor > rp.low_freq_factor:
                s.fail("high_freq_factor", "must exceed low_freq_factor (%s), got %s" % (gofmt.v(rp.low_freq_factor), gofmt.v(rp.high_freq_factor)))
            if s.err is not None and r.err is None:
                r.err = s.err
    if r.err is not None:
        raise r.err
    msg = validate(c)
    if msg:
        raise ConfigError(name, "", msg)
    return c


def validate(c):
    """The relations between fields (Config.Validate): an error text or None."""
    if c.vocab <= 0 or c.hidden <= 0 or c.intermediate <= 0 or c.layers <= 0 or c.heads <= 0:
        return "vocab_size, hidden_size, intermediate_size, num_hidden_layers and num_attention_heads must be positive"
    if c.kv_heads <= 0 or c.heads % c.kv_heads != 0:
        return "num_key_value_heads: %d does not divide num_attention_heads %d" % (c.kv_heads, c.heads)
    if c.head_dim <= 0 or c.head_dim % 2 != 0:
        return "head_dim: %d must be positive and even" % c.head_dim
    if not c.rms_eps > 0:
        return "rms_norm_eps: must be positive, got %s" % gofmt.v(c.rms_eps)
    if not c.rope.theta > 1:
        return "rope_theta: must exceed 1, got %s" % gofmt.v(c.rope.theta)
    if c.bos >= c.vocab:
        return "bos_token_id: %d outside the vocabulary of %d" % (c.bos, c.vocab)
    for e in c.eos:
        if e < 0 or e >= c.vocab:
            return "eos_token_id: %d outside the vocabulary of %d" % (e, c.vocab)
    return None


def parse_generation_config(data, name):
    """The end-of-sequence ids of a generation_config.json."""
    raw = _load_object(data, name)
    r = _Reader(name, raw)
    eos = r.ids("eos_token_id")
    for e in eos:
        if e < 0:
            r.fail("eos_token_id", "negative id %d" % e)
    if r.err is not None:
        raise r.err
    return eos


def load_config(directory):
    """directory/config.json, with generation_config.json's end-of-sequence
    ids merged in (LoadConfig)."""
    path = os.path.join(directory, "config.json")
    with open(path, "rb") as f:
        c = parse_config(f.read(), path)
    gpath = os.path.join(directory, "generation_config.json")
    if os.path.exists(gpath):
        with open(gpath, "rb") as f:
            eos = parse_generation_config(f.read(), gpath)
        for e in eos:
            if e not in c.eos:
                c.eos.append(e)
    return c
