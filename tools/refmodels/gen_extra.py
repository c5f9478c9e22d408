#!/usr/bin/env python3
"""Extra reference models for the native runtime's tests, beside gen.py.

    python3 tools/refmodels/gen_extra.py testdata/refmodels

Reads the tokenizers that gen.py wrote under OUTDIR/tokenizers and adds to
OUTDIR/models:
  minicpm             MiniCPM (scale_emb, scale_depth, dim_model_base, tied
                      embeddings). transformers has no MiniCPM class, so the
                      forward pass is written out below in plain PyTorch from
                      the architecture's definition (Llama blocks; embeddings
                      times scale_emb; each residual branch times
                      scale_depth/sqrt(layers); final hidden state divided by
                      hidden_size/dim_model_base before the LM head), using
                      transformers' own Llama modules for the projections,
                      norms and rotary tables.
  llama-bias          Llama with attention_bias and mlp_bias.
  llama-rope-yarn2    YaRN whose factor (2) differs from
                      max_position_embeddings/original (4).
  llama-fp16, llama-bf16
                      the Llama of gen.py's shapes stored in float16 /
                      bfloat16; references computed from the rounded weights.
and long inputs (300 tokens, beyond max_position_embeddings 256) for the
dynamic-NTK and YaRN models.
Writes OUTDIR/models/reference_extra.json.
"""
import json
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer

OUT = sys.argv[1]
TESTS = [
    "The special magic number for Zürich is: 7281934.",
    "Hello world! It's a naïve café, isn't it? We'll see... 12345 + 678 = 13023",
    "  leading spaces, trailing spaces   \n\nnew\tlines and tabs\r\n",
]
BASE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=10000.0, bos_token_id=1, eos_token_id=2)


def tok(name):
    return Tokenizer.from_file(os.path.join(OUT, "tokenizers", name, "tokenizer.json"))


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "norm" in n:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)


def inputs_for(tk, long_len=0, vocab=0, seed=0):
    out = []
    for text in TESTS:
        out.append((text, ([1] + tk.encode(text, add_special_tokens=False).ids)[:48]))
    if long_len:
        g = torch.Generator().manual_seed(seed)
        out.append(("<random %d tokens>" % long_len, [1] + torch.randint(3, vocab, (long_len - 1,), generator=g).tolist()))
    return out


def record(fwd, ins):
    res = []
    for text, ids in ins:
        with torch.no_grad():
            logits = fwd(torch.tensor([ids]))[0]
        n = len(ids)
        positions = sorted({0, n // 2, n - 1})
        res.append({"text": text, "ids": ids, "positions": positions,
                    "logits": [[round(float(v), 7) for v in logits[p]] for p in positions]})
    return res


refs = {}


def hf_model(name, tok_name, extra, dtype=None, long_len=0, seed=1):
    tk = tok(tok_name)
    cfg = dict(BASE, vocab_size=tk.get_vocab_size(), **extra)
    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(**cfg)).float().eval()
    randomize(model, seed)
    d = os.path.join(OUT, "models", name)
    if dtype is not None:
        # References from the rounded weights, computed in float32. Only
        # the parameters are rounded: Module.to(dtype) would also round the
        # rotary inv_freq buffer, which no loader of the file would do.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).float())
        model.save_pretrained(d, safe_serialization=True)
        sd = {k: v.to(dtype).contiguous() for k, v in model.state_dict().items()}
        save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(d, "config.json")) as f:
            conf = json.load(f)
        conf["dtype"] = str(dtype).replace("torch.", "")
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(conf, f, indent=1)
    else:
        model.save_pretrained(d, safe_serialization=True)
    tk.save(os.path.join(d, "tokenizer.json"))
    refs[name] = {"architecture": "LlamaForCausalLM", "tokenizer": tok_name, "config": cfg,
                  "inputs": record(lambda x: model(x).logits, inputs_for(tk, long_len, cfg["vocab_size"], seed))}
    print("model", name, "ok", flush=True)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def minicpm():
    tk = tok("sentencepiece-bpe")
    cfg = dict(BASE, vocab_size=tk.get_vocab_size(), tie_word_embeddings=True)
    scale_emb, scale_depth, dim_model_base = 12.0, 1.4, 16
    base = transformers.LlamaForCausalLM(transformers.LlamaConfig(**cfg)).float().eval()
    randomize(base, 7)
    m = base.model
    L = cfg["num_hidden_layers"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = cfg["hidden_size"] // H

    def fwd(ids):
        n = ids.shape[1]
        x = m.embed_tokens(ids) * scale_emb
        pos = torch.arange(n)[None]
        cos, sin = m.rotary_emb(x, pos)
        mask = torch.full((n, n), float("-inf")).triu(1)
        for layer in m.layers:
            h = layer.input_layernorm(x)
            a = layer.self_attn
            q = a.q_proj(h).view(1, n, H, D).transpose(1, 2)
            k = a.k_proj(h).view(1, n, KV, D).transpose(1, 2)
            v = a.v_proj(h).view(1, n, KV, D).transpose(1, 2)
            q = q * cos[:, None] + rotate_half(q) * sin[:, None]
            k = k * cos[:, None] + rotate_half(k) * sin[:, None]
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
            s = (q @ k.transpose(-1, -2)) / D ** 0.5 + mask
            o = (s.softmax(-1) @ v).transpose(1, 2).reshape(1, n, H * D)
            x = x + a.o_proj(o) * (scale_depth / L ** 0.5)
            h = layer.post_attention_layernorm(x)
            x = x + layer.mlp(h) * (scale_depth / L ** 0.5)
        x = m.norm(x) / (cfg["hidden_size"] / dim_model_base)
        return x @ m.embed_tokens.weight.T

    d = os.path.join(OUT, "models", "minicpm")
    os.makedirs(d, exist_ok=True)
    sd = {k: v.contiguous() for k, v in base.state_dict().items() if k != "lm_head.weight"}
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    conf = {"architectures": ["MiniCPMForCausalLM"], "model_type": "minicpm", "hidden_act": "silu",
            "scale_emb": scale_emb, "scale_depth": scale_depth, "dim_model_base": dim_model_base,
            "rope_theta": 10000.0, "rope_scaling": None, "torch_dtype": "float32", **cfg}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(conf, f, indent=1)
    tk.save(os.path.join(d, "tokenizer.json"))
    refs["minicpm"] = {"architecture": "MiniCPMForCausalLM", "tokenizer": "sentencepiece-bpe", "config": conf,
                       "inputs": record(fwd, inputs_for(tk, 300, cfg["vocab_size"], 7))}
    print("model minicpm ok", flush=True)


torch.manual_seed(0)
minicpm()
hf_model("llama-bias", "bytelevel-gpt2", {"attention_bias": True, "mlp_bias": True}, seed=2)
hf_model("llama-rope-yarn2", "bytelevel-gpt2", {"rope_scaling": {"rope_type": "yarn", "factor": 2.0,
         "original_max_position_embeddings": 64}}, long_len=300, seed=3)
hf_model("llama-rope-dynamic-long", "bytelevel-gpt2", {"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}},
         long_len=300, seed=4)
hf_model("llama-fp16", "sentencepiece-bpe", {}, dtype=torch.float16, long_len=300, seed=5)
hf_model("llama-bf16", "sentencepiece-bpe", {}, dtype=torch.bfloat16, seed=6)
with open(os.path.join(OUT, "models", "reference_extra.json"), "w") as f:
    json.dump({"models": refs, "transformers": transformers.__version__, "torch": torch.__version__}, f,
              ensure_ascii=False)
print("done")
