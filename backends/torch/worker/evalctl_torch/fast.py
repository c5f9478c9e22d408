"""The fast CUDA implementations of the attention modes (impl "fast"):

- dense: torch's scaled_dot_product_attention (flash on bf16/fp16): causal
  for a whole prefill, bottom-right causal (a chunk after cached keys) via
  causal_lower_right, unmasked for a decode step. Grouped-query attention
  with enable_gqa (PyTorch >= 2.5; the KV heads are repeated before that).
- sparse: compressed keys (mean in float32, stored in the cache's dtype),
  stage 1 and max-pool in one Triton kernel (kernels.stage1_kernel) over
  query sub-chunks, top-k on a packed key (the float score's order-
  preserving bits above the complemented block index, so ties go to the
  lower index exactly as in Go), then the attention in two Triton phases:
  the forced blocks shared by a query block's tokens, then each token's
  scored blocks (kernels.attn_kernel).
- streaming: phase 0 alone.
- oracle: see attention.oracle_reference (no fast path, as in Go).

Statistics are computed on the device from the selection counts (no
per-token Python loop); selections are recorded as padded int32 rows.
"""

import math

import torch
import torch.nn.functional as F

from . import attention
from .attention import compressed_for, kernel_counts
from .errors import DeviceError

try:
    import triton

    from . import kernels
except ImportError as e:  # no Triton: impl fast is an error, not a fallback
    triton = None
    _triton_error = e

INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)

_lower_right = None
try:
    from torch.nn.attention.bias import causal_lower_right as _lower_right
except ImportError:
    pass


def _need_triton():
    if triton is None:
        raise DeviceError("attention: impl fast needs Triton for the sparse kernels: %s" % _triton_error)


def _pow2(x):
    return 1 << max(0, (x - 1).bit_length())


def check_shapes(cfg, d, G):
    if cfg.block_size & (cfg.block_size - 1) or not 16 <= cfg.block_size <= 256:
        raise DeviceError("attention: impl fast needs block_size a power of two in [16, 256], got %d; use impl reference" % cfg.block_size)
    if cfg.sparse_scored():
        r = cfg.block_size // cfg.kernel_stride
        if r & (r - 1) or r > 64:
            raise DeviceError("attention: impl fast needs block_size/kernel_stride a power of two <= 64, got %d; use impl reference" % r)
    if d > 256 or d < 16:
        raise DeviceError("attention: impl fast supports head_dim 16..256, got %d" % d)


# ---------------------------------------------------------------------------
# dense


def dense(cache, q, cfg, st, pos0):
    m, H, d = q.shape
    kv, n = cache.kv, cache.n
    qq = q.transpose(0, 1)[None]  # [1, H, m, d]
    k = cache.k[None, :, :n]
    v = cache.v[None, :, :n]
    gqa = H != kv
    kw = {}
    if gqa:
        if hasattr(torch.nn.functional, "scaled_dot_product_attention") and _sdpa_has_gqa():
            kw["enable_gqa"] = True
        else:
            k = k.repeat_interleave(H // kv, dim=1)
            v = v.repeat_interleave(H // kv, dim=1)
    if m == n:
        o = F.scaled_dot_product_attention(qq, k, v, is_causal=True, **kw)
    elif m == 1:
        o = F.scaled_dot_product_attention(qq, k, v, **kw)
    else:
        if _lower_right is None:
            raise DeviceError("attention: impl fast: this PyTorch has no causal_lower_right for chunked prefill")
        o = F.scaled_dot_product_attention(qq, k, v, attn_mask=_lower_right(m, n), **kw)
    out = o[0].transpose(0, 1).contiguous()
    if st is not None:
        attention._dense_stats(st, (H, kv, d), pos0, m, cfg.block_size, cache.esize)
    return out


_GQA = None


def _sdpa_has_gqa():
    global _GQA
    if _GQA is None:
        import inspect
        try:
            _GQA = "enable_gqa" in inspect.signature(F.scaled_dot_product_attention).parameters
        except (TypeError, ValueError):
            v = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
            _GQA = v >= (2, 5)
    return _GQA


# ---------------------------------------------------------------------------
# selection


def _forced_counts(pos, cfg):
    """(forced blocks, attended tokens in them) per position [T]."""
    B = cfg.block_size
    bq = pos // B
    n_init = torch.clamp(bq + 1, max=cfg.init_blocks)
    lo = torch.clamp(bq - cfg.local_blocks, min=cfg.init_blocks)
    n_loc = torch.clamp(bq - lo + 1, min=0)
    nf = n_init + n_loc
    return nf, (nf - 1) * B + (pos + 1 - bq * B)


def _select(own, last, pos, cfg):
    """Scored (non-forced) selected blocks from the stage-1 maxima: sorted
    lists [kv, T, topk] (padded) and their counts [kv, T]."""
    kv, T, nb = own.shape
    dev = own.device
    ninf = torch.tensor(float("-inf"), device=dev)
    prev = torch.cat((ninf.expand(kv, T, 1), last[..., :-1]), dim=-1)
    score = torch.maximum(own, prev)
    score = torch.nan_to_num(score, nan=float("-inf"), posinf=torch.finfo(torch.float32).max)
    B = cfg.block_size
    j = torch.arange(nb, device=dev)
    bq = (pos // B)[:, None]
    forced = (((j[None, :] < cfg.init_blocks) | (j[None, :] >= bq - cfg.local_blocks)) & (j[None, :] <= bq))[None]
    elig = (j[None, :] <= bq)[None] & (score > float("-inf"))
    bits = score.contiguous().view(torch.int32)
    key = torch.where(bits >= 0, bits, bits ^ INT32_MAX)
    key = torch.where(forced, torch.full_like(key, INT32_MAX), torch.where(elig, key, torch.full_like(key, INT32_MIN)))
    packed = (key.to(torch.int64) << 32) | (0xFFFFFFFF - j).to(torch.int64)
    k = min(cfg.topk, nb)
    top = torch.topk(packed, k, dim=-1, sorted=False)
    hi = top.values >> 32
    scored = (hi != INT32_MAX) & (hi != INT32_MIN)
    idx = torch.where(scored, 0xFFFFFFFF - (top.values & 0xFFFFFFFF), torch.full_like(top.values, 1 << 40))
    lists = torch.sort(idx, dim=-1).values
    cnt = scored.sum(-1).to(torch.int32)
    lists = torch.where(lists >= (1 << 40), torch.full_like(lists, -1), lists).to(torch.int32)
    return lists, cnt


def _stage1(qs, comp, coarse, cfg, pos0_sub, nbo, d):
    """own, last [kv, T, nbo] for the queries qs [T, H, d] at positions
    pos0_sub .. pos0_sub+T-1."""
    T, H, _ = qs.shape
    kv = comp.kc.shape[0]
    G = H // kv
    GP = _pow2(G)
    BM = 128 if GP <= 128 else GP
    BT = max(1, BM // GP)
    BN = 64
    own = torch.full((kv, T, nbo), float("-inf"), dtype=torch.float32, device=qs.device)
    last = torch.full_like(own, float("-inf"))
    kc = comp.kc
    kcc = coarse.kc if coarse is not None else kc
    nct = coarse.count if coarse is not None else 0
    qs = qs.contiguous()
    grid = (triton.cdiv(T, BT), kv)
    kernels.stage1_kernel[grid](
        qs, kc, kcc, own, last,
        T, pos0_sub, comp.count, nct,
        qs.stride(0), qs.stride(1), kc.stride(0), kc.stride(1), kcc.stride(0), kcc.stride(1), own.stride(0), own.stride(1),
        nbo, math.log2(math.e) / math.sqrt(d),
        G=G, GP=GP, BT=BT, BN=BN, D=d, BD=_pow2(d),
        KSIZE=cfg.kernel_size, KSTRIDE=cfg.kernel_stride, R=cfg.block_size // cfg.kernel_stride,
        APPROX=cfg.lse == "approx", ASIZE=cfg.approx_kernel_size, ASTRIDE=cfg.approx_kernel_stride,
        num_warps=8 if BM >= 128 else 4,
    )
    return own, last


def _attend(cache, q, cfg, pos0, lists=None, cnt=None):
    m, H, d = q.shape
    kv, n = cache.kv, cache.n
    G = H // kv
    GP = _pow2(G)
    B = cfg.block_size
    BD = _pow2(d)
    scale2 = math.log2(math.e) / math.sqrt(d)
    q = q.contiguous()
    out = torch.empty_like(q)
    final = lists is None
    oacc = torch.empty((m, H, d), dtype=torch.float32, device=q.device) if not final else out
    lse = torch.empty((m, H), dtype=torch.float32, device=q.device) if not final else out
    BT0 = max(1, min(B, 64 // GP))
    tiles = (pos0 + m - 1) // BT0 - pos0 // BT0 + 1
    k, v = cache.k, cache.v
    dummy = torch.empty(1, dtype=torch.int32, device=q.device)
    kernels.attn_kernel[(tiles, kv)](
        q, k, v, out, oacc, lse, dummy, dummy,
        m, pos0, n, H,
        q.stride(0), q.stride(1), k.stride(0), k.stride(1), out.stride(0), out.stride(1), 0, 0,
        cfg.init_blocks, cfg.local_blocks, scale2,
        G=G, GP=GP, BT=BT0, B=B, D=d, BD=BD, PHASE=0, FINAL=final, num_warps=4,
    )
    if final:
        return out
    GP1 = max(16, GP)
    kernels.attn_kernel[(m, kv)](
        q, k, v, out, oacc, lse, lists, cnt,
        m, pos0, n, H,
        q.stride(0), q.stride(1), k.stride(0), k.stride(1), out.stride(0), out.stride(1), lists.stride(0), lists.stride(1),
        cfg.init_blocks, cfg.local_blocks, scale2,
        G=G, GP=GP1, BT=1, B=B, D=d, BD=BD, PHASE=1, FINAL=False, num_warps=4,
    )
    return out


def _rows(pos, lists, cfg, nb):
    """Selected blocks per (token, KV head) as padded int32 rows [T*kv, w]
    (forced and scored, sorted; -1 pads), for Stats.record."""
    kv, T, _ = lists.shape
    dev = lists.device
    j = torch.arange(nb, device=dev)
    bq = (pos // cfg.block_size)[:, None]
    forced = (((j[None, :] < cfg.init_blocks) | (j[None, :] >= bq - cfg.local_blocks)) & (j[None, :] <= bq))
    ext = torch.zeros((kv, T, nb + 1), dtype=torch.bool, device=dev)
    ext[..., :nb] = forced[None]
    if lists.shape[-1]:
        ext.scatter_(-1, torch.where(lists >= 0, lists, torch.full_like(lists, nb)).long(), True)
    mask = ext[..., :nb]
    w = max(1, int(mask.sum(-1).max().item())) if mask.numel() else 1
    idx = torch.where(mask, j, torch.full_like(j, 1 << 30)).sort(-1).values[..., :w]
    idx = torch.where(idx >= (1 << 30), torch.full_like(idx, -1), idx)
    return idx.transpose(0, 1).reshape(T * kv, -1).to(torch.int32).cpu()


def sparse(cache, q, qnope, cfg, st, pos0):
    _need_triton()
    m, H, d = q.shape
    kv, n = cache.kv, cache.n
    G = H // kv
    check_shapes(cfg, d, G)
    comp = compressed_for(cache, cfg.kernel_size, cfg.kernel_stride, cfg.use_nope, cache.dtype, torch.float32)
    coarse = None
    if cfg.lse == "approx":
        coarse = compressed_for(cache, cfg.approx_kernel_size, cfg.approx_kernel_stride, cfg.use_nope, cache.dtype, torch.float32)
    qs = qnope if cfg.use_nope else q
    B = cfg.block_size
    K = cfg.topk
    lists = torch.empty((kv, m, K), dtype=torch.int32, device=q.device)
    cnt = torch.zeros((kv, m), dtype=torch.int32, device=q.device)
    # query sub-chunks bound the stage-1 buffers (own, last, packed keys:
    # 16 bytes per (token, KV head, block)) to about 1 GiB
    nb_all = (pos0 + m - 1) // B + 1
    SQ = max(64, (1 << 30) // max(1, 16 * kv * nb_all))
    rec = []
    for a in range(0, m, SQ):
        b = min(m, a + SQ)
        nbo = (pos0 + b - 1) // B + 1
        pos = torch.arange(pos0 + a, pos0 + b, device=q.device)
        if comp.count > 0:
            own, last = _stage1(qs[a:b], comp, coarse, cfg, pos0 + a, nbo, d)
        else:
            own = torch.full((kv, b - a, nbo), float("-inf"), dtype=torch.float32, device=q.device)
            last = own
        la, ca = _select(own, last, pos, cfg)
        w = la.shape[-1]
        lists[:, a:b, :w] = la
        cnt[:, a:b] = ca
        del own, last
        if st is not None and st.record:
            rec.append(_rows(pos, la, cfg, nbo))
    out = _attend(cache, q, cfg, pos0, lists, cnt)
    if st is not None:
        pos = torch.arange(pos0, pos0 + m, device=q.device)
        nf, tf = _forced_counts(pos, cfg)
        tokens = tf[None] + B * cnt.long()
        blocks = nf[None] + cnt.long()
        nk, nc = kernel_counts(pos, cfg)
        extra = (nk + nc)[None].expand(kv, -1)
        st.add_pending(flops=(2 * G * (d * extra + 2 * d * tokens)).double().sum(),
                       kv_bytes=(cache.esize * d * (2 * tokens + extra)).sum(), blocks=blocks.sum(), tokens=tokens.sum(),
                       visible_tokens=(pos + 1).sum() * kv)
        st.calls += 1
        st.sparse_calls += 1
        st.query_tokens += m
        for r in rec:
            st.selected_rows.append(r)
    return out


def streaming(cache, q, cfg, st, pos0):
    _need_triton()
    m, H, d = q.shape
    kv = cache.kv
    check_shapes(cfg, d, H // kv)
    out = _attend(cache, q, cfg, pos0)
    if st is not None:
        pos = torch.arange(pos0, pos0 + m, device=q.device)
        nf, tf = _forced_counts(pos, cfg)
        G = H // kv
        st.add_pending(flops=(2 * G * 2 * d * tf).double().sum() * kv, kv_bytes=(cache.esize * d * 2 * tf).sum() * kv,
                       blocks=nf.sum() * kv, tokens=tf.sum() * kv, visible_tokens=(pos + 1).sum() * kv)
        st.calls += 1
        st.sparse_calls += 1
        st.query_tokens += m
        if st.record:
            nb = (pos0 + m - 1) // cfg.block_size + 1
            empty = torch.empty((kv, m, 0), dtype=torch.int32, device=q.device)
            st.selected_rows.append(_rows(pos, empty, cfg, nb))
    return out


def forward(cache, q, qnope, cfg, mode, st, pos0):
    """impl fast of mode (dense, sparse or streaming; switching already
    resolved to one of them by the caller)."""
    if mode == "dense":
        return dense(cache, q, cfg, st, pos0)
    if mode == "sparse":
        return sparse(cache, q, qnope, cfg, st, pos0)
    if mode == "streaming":
        return streaming(cache, q, cfg, st, pos0)
    raise DeviceError("attention: impl fast has no %s mode" % mode)
