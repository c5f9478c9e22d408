#!/usr/bin/env python3
"""Train evalctl's embedded default model: a small Llama-architecture model
and its byte-level BPE tokenizer, on samples exported by
`evalctl datasets export` (see README.md beside this file for the exact
commands and timings).

    python3 train.py tokenizer --data tok.jsonl --vocab 4096 --out OUT
    python3 train.py train --data train.jsonl --tokenizer OUT/tokenizer.json \
        --out OUT --minutes 6
    python3 train.py pack --data train.jsonl --tokenizer OUT/tokenizer.json \
        --out train.pt      # tokenized once; then train --data train.pt

`tokenizer` trains the BPE tokenizer (GPT-2 byte-level pre-tokenizer, which
the Go runtime reads) on the prompts and answers of the exported samples.
`train` trains the model: each sample is [BOS] prompt answer [EOS], where the
answer is the references joined by ", "; the loss is the next-token
cross-entropy on the answer and EOS tokens plus 0.1 times the loss on the
prompt. Lengths follow a curriculum: batches of one length bucket at a time,
a constant number of tokens per step, short buckets first and longer ones
mixed in as training goes. The model is written in plain PyTorch (RMSNorm,
rotary embeddings in the Hugging Face rotate-half layout, grouped-query
attention through scaled_dot_product_attention, SwiGLU, tied embeddings) and
saved in Hugging Face Llama format (config.json, model.safetensors in
float16). The saved model is then reloaded with transformers'
LlamaForCausalLM to check that it computes the same logits, and reference
logits of the float16 weights are written for the Go runtime's test.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import infllm  # noqa: E402  (beside this file)


def read_jsonl(path):
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                out.append(json.loads(line))
    return out


def answer_of(s):
    return " " + ", ".join(s["references"])


# ---------------------------------------------------------------------------
def cmd_tokenizer(a):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    samples = read_jsonl(a.data)
    texts = []
    for s in samples:
        if s["kind"] == "generate":
            texts.append(s["prompt"] + answer_of(s))
        else:
            texts.append(s["context"] + s["continuation"])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=a.vocab, special_tokens=["<unk>", "<s>", "</s>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    os.makedirs(a.out, exist_ok=True)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    print("tokenizer: %d texts, vocab %d" % (len(texts), tok.get_vocab_size()), flush=True)


# The attention of every layer: a function (q [B,H,N,D], k and v [B,KV,N,D],
# rotated) -> o [B,H,N,D]. Dense causal attention (KV heads repeated for
# their query groups, scaled_dot_product_attention) unless
# `train --attention sparse` sets InfLLM-V2's (infllm.py, beside this file).
ATTENTION = infllm.dense_causal


# ---------------------------------------------------------------------------
class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        xf = x.float()
        xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * xf.to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, H, KV, D, I = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"], c["intermediate_size"]
        self.H, self.KV, self.D = H, KV, D
        self.input_layernorm = RMSNorm(h, c["rms_norm_eps"])
        self.post_attention_layernorm = RMSNorm(h, c["rms_norm_eps"])
        self.q_proj = nn.Linear(h, H * D, bias=False)
        self.k_proj = nn.Linear(h, KV * D, bias=False)
        self.v_proj = nn.Linear(h, KV * D, bias=False)
        self.o_proj = nn.Linear(H * D, h, bias=False)
        self.gate_proj = nn.Linear(h, I, bias=False)
        self.up_proj = nn.Linear(h, I, bias=False)
        self.down_proj = nn.Linear(I, h, bias=False)

    def forward(self, x, cos, sin):
        B, N, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, N, self.H, self.D).transpose(1, 2)
        k = self.k_proj(h).view(B, N, self.KV, self.D).transpose(1, 2)
        v = self.v_proj(h).view(B, N, self.KV, self.D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        o = ATTENTION(q, k, v)
        x = x + self.o_proj(o.transpose(1, 2).reshape(B, N, self.H * self.D))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList([Block(c) for _ in range(c["num_hidden_layers"])])
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        D = c["head_dim"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
        self.register_buffer("inv_freq", inv, persistent=False)

    def rope(self, n, device):
        pos = torch.arange(n, device=device, dtype=torch.float64)
        f = torch.outer(pos, self.inv_freq.to(device))
        emb = torch.cat((f, f), dim=-1)
        return emb.cos().float()[None, None], emb.sin().float()[None, None]

    def forward(self, ids):
        x = self.embed_tokens(ids)
        cos, sin = self.rope(ids.shape[1], ids.device)
        cos, sin = cos.to(x.dtype), sin.to(x.dtype)
        for layer in self.layers:
            x = layer(x, cos, sin)
        x = self.norm(x)
        return x @ self.embed_tokens.weight.T.to(x.dtype)

    def hf_state_dict(self):
        sd = {"model.embed_tokens.weight": self.embed_tokens.weight, "model.norm.weight": self.norm.weight}
        for i, l in enumerate(self.layers):
            p = "model.layers.%d." % i
            sd[p + "input_layernorm.weight"] = l.input_layernorm.weight
            sd[p + "post_attention_layernorm.weight"] = l.post_attention_layernorm.weight
            for n in ("q_proj", "k_proj", "v_proj", "o_proj"):
                sd[p + "self_attn.%s.weight" % n] = getattr(l, n).weight
            for n in ("gate_proj", "up_proj", "down_proj"):
                sd[p + "mlp.%s.weight" % n] = getattr(l, n).weight
        return sd


def hf_config(c):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
            "attention_bias": False, "mlp_bias": False, "tie_word_embeddings": True,
            "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16", "rope_scaling": None, **c}


# ---------------------------------------------------------------------------
# Samples: each is [BOS] prompt answer [EOS]; the prompt part (BOS included)
# has loss weight --prompt-weight, the answer and EOS 1. At most 4 samples
# per (task, parameters, length), and at most a tenth of them, are held out
# for the accuracy curves. A pack (`train.py pack`) is this tokenization
# saved once, so that several trainings on the same data skip it.
def pack_samples(path, tok):
    samples = [s for s in read_jsonl(path) if s["kind"] == "generate"]
    prompts = tok.encode_batch([s["prompt"] for s in samples], add_special_tokens=False)
    answers = tok.encode_batch([answer_of(s) for s in samples], add_special_tokens=False)
    keys = [(s["length"], s["task"], json.dumps(s["task_params"], sort_keys=True)) for s in samples]
    group = {}
    for key in keys:
        group[key] = group.get(key, 0) + 1
    held, seqs, nps, lens = [], [], [], []
    nheld = {}
    for s, key, p, an in zip(samples, keys, prompts, answers):
        ids = [1] + p.ids + an.ids + [2]
        np_ = 1 + len(p.ids)
        if nheld.get(key, 0) < min(4, group[key] // 10):
            nheld[key] = nheld.get(key, 0) + 1
            held.append({"length": s["length"], "task": s["task"], "params": key[2], "prompt": ids[:np_],
                         "references": s["references"], "max_tokens": s.get("max_tokens") or 24})
            continue
        seqs.append(torch.tensor(ids, dtype=torch.int16))
        nps.append(np_)
        lens.append(s["length"])
    offsets = [0]
    for q in seqs:
        offsets.append(offsets[-1] + len(q))
    return {"n": len(samples), "held": held, "tokens": torch.cat(seqs), "offsets": torch.tensor(offsets),
            "prompt_len": torch.tensor(nps), "length": torch.tensor(lens)}


def unpack(pk):
    held = {}
    for h in pk["held"]:
        held.setdefault((h["length"], (h["task"], h["params"])), []).append((h["prompt"], h["references"], h))
    buckets = {}
    off, toks = pk["offsets"].tolist(), pk["tokens"]
    for i, (np_, L) in enumerate(zip(pk["prompt_len"].tolist(), pk["length"].tolist())):
        buckets.setdefault(L, []).append((toks[off[i]:off[i + 1]], np_))
    return held, buckets


def cmd_pack(a):
    from tokenizers import Tokenizer
    t0 = time.time()
    pk = pack_samples(a.data, Tokenizer.from_file(a.tokenizer))
    torch.save(pk, a.out)
    print("packed %d samples (%d held out, %d tokens) in %.1fs" % (pk["n"], len(pk["held"]), len(pk["tokens"]),
          time.time() - t0), flush=True)


def grow_layers(sd, plan, n_old):
    """Weights for a deeper model from a shallower one's (depth up-scaling):
    new layer i copies old layer plan[i]; a copy after the first one of the
    same old layer gets zero o_proj and down_proj, so it adds nothing to the
    residual stream at first and the grown model computes what the old one
    did."""
    if sorted(set(plan)) != list(range(n_old)):
        sys.exit("--grow %s must name every one of the %d old layers" % (plan, n_old))
    out = {k: v for k, v in sd.items() if not k.startswith("model.layers.")}
    seen = set()
    for i, j in enumerate(plan):
        src, dst = "model.layers.%d." % j, "model.layers.%d." % i
        for k, v in sd.items():
            if k.startswith(src):
                w = v.clone()
                if j in seen and (k.endswith("o_proj.weight") or k.endswith("down_proj.weight")):
                    w.zero_()
                out[dst + k[len(src):]] = w
        seen.add(j)
    return out


def cmd_train(a):
    global ATTENTION
    from tokenizers import Tokenizer
    if a.attention == "sparse":
        # InfLLM-V2 sparse attention in every layer's forward pass (the
        # paper's short-to-long adaptation).
        cfg = infllm.InfLLMConfig(block_size=a.block_size, kernel_size=a.kernel_size, kernel_stride=a.kernel_stride,
                                  init_blocks=a.init_blocks, local_blocks=a.local_blocks, topk=a.topk)
        ATTENTION = infllm.make_attention(cfg)
        print("attention: InfLLM-V2 sparse,", cfg.describe(), flush=True)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    dev = "cuda"
    tok = Tokenizer.from_file(a.tokenizer)
    V = tok.get_vocab_size()
    c = dict(vocab_size=V, hidden_size=a.hidden, intermediate_size=a.ffn, num_hidden_layers=a.layers,
             num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.hidden // a.heads,
             max_position_embeddings=a.max_pos, rms_norm_eps=1e-5, rope_theta=a.theta)
    t0 = time.time()
    packed = a.data.endswith(".pt")
    pk = torch.load(a.data) if packed else pack_samples(a.data, tok)
    held, buckets = unpack(pk)
    print("%d samples (%s) in %.1fs; buckets %s" % (pk["n"], "packed" if packed else "tokenized",
          time.time() - t0, {k: len(v) for k, v in sorted(buckets.items())}), flush=True)

    model = Model(c).to(dev)
    if a.init:
        # Continue from an earlier run's weights (same shapes, or grown).
        from safetensors.torch import load_file
        sd = load_file(os.path.join(a.init, "model.safetensors"))
        if a.grow:
            plan = [int(v) for v in a.grow.split(",")]
            if len(plan) != a.layers:
                sys.exit("--grow names %d layers, --layers is %d" % (len(plan), a.layers))
            n_old = 1 + max(int(k.split(".")[2]) for k in sd if k.startswith("model.layers."))
            sd = grow_layers(sd, plan, n_old)
            print("grown from %d to %d layers: %s" % (n_old, a.layers, plan), flush=True)
        with torch.no_grad():
            for k, v in model.hf_state_dict().items():
                v.copy_(sd[k].float())
        print("initialised from", a.init, flush=True)
    nparam = sum(p.numel() for p in model.parameters())
    print("params %.2fM" % (nparam / 1e6), flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), weight_decay=0.05)
    lengths = sorted(buckets)
    budget = a.minutes * 60
    log = {"config": c, "args": vars(a), "steps": [], "evals": []}
    start = time.time()
    step = 0

    fixed = None
    if a.bucket_weights:
        fixed = {}
        for part in a.bucket_weights.split(","):
            k, v = part.split(":")
            fixed[int(k)] = float(v)
        missing = [k for k in fixed if k not in buckets]
        if missing:
            sys.exit("--bucket-weights names lengths with no samples: %s" % missing)

    def bucket_for(frac):
        if fixed is not None:
            ks = sorted(fixed)
            return random.choices(ks, weights=[fixed[k] for k in ks])[0]
        # Curriculum: during the first 30% only the two shortest buckets;
        # then every bucket, longer ones more often as training goes. A
        # continued run (--init) starts after the short-only phase.
        if a.init:
            frac = 0.3 + 0.7 * frac
        if frac < 0.3:
            return random.choice(lengths[:2])
        w = [1.0 + 3.0 * frac * i / max(1, len(lengths) - 1) for i in range(len(lengths))]
        return random.choices(lengths, weights=w)[0]

    def evaluate(n_per=2, max_len=None):
        model.eval()
        res = {}
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
            for (L, key), items in sorted(held.items()):
                if max_len and L > max_len:
                    continue
                ok = 0
                for ids, refs, h in items[:n_per]:
                    x = torch.tensor([ids], device=dev)
                    out = []
                    for _ in range(min(24, h["max_tokens"])):
                        nxt = int(model(x)[0, -1].argmax())
                        if nxt == 2:
                            break
                        out.append(nxt)
                        x = torch.cat([x, torch.tensor([[nxt]], device=dev)], 1)
                    text = tok.decode(out).lower()
                    ok += sum(r.lower() in text for r in refs) / max(1, len(refs))
                p = json.loads(key[1])
                short = ",".join("%s=%s" % (k, p[k]) for k in ("kind", "haystack", "keys", "hops", "source") if k in p)
                res["%s(%s)|%d" % (key[0], short, L)] = ok / len(items[:n_per])
        model.train()
        return res

    model.train()
    while True:
        el = time.time() - start
        if el > budget:
            break
        if a.steps and step >= a.steps:
            break
        # Progress: elapsed time over the budget, or steps over --steps,
        # whichever is further.
        frac = max(el / budget, step / a.steps if a.steps else 0.0)
        lr = a.lr * min(1.0, (step + 1) / a.warmup) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        L = bucket_for(frac)
        pool = buckets[L]
        bs = max(1, a.tokens_per_step // L)
        batch = [random.choice(pool) for _ in range(bs)]
        n = max(len(ids) for ids, _ in batch)
        if a.attention == "sparse":
            # Few distinct lengths for the compiled sparse kernel: the model
            # input (n-1 tokens) is padded to a multiple of 1024.
            n = -(-(n - 1) // 1024) * 1024 + 1
        x = torch.zeros((bs, n), dtype=torch.long)
        w = torch.zeros((bs, n))
        for i, (ids, np_) in enumerate(batch):
            x[i, :len(ids)] = ids
            w[i, :len(ids) - 1] = a.prompt_weight
            w[i, np_ - 1:len(ids) - 1] = 1.0
        x, w = x.to(dev), w.to(dev)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            logits = model(x[:, :-1])
        loss_tok = F.cross_entropy(logits.float().reshape(-1, V), x[:, 1:].reshape(-1), reduction="none")
        wt = w[:, :-1].reshape(-1)
        loss = (loss_tok * wt).sum() / wt.sum()
        ans = wt == 1.0  # a.prompt_weight < 1
        ans_loss = float((loss_tok.detach() * ans).sum() / ans.sum())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 25 == 0:
            log["steps"].append({"step": step, "seconds": round(time.time() - start, 1), "length": L,
                                 "loss": round(float(loss), 4), "answer_loss": round(ans_loss, 4), "lr": lr})
        if step % 200 == 0 or (a.attention == "sparse" and step % 25 == 0):
            print("step %d %.0fs len %d loss %.3f answer %.3f" % (step, time.time() - start, L, float(loss), ans_loss), flush=True)
        if step % a.eval_every == 0:
            r = evaluate(1, max_len=4096)
            log["evals"].append({"step": step, "seconds": round(time.time() - start, 1), "accuracy": r})
            print("eval", step, json.dumps(r), flush=True)
    if a.final_eval > 0:
        final = evaluate(a.final_eval)
        log["evals"].append({"step": step, "seconds": round(time.time() - start, 1), "accuracy": final, "final": True})
        print("final", json.dumps(final), flush=True)
    save(a, model, c, tok, log)


def save(a, model, c, tok, log):
    from safetensors.torch import save_file
    os.makedirs(a.out, exist_ok=True)
    sd = {k: v.detach().to(torch.float16).contiguous().cpu() for k, v in model.hf_state_dict().items()}
    save_file(sd, os.path.join(a.out, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(hf_config(c), f, indent=1)
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": 1, "eos_token_id": 2}, f, indent=1)
    with open(os.path.join(a.out, "tokenizer_config.json"), "w") as f:
        json.dump({"add_bos_token": True, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f, indent=1)
    tok.save(os.path.join(a.out, "tokenizer.json"))
    with open(os.path.join(a.out, "training_log.json"), "w") as f:
        json.dump(log, f)
    # Check against transformers and write references for the Go test.
    import transformers
    hf = transformers.LlamaForCausalLM.from_pretrained(a.out, torch_dtype=torch.float32).eval()
    texts = ["The special magic number for quiet-river is: 7281934. What is the special magic number for quiet-river?",
             "The grass is green. The sky is blue. The pass key is 48213. Remember it. What is the pass key?"]
    refs = []
    with torch.no_grad():
        for t in texts:
            ids = [1] + tok.encode(t, add_special_tokens=False).ids
            lg = hf(torch.tensor([ids])).logits[0]
            n = len(ids)
            pos = sorted({0, n // 2, n - 1})
            refs.append({"text": t, "ids": ids, "positions": pos,
                         "logits": [[round(float(v), 6) for v in lg[p]] for p in pos]})
        # Our module on the same float16-rounded weights, in float32.
        mine = Model(c).eval()
        for k, v in mine.hf_state_dict().items():
            v.data.copy_(sd[k].float())
        ids = refs[0]["ids"]
        d = (mine(torch.tensor([ids]))[0] - hf(torch.tensor([ids])).logits[0]).abs().max().item()
        print("own module vs transformers, max |logit diff|: %.2g" % d, flush=True)
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump({"transformers": transformers.__version__, "torch": torch.__version__, "inputs": refs,
                   "own_vs_transformers_max_diff": d}, f)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("tokenizer")
    t.add_argument("--data", required=True)
    t.add_argument("--vocab", type=int, default=4096)
    t.add_argument("--out", required=True)
    r = sub.add_parser("train")
    r.add_argument("--data", required=True)
    r.add_argument("--tokenizer", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--minutes", type=float, default=6)
    r.add_argument("--hidden", type=int, default=256)
    r.add_argument("--ffn", type=int, default=768)
    r.add_argument("--layers", type=int, default=4)
    r.add_argument("--heads", type=int, default=4)
    r.add_argument("--kv-heads", type=int, default=2)
    r.add_argument("--theta", type=float, default=1e6)
    r.add_argument("--max-pos", type=int, default=65536)
    r.add_argument("--lr", type=float, default=2e-3)
    r.add_argument("--warmup", type=int, default=200, help="learning-rate warm-up steps")
    r.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: only --minutes); the schedule follows whichever ends first")
    r.add_argument("--tokens-per-step", type=int, default=65536)
    r.add_argument("--eval-every", type=int, default=500)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--final-eval", type=int, default=4, help="held-out samples per task and length in the final evaluation (0: none)")
    r.add_argument("--prompt-weight", type=float, default=0.1, help="loss weight of the prompt tokens (the answer and EOS have 1)")
    r.add_argument("--bucket-weights", default="", help="fixed sampling weights of the length buckets instead of the curriculum, e.g. 512:3,1024:3,32768:1")
    r.add_argument("--attention", choices=["dense", "sparse"], default="dense",
                   help="attention in the training loop: dense, or InfLLM-V2 sparse (infllm.py) with the parameters below")
    r.add_argument("--block-size", type=int, default=64)
    r.add_argument("--kernel-size", type=int, default=32)
    r.add_argument("--kernel-stride", type=int, default=16)
    r.add_argument("--init-blocks", type=int, default=1)
    r.add_argument("--local-blocks", type=int, default=32)
    r.add_argument("--topk", type=int, default=96)
    r.add_argument("--init", default="", help="directory of an earlier model.safetensors to continue from")
    r.add_argument("--grow", default="",
                   help="with --init of fewer layers: the old layer each new one starts from, e.g. 0,1,1,2,3,3 (repeats start as identity)")
    k = sub.add_parser("pack", help="tokenize exported samples once, for train --data FILE.pt")
    k.add_argument("--data", required=True)
    k.add_argument("--tokenizer", required=True)
    k.add_argument("--out", required=True)
    a = p.parse_args()
    {"tokenizer": cmd_tokenizer, "train": cmd_train, "pack": cmd_pack}[a.cmd](a)


if __name__ == "__main__":
    main()
