"""The decoder-only transformer of the native runtime (backends/model) in
PyTorch: Llama, Mistral, Qwen2 and MiniCPM as one computation with
switches. Token embeddings (times scale_emb for MiniCPM); per layer RMSNorm,
q/k/v projections (biases for Qwen2 and attention_bias), rotary embeddings,
grouped-query attention through an attention mode, output projection and
residual (times scale_depth/sqrt(layers) for MiniCPM), RMSNorm, SwiGLU,
residual; final RMSNorm (MiniCPM divides by hidden/dim_model_base) and the
LM head, tied or not.

Numerics: weights in the compute dtype (float32 on the CPU, bfloat16 by
default on CUDA); RMSNorm and the rotary rotation in float32, as
transformers does, with angles in float64; logits in float32 for the
log-probabilities. A tensor of the wrong shape, a missing tensor, or one the
architecture does not use is an error naming it, as in the native loader.
"""

import json
import math
import os

import torch

from . import attention, rope
from .config import load_config
from .errors import WeightsError
from .safetensors import File


def _shape(s):
    return "[" + " ".join(str(x) for x in s) + "]"


class Weights:
    """Tensors by name from model.safetensors or the shards of
    model.safetensors.index.json (with the native runtime's checks)."""

    def __init__(self, directory):
        self.files = []
        self.where = {}
        index = os.path.join(directory, "model.safetensors.index.json")
        single = os.path.join(directory, "model.safetensors")
        weight_map = {}
        if os.path.exists(index):
            with open(index) as f:
                try:
                    idx = json.load(f)
                except ValueError as e:
                    raise WeightsError("%s: %s" % (index, e))
            weight_map = idx.get("weight_map") if isinstance(idx, dict) else None
            if not weight_map or not isinstance(weight_map, dict):
                raise WeightsError("%s: weight_map is missing or empty" % index)
            shards = []
            for shard in weight_map.values():
                if not isinstance(shard, str) or shard == "" or os.path.basename(shard) != shard:
                    raise WeightsError("%s: weight_map names shard %s outside the model directory" % (index, json.dumps(shard)))
                if shard not in shards:
                    shards.append(shard)
            shards.sort()
        elif os.path.exists(single):
            shards = ["model.safetensors"]
        else:
            raise WeightsError("%s: no model.safetensors or model.safetensors.index.json" % directory)
        try:
            for shard in shards:
                f = File(os.path.join(directory, shard))
                self.files.append(f)
                for t in f.names():
                    if t in self.where:
                        raise WeightsError("tensor %s is in both %s and %s" % (json.dumps(t), self.where[t].path, f.path))
                    self.where[t] = f
            for t, shard in weight_map.items():
                if t not in self.where:
                    raise WeightsError("%s: tensor %s is listed in shard %s but no shard holds it" % (index, json.dumps(t), shard))
                if os.path.basename(self.where[t].path) != shard:
                    raise WeightsError("%s: tensor %s is listed in shard %s but found in %s" % (index, json.dumps(t), shard, self.where[t].path))
        except Exception:
            self.close()
            raise

    def names(self):
        return sorted(self.where)

    def close(self):
        for f in self.files:
            f.close()
        self.files = []


class Model:
    """A loaded model: config and weights on one device, read-only."""

    def __init__(self, directory, device="cpu", dtype=torch.float32):
        self.path = directory
        self.device = torch.device(device)
        self.dtype = dtype
        self.cfg = c = load_config(directory)
        with open(os.path.join(directory, "config.json"), "rb") as f:
            import hashlib
            self.config_sha256 = hashlib.sha256(f.read()).hexdigest()
        w = Weights(directory)
        try:
            self._load(w)
        finally:
            w.close()
        self.res_scale = c.scale_depth / math.sqrt(c.layers) if c.arch == "minicpm" else 1.0
        self.head_div = c.hidden / c.dim_model_base if c.arch == "minicpm" else 1.0

    def _load(self, w):
        c = self.cfg
        used = set()
        err = []

        def get(name, *shape):
            if err:
                return None
            if name not in w.where:
                err.append(WeightsError("tensor %s: tensor not found" % json.dumps(name)))
                return None
            f = w.where[name]
            got = f.shape(name)
            used.add(name)
            if list(got) != list(shape):
                err.append(WeightsError("tensor %s has shape %s, the config implies %s" % (json.dumps(name), _shape(got), _shape(shape))))
                return None
            if f.tensors[name][0] not in ("F32", "F16", "BF16", "F64"):
                err.append(WeightsError("%s: tensor %s: dtype %s is not a float type" % (f.path, json.dumps(name), f.tensors[name][0])))
                return None
            return f.get(name, self.dtype, self.device)

        def linear(prefix, inp, out, bias):
            wt = get(prefix + ".weight", out, inp)
            b = None
            if bias:
                b = get(prefix + ".bias", out)
            elif prefix + ".bias" in w.where and not err:
                err.append(WeightsError("tensor %s is present but the config has no such bias (attention_bias / mlp_bias)" % json.dumps(prefix + ".bias")))
            return (wt, b)

        h, qd, kvd = c.hidden, c.heads * c.head_dim, c.kv_heads * c.head_dim
        self.embed = get("model.embed_tokens.weight", c.vocab, h)
        self.layers = []
        for i in range(c.layers):
            p = "model.layers.%d." % i
            ly = {
                "attn_norm": get(p + "input_layernorm.weight", h),
                "mlp_norm": get(p + "post_attention_layernorm.weight", h),
                "q": linear(p + "self_attn.q_proj", h, qd, c.qkv_bias),
                "k": linear(p + "self_attn.k_proj", h, kvd, c.qkv_bias),
                "v": linear(p + "self_attn.v_proj", h, kvd, c.qkv_bias),
                "o": linear(p + "self_attn.o_proj", qd, h, c.o_bias),
                "gate": linear(p + "mlp.gate_proj", h, c.intermediate, c.mlp_bias),
                "up": linear(p + "mlp.up_proj", h, c.intermediate, c.mlp_bias),
                "down": linear(p + "mlp.down_proj", c.intermediate, h, c.mlp_bias),
            }
            self.layers.append(ly)
        self.norm = get("model.norm.weight", h)
        if c.tie_embed:
            if "lm_head.weight" in w.where and not err:
                head = get("lm_head.weight", c.vocab, h)
                if head is not None and self.embed is not None and not torch.equal(head, self.embed):
                    err.append(WeightsError("tensor %s differs from model.embed_tokens.weight but tie_word_embeddings is true" % json.dumps("lm_head.weight")))
            self.head = self.embed
        else:
            self.head = linear("lm_head", h, c.vocab, False)[0]
        if err:
            raise err[0]
        extra = [n for n in w.names() if n not in used and not n.endswith("rotary_emb.inv_freq")]
        if extra:
            if len(extra) > 5:
                extra = extra[:5] + ["... (%d in all)" % len(extra)]
            raise WeightsError("tensors not used by the configured architecture: %s" % ", ".join(extra))

    def new_seq(self, capacity, nope=False):
        return Seq(self, capacity, nope)

    def rms_norm(self, x, w):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.cfg.rms_eps)
        return w * xf.to(x.dtype)

    @staticmethod
    def lin(x, wb):
        w, b = wb
        return torch.nn.functional.linear(x, w, b)


class Seq:
    """One sequence: a KV cache per layer."""

    def __init__(self, model, capacity, nope=False):
        c = model.cfg
        self.m = model
        self.nope = nope
        self.caches = [attention.LayerCache(c.kv_heads, c.head_dim, capacity, model.dtype, model.device, nope)
                       for _ in range(c.layers)]
        self.peak = 0

    def __len__(self):
        return self.caches[0].n

    def nbytes(self):
        return sum(cc.nbytes() for cc in self.caches)

    def truncate(self, n):
        for cc in self.caches:
            cc.truncate(n)

    @torch.no_grad()
    def forward(self, ids, cfg, st=None, want=None, check=None):
        """Appends ids (a list of token ids) and runs one forward call with
        attention mode cfg. want: positions i (0-based within the call)
        whose logits to return, as a float32 tensor [len(want), vocab]."""
        m = self.m
        c = m.cfg
        n = len(ids)
        pos0 = len(self)
        if c.sliding_window > 0 and pos0 + n > c.sliding_window:
            raise WeightsError("context of %d tokens exceeds the model's sliding_window %d, which the runtime does not implement" % (pos0 + n, c.sliding_window))
        for i, t in enumerate(ids):
            if not isinstance(t, int) or t < 0 or t >= c.vocab:
                raise WeightsError("token %d: id %s outside the vocabulary of %d" % (i, t, c.vocab))
        dev = m.device
        x = m.embed[torch.tensor(ids, dtype=torch.int64, device=dev)]
        if c.scale_emb != 1:
            x = x * c.scale_emb
        cos, sin = rope.table(c, pos0, n, dev)
        H, KV, d = c.heads, c.kv_heads, c.head_dim
        try:
            for ly, cache in zip(m.layers, self.caches):
                if check:
                    check()
                hn = m.rms_norm(x, ly["attn_norm"])
                q = m.lin(hn, ly["q"]).view(n, H, d)
                k = m.lin(hn, ly["k"]).view(n, KV, d)
                v = m.lin(hn, ly["v"]).view(n, KV, d)
                qn = kn = None
                if self.nope:
                    qn, kn = q, k
                q = rope.apply(q, cos, sin)
                k = rope.apply(k, cos, sin)
                cache.append(k, v, kn)
                att = attention.forward(cache, q, qn, cfg, st, check)
                x = x + m.lin(att.reshape(n, H * d), ly["o"]) * m.res_scale if m.res_scale != 1 else x + m.lin(att.reshape(n, H * d), ly["o"])
                hn = m.rms_norm(x, ly["mlp_norm"])
                g = torch.nn.functional.silu(m.lin(hn, ly["gate"])) * m.lin(hn, ly["up"])
                y = m.lin(g, ly["down"])
                x = x + y * m.res_scale if m.res_scale != 1 else x + y
        except BaseException:
            self.truncate(pos0)
            raise
        b = self.nbytes()
        if b > self.peak:
            self.peak = b
        if not want:
            return None
        rows = x[torch.tensor(want, dtype=torch.int64, device=dev)]
        hb = m.rms_norm(rows, m.norm)
        if m.head_div != 1:
            hb = hb / m.head_div
        return torch.nn.functional.linear(hb, m.head).float()
