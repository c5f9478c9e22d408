"""Tests of infllm.py (InfLLM-V2 sparse attention for training).

    python3 tools/trainmodel/test_infllm.py

On any machine with torch (1.13 or later):
- the selection and the reference attention against the Go reference
  (testdata/infllm_fixture.json, written by `go run
  ./tools/trainmodel/infllmfixture -out tools/trainmodel/testdata/infllm_fixture.json`):
  the same blocks for every (token, KV head) and outputs within 1e-4;
- the selection against a plain loop written from infllm-v2.md, for more
  shapes and configurations, and for every chunk size;
- sparse = dense causal attention when topk covers every block (outputs
  and gradients), and make_attention's dense shortcut;
- the flex BlockMask tables against a brute-force tiling of the token mask.
With CUDA and flex_attention (torch >= 2.5) also:
- the selection on the GPU (float32 scores) against the CPU (float64);
- sparse_attention_flex against the reference at N=4096 (bf16 tolerance,
  outputs and gradients), with both BlockMask builders;
- peak memory of select_blocks at N=32768, B=2, H=4, KV=2, D=64;
- the time of one forward+backward at N=16384 with the default config,
  next to dense SDPA.
Exits 1 when a check fails.
"""

import base64
import json
import math
import os
import sys
import time
import traceback

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import infllm  # noqa: E402
from infllm import InfLLMConfig  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata", "infllm_fixture.json")


# ---------------------------------------------------------------------------
# helpers


def decode_int8(s, shape, scale):
    t = torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.int8).to(torch.float64) * scale
    return t.reshape(shape)


def decode_f32(s, shape):
    return torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.float32).reshape(shape)


def load_case(c):
    """Go's token-major [N, heads, D] -> [1, heads, N, D] float64 (exact: the
    inputs are multiples of 1/32)."""
    N, H, KV, D = c["n"], c["heads"], c["kv_heads"], c["head_dim"]
    sc = c["input_scale"]
    q = decode_int8(c["q_int8"], (N, H, D), sc).permute(1, 0, 2)[None]
    k = decode_int8(c["k_int8"], (N, KV, D), sc).permute(1, 0, 2)[None]
    v = decode_int8(c["v_int8"], (N, KV, D), sc).permute(1, 0, 2)[None]
    out = decode_f32(c["out_f32le"], (N, H, D)).permute(1, 0, 2)[None]
    cfg = InfLLMConfig(**c["config"])
    return q.contiguous(), k.contiguous(), v.contiguous(), out.contiguous(), cfg


def sel_lists(sel):
    """sel [1, KV, N, nb] -> Go's Selected order: [t*KV + g] -> sorted blocks."""
    _, KV, N, _ = sel.shape
    return [torch.nonzero(sel[0, g, t]).flatten().tolist() for t in range(N) for g in range(KV)]


def attended_tokens(sel, block_size):
    return int(infllm.token_mask(sel, block_size).sum())


def select_loop(q, k, cfg):
    """Steps 1-5 of infllm-v2.md one query token at a time, in Python floats:
    an independent oracle for select_blocks (ties: lower index first, forced
    first; -inf dropped)."""
    B, H, N, D = q.shape
    KV = k.shape[1]
    G = H // KV
    bs, size, stride = cfg.block_size, cfg.kernel_size, cfg.kernel_stride
    nb = -(-N // bs)
    r = bs // stride
    sel = torch.zeros((B, KV, N, nb), dtype=torch.bool)
    for b in range(B):
        for g in range(KV):
            kern = [k[b, g, i * stride:i * stride + size].double().mean(0).float().double()
                    for i in range(infllm.visible_count(N, size, stride))]
            for t in range(N):
                nk = infllm.visible_count(t + 1, size, stride)
                s = [0.0] * nk
                for a in range(G):
                    qa = q[b, g * G + a, t].double()
                    z = [float(qa @ kern[i]) / math.sqrt(D) for i in range(nk)]
                    if nk:
                        m = max(z)
                        lse = m + math.log(sum(math.exp(x - m) for x in z))
                        for i in range(nk):
                            s[i] += math.exp(z[i] - lse)
                bq = t // bs
                cand = []  # (rank key, block)
                for j in range(bq + 1):
                    if j < cfg.init_blocks or bq - cfg.local_blocks <= j:
                        cand.append(((0, 0.0, j), j))
                        continue
                    window = [s[i] for i in range(max(j * r - 1, 0), min(j * r + r - 1, nk - 1) + 1)]
                    if window:
                        cand.append(((1, -max(window), j), j))
                cand.sort()
                for _, j in cand[:cfg.topk]:
                    sel[b, g, t, j] = True
    return sel


CHECKS = []


def check(fn):
    CHECKS.append(fn)
    return fn


def maxdiff(a, b):
    return float((a.double() - b.double()).abs().max())


# ---------------------------------------------------------------------------
# CPU checks


@check
def go_fixture():
    with open(FIXTURE) as f:
        cases = json.load(f)["cases"]
    notes = []
    for c in cases:
        q, k, v, want, cfg = load_case(c)
        name = c["name"]
        # float64 scoring, as Go scores.
        sel = infllm.select_blocks(q, k, cfg, q_chunk=256)
        got_sel = sel_lists(sel)
        bad = [i for i, (a, b) in enumerate(zip(got_sel, c["selected"])) if a != b]
        assert len(got_sel) == len(c["selected"]), name
        assert not bad, "%s: %d (token, KV head) selections differ from Go, first t=%d g=%d: ours %s, Go %s" % (
            name, len(bad), bad[0] // c["kv_heads"], bad[0] % c["kv_heads"], got_sel[bad[0]], c["selected"][bad[0]])
        assert attended_tokens(sel, cfg.block_size) == c["tokens"], name
        out = infllm.sparse_attention_reference(q, k, v, cfg, sel=sel)
        d64 = maxdiff(out, want)
        assert d64 < 1e-4, "%s: float64 reference vs Go: max |diff| %.3g" % (name, d64)
        # float32 inputs, float32 scores and softmax (the training dtype
        # path, on the CPU).
        q32, k32, v32 = q.float(), k.float(), v.float()
        sel32 = infllm.select_blocks(q32, k32, cfg)
        flips = int((sel32 != sel).any(-1).sum())
        out32 = infllm.sparse_attention_reference(q32, k32, v32, cfg)
        d32 = maxdiff(out32, want)
        assert flips == 0 and d32 < 1e-4, "%s: float32 path: %d selections flip, max |diff| %.3g" % (name, flips, d32)
        # How often the top-k cut falls inside a tie: the tie rule matters.
        kc = infllm.compress_keys(k, cfg, torch.float64)
        score = infllm.block_scores(q, kc, cfg, 0, q.shape[2], torch.float64)
        vals = torch.sort(score, dim=-1, descending=True, stable=True).values
        ties = 0
        if vals.shape[-1] > cfg.topk:
            last, nxt = vals[..., cfg.topk - 1], vals[..., cfg.topk]
            ties = int(((last == nxt) & torch.isfinite(last)).sum())
        rows = c["n"] * c["kv_heads"]
        notes.append("%s: N=%d %d/%d rows cut inside a tie, attended %.1f%%, float64 %.1e, float32 %.1e"
                     % (name, c["n"], ties, rows, 100.0 * c["tokens"] / c["visible_tokens"], d64, d32))
    return "; ".join(notes)


def cfg_of(bs, ks, stride, init, local, topk):
    return InfLLMConfig(block_size=bs, kernel_size=ks, kernel_stride=stride, init_blocks=init,
                        local_blocks=local, topk=topk)


LOOP_CASES = [
    # (B, H, KV, N, D, config: block, kernel, stride, init, local, topk)
    (2, 4, 2, 333, 8, cfg_of(32, 32, 16, 1, 2, 5)),
    (1, 4, 1, 260, 8, cfg_of(16, 16, 8, 2, 1, 7)),    # init 2: more than the first tokens have
    (1, 3, 3, 200, 4, cfg_of(16, 40, 8, 0, 1, 4)),    # kernels longer than blocks, no init
    (1, 2, 1, 150, 4, cfg_of(8, 8, 8, 1, 0, 3)),      # no local window, kernels = blocks
    (1, 2, 2, 130, 4, cfg_of(16, 16, 8, 1, 1, 100)),  # topk above the block count
    (1, 2, 1, 20, 4, InfLLMConfig()),                 # defaults, shorter than a kernel window
]


@check
def loop_oracle_and_chunks():
    g = torch.Generator().manual_seed(5)
    for B, H, KV, N, D, cfg in LOOP_CASES:
        q = torch.randn((B, H, N, D), generator=g, dtype=torch.float64)
        k = torch.randn((B, KV, N, D), generator=g, dtype=torch.float64)
        want = select_loop(q, k, cfg)
        for chunk in (N, 64, 37, 1):
            got = infllm.select_blocks(q, k, cfg, q_chunk=chunk)
            nbad = int((got != want).any(-1).sum())
            assert nbad == 0, "%s N=%d chunk %d: %d rows differ from the loop" % (cfg.describe(), N, chunk, nbad)
    # Ties on purpose: equal keys make every kernel, hence every block, score
    # the same; the lowest scored blocks must win.
    cfg = cfg_of(16, 16, 8, 1, 1, 4)
    q = torch.randn((1, 2, 160, 4), generator=g, dtype=torch.float64)
    k = torch.ones((1, 1, 160, 4), dtype=torch.float64)
    sel = infllm.select_blocks(q, k, cfg)
    assert torch.equal(sel, select_loop(q, k, cfg))
    assert sel[0, 0, 159].nonzero().flatten().tolist() == [0, 1, 8, 9]
    return "%d configurations, chunks N/64/37/1, forced ties" % len(LOOP_CASES)


@check
def dense_when_every_block_fits():
    g = torch.Generator().manual_seed(7)
    B, H, KV, N, D = 2, 4, 2, 300, 16
    cfg = cfg_of(32, 32, 16, 1, 2, 10)
    q = torch.randn((B, H, N, D), generator=g, dtype=torch.float64, requires_grad=True)
    k = torch.randn((B, KV, N, D), generator=g, dtype=torch.float64, requires_grad=True)
    v = torch.randn((B, KV, N, D), generator=g, dtype=torch.float64, requires_grad=True)
    sel = infllm.select_blocks(q, k, cfg)
    causal = (torch.arange(sel.shape[-1])[None, :] <= (torch.arange(N) // cfg.block_size)[:, None])
    assert torch.equal(sel, causal.expand_as(sel)), "topk >= blocks must select every causal block"
    o = infllm.sparse_attention_reference(q, k, v, cfg, sel=sel)
    d = infllm.dense_causal(q, k, v)
    gs = torch.autograd.grad((o * o).sum(), (q, k, v))
    gd = torch.autograd.grad((d * d).sum(), (q, k, v))
    dout = maxdiff(o, d)
    dgrad = max(maxdiff(a, b) for a, b in zip(gs, gd))
    assert dout < 1e-10 and dgrad < 1e-10, "sparse vs dense: out %.3g grad %.3g" % (dout, dgrad)
    # make_attention: N <= topk*block_size answers densely (and exactly).
    att = infllm.make_attention(cfg)
    d2 = maxdiff(att(q.float(), k.float(), v.float()), d)
    assert d2 < 1e-5, "make_attention dense shortcut: %.3g" % d2
    # Beyond it, sparse: on the CPU the reference.
    cfg2 = cfg_of(32, 32, 16, 1, 2, 5)
    att2 = infllm.make_attention(cfg2)
    d3 = maxdiff(att2(q.detach(), k.detach(), v.detach()),
                 infllm.sparse_attention_reference(q.detach(), k.detach(), v.detach(), cfg2))
    assert d3 == 0, "make_attention sparse path: %.3g" % d3
    return "out %.1e, grads %.1e" % (dout, dgrad)


def tables_brute_force(sel_pad, block_size, tile):
    """Partial and full tiles from the token-level mask itself."""
    B, KV, Np, _ = sel_pad.shape
    mask = infllm.token_mask(sel_pad, block_size)  # causal & selected
    R = Np // tile
    t = mask.reshape(B, KV, R, tile, R, tile)
    anyt, allt = t.any(5).any(3), t.all(5).all(3)
    return anyt & ~allt, allt


@check
def flex_tables():
    g = torch.Generator().manual_seed(11)
    n = 0
    for N, bs, topk, local in ((300, 16, 6, 2), (1000, 64, 6, 2), (700, 32, 8, 3), (1300, 256, 3, 1), (512, 128, 2, 0)):
        cfg = cfg_of(bs, min(32, bs), min(16, bs), 1, local, topk)
        q = torch.randn((2, 4, N, 8), generator=g)
        k = torch.randn((2, 2, N, 8), generator=g)
        sel = infllm.select_blocks(q, k, cfg)
        n_pad = -(-N // 128) * 128
        sel_pad = infllm.pad_selection(sel, n_pad, bs)
        assert torch.equal(sel_pad[:, :, :N, :sel.shape[-1]], sel)
        kv_num, kv_idx, full_num, full_idx = infllm.flex_block_tables(sel_pad, bs)
        partial, full = tables_brute_force(sel_pad, bs, 128)
        for num, idx, want in ((kv_num, kv_idx, partial), (full_num, full_idx, full)):
            got = torch.zeros_like(want)
            R = want.shape[-1]
            for b in range(2):
                for h in range(2):
                    for r in range(R):
                        got[b, h, r, idx[b, h, r, :num[b, h, r]].long()] = True
            assert torch.equal(got, want), "N=%d block_size=%d: tables differ from the brute force" % (N, bs)
            assert torch.equal(num, want.sum(-1).to(torch.int32))
        # Padded rows attend to their own block only, and some key.
        if n_pad > N:
            m = infllm.token_mask(sel_pad, bs)[:, :, N:]
            assert bool(m.any(-1).all())
        n += 1
    return "%d shapes (block sizes 16..256, padded and unpadded)" % n


@check
def config_validation():
    bad = [dict(block_size=60), dict(kernel_size=8), dict(topk=32), dict(lse="approx"), dict(use_nope=True),
           dict(init_blocks=-1)]
    for kw in bad:
        try:
            InfLLMConfig(**kw).validate()
        except ValueError:
            continue
        raise AssertionError("accepted %s" % kw)
    InfLLMConfig().validate()
    return InfLLMConfig().describe()


# ---------------------------------------------------------------------------
# GPU checks (CUDA and flex_attention)


def gpu_ready():
    return torch.cuda.is_available() and infllm.FLEX_AVAILABLE


@check
def gpu_selection_vs_cpu():
    if not gpu_ready():
        return None
    g = torch.Generator().manual_seed(13)
    B, H, KV, N, D = 2, 4, 2, 4096, 64
    cfg = InfLLMConfig(local_blocks=8, topk=24)
    q = torch.randn((B, H, N, D), generator=g)
    k = torch.randn((B, KV, N, D), generator=g)
    cpu = infllm.select_blocks(q.double(), k.double(), cfg)
    gpu = infllm.select_blocks(q.cuda(), k.cuda(), cfg).cpu()
    flips = int((gpu != cpu).any(-1).sum())
    rows = B * KV * N
    assert flips <= rows // 1000, "%d of %d rows select differently in float32 on the GPU" % (flips, rows)
    return "%d of %d rows differ (float32 near-ties)" % (flips, rows)


@check
def gpu_flex_vs_reference():
    if not gpu_ready():
        return None
    torch.manual_seed(17)
    B, H, KV, N, D = 2, 4, 2, 4096, 64
    cfg = InfLLMConfig(local_blocks=8, topk=24)  # 64 blocks, 24 selected: sparse
    dev = "cuda"
    q = torch.randn((B, H, N, D), device=dev, dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn((B, KV, N, D), device=dev, dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn((B, KV, N, D), device=dev, dtype=torch.bfloat16, requires_grad=True)
    sel = infllm.select_blocks(q, k, cfg)
    dout = torch.randn((B, H, N, D), device=dev)
    ref = infllm.sparse_attention_reference(q, k, v, cfg, sel=sel)  # float32 math, bf16 out
    gref = torch.autograd.grad(ref.float(), (q, k, v), dout)
    notes = []
    for builder in ("tables", "create_block_mask"):
        o = infllm.sparse_attention_flex(q, k, v, cfg, sel=sel, builder=builder)
        gflex = torch.autograd.grad(o.float(), (q, k, v), dout)
        do = maxdiff(o, ref)
        dg = [maxdiff(a, b) / max(1e-6, float(b.double().abs().max())) for a, b in zip(gflex, gref)]
        assert do < 3e-2, "%s: flex vs reference: max |out diff| %.3g" % (builder, do)
        assert max(dg) < 3e-2, "%s: flex vs reference: relative grad diffs q %.3g k %.3g v %.3g" % (builder, *dg)
        notes.append("%s: out %.1e, grad rel q %.1e k %.1e v %.1e" % (builder, do, *dg))
    # The two builders must give the same tables.
    n_pad = N  # 4096 is a multiple of 128
    a = infllm.flex_block_mask(sel, n_pad, H, cfg.block_size, builder="tables")
    b = infllm.flex_block_mask(sel, n_pad, H, cfg.block_size, builder="create_block_mask")
    for name in ("kv_num_blocks", "full_kv_num_blocks"):
        assert torch.equal(getattr(a, name), getattr(b, name)), "builders differ in %s" % name
    # An N that is not a multiple of 128 (padding), via make_attention.
    n2 = 3001
    att = infllm.make_attention(InfLLMConfig(local_blocks=4, topk=12))
    q2, k2, v2 = (t[:, :, :n2].detach() for t in (q, k, v))
    d2 = maxdiff(att(q2, k2, v2), infllm.sparse_attention_reference(q2, k2, v2, att.cfg))
    assert d2 < 3e-2, "N=%d (padded): %.3g" % (n2, d2)
    notes.append("N=%d padded %.1e" % (n2, d2))
    return "; ".join(notes)


@check
def gpu_selection_memory():
    if not gpu_ready():
        return None
    B, H, KV, N, D = 2, 4, 2, 32768, 64
    q = torch.randn((B, H, N, D), device="cuda", dtype=torch.bfloat16)
    k = torch.randn((B, KV, N, D), device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.time()
    sel = infllm.select_blocks(q, k, InfLLMConfig())
    torch.cuda.synchronize()
    dt = time.time() - t0
    peak = (torch.cuda.max_memory_allocated() - base) / 2**30
    assert peak < 4, "select_blocks peak %.2f GiB" % peak
    per_row = sel.sum(-1).float()
    return "peak %.2f GiB above inputs, %.3f s, blocks per row min %d max %d" % (
        peak, dt, int(per_row.min()), int(per_row.max()))


@check
def gpu_timing():
    if not gpu_ready():
        return None
    B, H, KV, N, D = 4, 4, 2, 16384, 64  # 65536 tokens, train.py's default step
    dev = "cuda"
    q = torch.randn((B, H, N, D), device=dev, dtype=torch.bfloat16, requires_grad=True)
    k = torch.randn((B, KV, N, D), device=dev, dtype=torch.bfloat16, requires_grad=True)
    v = torch.randn((B, KV, N, D), device=dev, dtype=torch.bfloat16, requires_grad=True)
    cfg = InfLLMConfig()
    sparse = infllm.make_attention(cfg)

    def run(fn, reps=3):
        fn(q, k, v).sum().backward()  # warm-up (compiles the first time)
        torch.cuda.synchronize()
        t0 = time.time()
        for _ in range(reps):
            fn(q, k, v).sum().backward()
        torch.cuda.synchronize()
        return (time.time() - t0) / reps

    ts = run(sparse)
    td = run(infllm.dense_causal)
    torch.cuda.synchronize()
    t0 = time.time()
    for _ in range(3):
        infllm.select_blocks(q, k, cfg)
    torch.cuda.synchronize()
    tsel = (time.time() - t0) / 3
    return "fwd+bwd at B=%d N=%d: sparse %.1f ms (selection %.1f ms), dense SDPA %.1f ms" % (
        B, N, 1e3 * ts, 1e3 * tsel, 1e3 * td)

# ---------------------------------------------------------------------------
# train.py's data and model helpers (they need torch only).
@check
def check_grow_layers():
    """Depth up-scaling keeps the function: a grown model's logits equal the
    old one's for every plan (repeats start with zero output projections),
    and a plan that drops an old layer is refused."""
    import train
    c = dict(vocab_size=50, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
             num_key_value_heads=2, head_dim=8, max_position_embeddings=256, rms_norm_eps=1e-5, rope_theta=1e4)
    torch.manual_seed(0)
    old = train.Model(c)
    sd = {k: v.detach().clone() for k, v in old.hf_state_dict().items()}
    ids = torch.randint(0, 50, (2, 20))
    worst = 0.0
    six = train.grow_layers(sd, [0, 1, 1, 2, 3, 3], 4)
    for plan in ([0, 1, 1, 2, 3, 3], [0, 0, 1, 1, 2, 2, 3, 3], [0, 1, 2, 3]):
        m = train.Model(dict(c, num_hidden_layers=len(plan)))
        g = train.grow_layers(sd, plan, 4)
        with torch.no_grad():
            for k, v in m.hf_state_dict().items():
                v.copy_(g[k])
            d = maxdiff(m(ids), old(ids))
        assert d < 1e-5, "plan %s: logits differ by %g" % (plan, d)
        worst = max(worst, d)
    # In 0,1,1,2,3,3 new layer 2 is old layer 1's second copy: zero output
    # projections, the rest copied; new layer 1 is old layer 1 unchanged.
    for n in ("self_attn.o_proj", "mlp.down_proj"):
        assert float(six["model.layers.2.%s.weight" % n].abs().sum()) == 0, n
        assert torch.equal(six["model.layers.1.%s.weight" % n], sd["model.layers.1.%s.weight" % n]), n
    assert torch.equal(six["model.layers.2.self_attn.q_proj.weight"], sd["model.layers.1.self_attn.q_proj.weight"])
    try:
        train.grow_layers(sd, [0, 1, 1, 3], 4)
    except SystemExit:
        pass
    else:
        raise AssertionError("a plan without old layer 2 was accepted")
    return "3 plans, max |logit diff| %.2g" % worst


@check
def check_pack_roundtrip():
    """A pack holds [BOS] prompt answer [EOS] for every sample, holds out at
    most a tenth (and at most 4) per (length, task, parameters), and
    survives torch.save/torch.load."""
    import tempfile
    import train

    class Tok:
        def encode_batch(self, texts, add_special_tokens=False):
            class E:
                pass
            out = []
            for t in texts:
                e = E()
                e.ids = [3 + ord(ch) % 40 for ch in t]
                out.append(e)
            return out
    d = tempfile.mkdtemp()
    path = os.path.join(d, "s.jsonl")
    with open(path, "w") as f:
        for i in range(30):
            f.write(json.dumps({"kind": "generate", "task": "qa", "task_params": {"hops": 1},
                                "length": 512 if i < 20 else 1024, "prompt": "p%d" % i * 3,
                                "references": ["a%d" % i], "max_tokens": 8}) + "\n")
        f.write(json.dumps({"kind": "loglikelihood", "task": "perplexity", "task_params": {}, "length": 512,
                            "context": "x", "continuation": "y"}) + "\n")
    pk = train.pack_samples(path, Tok())
    torch.save(pk, os.path.join(d, "s.pt"))
    held, buckets = train.unpack(torch.load(os.path.join(d, "s.pt")))
    assert pk["n"] == 30, pk["n"]
    assert {k: len(v) for k, v in buckets.items()} == {512: 18, 1024: 9}, {k: len(v) for k, v in buckets.items()}
    assert sum(len(v) for v in held.values()) == 3
    ids, np_ = buckets[512][0]
    want = [1] + [3 + ord(ch) % 40 for ch in "p2p2p2"] + [3 + ord(ch) % 40 for ch in " a2"] + [2]
    assert ids.tolist() == want and np_ == 7, (ids.tolist(), np_)
    return "30 samples, 27 in buckets, 3 held out"



def main():
    print("torch %s, CUDA %s, flex_attention %s" % (torch.__version__, torch.cuda.is_available(),
                                                   infllm.FLEX_AVAILABLE))
    failed = 0
    for fn in CHECKS:
        t0 = time.time()
        try:
            note = fn()
        except Exception as e:
            failed += 1
            print("FAIL %s: %s" % (fn.__name__, e))
            if not isinstance(e, AssertionError):
                traceback.print_exc()
            continue
        if note is None:
            print("skip %s (needs CUDA and flex_attention)" % fn.__name__)
        else:
            print("ok   %s (%.1fs): %s" % (fn.__name__, time.time() - t0, note))
    print("FAILED: %d check(s)" % failed if failed else "PASS")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
