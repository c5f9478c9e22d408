#!/usr/bin/env python3
"""Generate tiny random models, tokenizers and reference outputs for the
native model runtime's tests (issue: native model runtime).

Everything is made here from seeds: no weights or data are downloaded.
Run on a machine with PyTorch, transformers, tokenizers and safetensors:

    python3 tools/refmodels/gen.py OUTDIR

OUTDIR receives:
  tokenizers/<name>/tokenizer.json      byte-level BPE (GPT-2 pre-tokenizer),
                                        byte-level BPE with the Llama-3 split
                                        pattern, SentencePiece-style BPE with
                                        byte fallback (Llama-2 style)
  tokenizers/reference.json             ids and decoded text of test strings
  models/<name>/config.json, model.safetensors (float32), tokenizer.json,
                generation_config.json
  models/reference.json                 per model: input ids, last-layer
                                        logits at several positions
  versions.json                         library versions used

The models are random: their outputs mean nothing, but any implementation of
the same architecture must reproduce them.
"""
import json
import os
import random
import sys

import torch
import tokenizers
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)

# ---------------------------------------------------------------------------
# A small deterministic corpus: English-like sentences, numbers, code-ish
# text, accents and a few non-Latin scripts and emoji.
rng = random.Random(1234)
WORDS = ("the of and to in is that for it as with was on be by at this from or an are "
         "which not have had one were all we when there can been has more if will "
         "needle haystack attention sparse dense block query key value token length "
         "model context window kernel score select top forced local init magic number "
         "city river mountain garden letter yellow quiet simple ancient modern").split()
EXTRA = ["naïve", "café", "Zürich", "straße", "日本語", "中文", "Привет", "🙂", "🚀", "γειά"]


def sentence():
    n = rng.randint(4, 14)
    ws = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.3:
        ws.insert(rng.randint(0, n), str(rng.randint(0, 99999)))
    if rng.random() < 0.2:
        ws.insert(rng.randint(0, n), rng.choice(EXTRA))
    s = " ".join(ws)
    s = s[0].upper() + s[1:]
    return s + rng.choice([".", "!", "?", ",", ":", "'s", " don't.", " (x=1)."])


CORPUS = [" ".join(sentence() for _ in range(rng.randint(1, 5))) for _ in range(3000)]
CORPUS += ["def f(x):\n    return x + 1\n", "  indented\ttabs\n\nnew lines  ", "a" * 40, "1234567890" * 3]

TESTS = [
    "The special magic number for Zürich is: 7281934.",
    "Hello world! It's a naïve café, isn't it? We'll see... 12345 + 678 = 13023",
    "  leading spaces, trailing spaces   \n\nnew\tlines and tabs\r\n",
    "日本語 and 中文 mixed with Привет and emoji 🙂🚀 ok",
    "don't DON'T I'm you're they've we'd",
    "",
    "x",
]

# ---------------------------------------------------------------------------
# Tokenizers.
VOCAB = 384
SPECIAL = ["<unk>", "<s>", "</s>"]


def byte_level(name, split_pattern=None):
    tok = Tokenizer(models.BPE())
    if split_pattern is None:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split_pattern), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIAL,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return name, tok


def sentencepiece_style(name):
    # Llama-2 style: "▁" for spaces (prepended once), BPE over characters,
    # bytes <0xNN> for characters outside the vocabulary.
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.pre_tokenizer = None
    tok.decoder = decoders.Sequence([
        decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    bytes_tokens = ["<0x%02X>" % i for i in range(256)]
    trainer = trainers.BpeTrainer(vocab_size=VOCAB + 256, special_tokens=SPECIAL + bytes_tokens,
                                  limit_alphabet=120, show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    return name, tok


# The Llama-3 / tiktoken-style split pattern (a fact of those tokenizers:
# contractions, letters, 1-3 digit groups, punctuation runs, newlines, and
# whitespace that is not followed by a non-space, which needs look-ahead).
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

TOKS = dict([
    byte_level("bytelevel-gpt2"),
    byte_level("bytelevel-llama3", LLAMA3_PATTERN),
    sentencepiece_style("sentencepiece-bpe"),
])

tok_ref = {}
for name, tok in TOKS.items():
    d = os.path.join(OUT, "tokenizers", name)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    cases = []
    for text in TESTS:
        enc = tok.encode(text, add_special_tokens=False)
        cases.append({"text": text, "ids": enc.ids, "tokens": enc.tokens,
                      "decoded": tok.decode(enc.ids, skip_special_tokens=False)})
    tok_ref[name] = {"vocab_size": tok.get_vocab_size(), "cases": cases}
with open(os.path.join(OUT, "tokenizers", "reference.json"), "w") as f:
    json.dump(tok_ref, f, ensure_ascii=False, indent=1)

# ---------------------------------------------------------------------------
# Models.
torch.manual_seed(0)
BASE = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-5,
            rope_theta=10000.0, bos_token_id=1, eos_token_id=2)


def rope(kind):
    if kind == "linear":
        return {"rope_type": "linear", "factor": 2.0}
    if kind == "dynamic":
        return {"rope_type": "dynamic", "factor": 2.0}
    if kind == "yarn":
        return {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 64}
    if kind == "llama3":
        return {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
    return None


SPECS = [
    # name, config class, model class, tokenizer, extra config
    ("llama", "LlamaConfig", "LlamaForCausalLM", "sentencepiece-bpe", {}),
    ("llama-tied", "LlamaConfig", "LlamaForCausalLM", "bytelevel-llama3", {"tie_word_embeddings": True}),
    ("llama-rope-linear", "LlamaConfig", "LlamaForCausalLM", "bytelevel-gpt2", {"rope_scaling": rope("linear")}),
    ("llama-rope-dynamic", "LlamaConfig", "LlamaForCausalLM", "bytelevel-gpt2", {"rope_scaling": rope("dynamic")}),
    ("llama-rope-yarn", "LlamaConfig", "LlamaForCausalLM", "bytelevel-gpt2", {"rope_scaling": rope("yarn")}),
    ("llama-rope-llama3", "LlamaConfig", "LlamaForCausalLM", "bytelevel-llama3", {"rope_scaling": rope("llama3")}),
    ("llama-mha", "LlamaConfig", "LlamaForCausalLM", "bytelevel-gpt2", {"num_key_value_heads": 4}),
    ("mistral", "MistralConfig", "MistralForCausalLM", "sentencepiece-bpe", {"sliding_window": None}),
    ("qwen2", "Qwen2Config", "Qwen2ForCausalLM", "bytelevel-llama3", {}),
    ("minicpm", "MiniCPMConfig", "MiniCPMForCausalLM", "sentencepiece-bpe",
     {"scale_emb": 12.0, "scale_depth": 1.4, "dim_model_base": 16}),
]

model_ref = {}
skipped = {}
for name, cfg_cls, mdl_cls, tok_name, extra in SPECS:
    if not hasattr(transformers, cfg_cls) or not hasattr(transformers, mdl_cls):
        skipped[name] = "transformers %s has no %s" % (transformers.__version__, mdl_cls)
        continue
    tok = TOKS[tok_name]
    cfg = dict(BASE, vocab_size=tok.get_vocab_size(), **extra)
    if cfg.get("rope_scaling") is None:
        cfg.pop("rope_scaling", None)
    try:
        config = getattr(transformers, cfg_cls)(**cfg)
        model = getattr(transformers, mdl_cls)(config).float().eval()
    except Exception as e:  # an architecture this version cannot build
        skipped[name] = repr(e)
        continue
    # Random but not tiny weights, so that logits differ clearly.
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.2)
        for n_, p in model.named_parameters():
            if "norm" in n_:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
    d = os.path.join(OUT, "models", name)
    model.save_pretrained(d, safe_serialization=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    inputs = []
    for text in TESTS[:4]:
        ids = [1] + tok.encode(text, add_special_tokens=False).ids
        ids = ids[:48]
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0]
        n = len(ids)
        positions = sorted({0, n // 2, n - 1})
        inputs.append({"text": text, "ids": ids, "positions": positions,
                       "logits": [[round(float(v), 7) for v in logits[p]] for p in positions]})
    model_ref[name] = {"architecture": mdl_cls, "tokenizer": tok_name, "config": cfg, "inputs": inputs}
    print("model", name, "ok", flush=True)

with open(os.path.join(OUT, "models", "reference.json"), "w") as f:
    json.dump({"models": model_ref, "skipped": skipped}, f, ensure_ascii=False)
with open(os.path.join(OUT, "versions.json"), "w") as f:
    json.dump({"torch": torch.__version__, "transformers": transformers.__version__,
               "tokenizers": tokenizers.__version__}, f, indent=1)
print("skipped:", skipped)
print("done")
