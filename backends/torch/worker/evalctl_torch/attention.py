"""The attention modes of evalctl in PyTorch, with the parameters and the
semantics of the native runtime (backends/attention; the algorithm is
InfLLM-V2 as the project's spec states it):

- dense: causal softmax attention.
- sparse: per query token t and KV head g, (1) compressed keys: kernel i =
  mean of K over [stride*i, stride*i+size), full kernels only; (2) stage 1:
  p_h(i) = exp(q_h.kc_i/sqrt(d) - L_h) over the kernels visible to t, L_h
  the log-sum-exp of those logits (lse exact) or of the coarse kernels'
  (lse approx; the exact one until a coarse kernel is visible), summed over
  the group's heads: s(i); (3) block score j = max of s(i) over kernels
  j*r-1 .. j*r+r-1; (4) forced blocks (j < init_blocks, bq-local_blocks <=
  j <= bq) +inf; (5) the topk best, ties to the lower index, -inf dropped;
  (6) one softmax over the selected blocks' keys <= t. use_nope scores
  with the pre-rotary q/k.
- switching: dense when the call's total key length is below dense_len,
  else sparse (dense_len -1: always sparse).
- streaming: init blocks plus the local window.
- oracle: the topk blocks of largest true attention mass (reference only,
  as in Go).

Two implementations of each mode share one cache and one statistics
convention:

- impl "reference": plain PyTorch on any device, written for clarity:
  queries in tiles, explicit masks, stage 1 in float64 on the CPU (float32
  on CUDA) like the Go reference, attention in float32 (float64 for
  float64 inputs). This is the CPU path and the oracle of the fast one.
- impl "fast": CUDA only (an error elsewhere, never a quiet switch): dense
  through scaled_dot_product_attention (flash); sparse and streaming
  through the Triton kernels of kernels.py.

Layout: queries [m, H, d] for positions n-m .. n-1 of a cache of n tokens;
the cache holds K and V as [Hkv, capacity, d]. Query head h belongs to KV
head h // G.

Statistics follow backends/attention exactly (Stats): per (query token,
KV head) pair the attended blocks and tokens, the visible tokens, FLOPs
2*G*(d*(nk+nc) + 2*d*T) and K/V bytes esize*d*(2*T + nk + nc), where esize
is the cache's element size (4 for float32, as in Go; 2 for bf16/fp16).
"""

import math
from dataclasses import dataclass

import torch

from .errors import Cancelled, DeviceError, WorkerError

MODES = ("dense", "sparse", "switching", "streaming", "oracle")


def visible_count(n, size, stride):
    """Full windows of size tokens, stride apart, within the first n tokens."""
    return 0 if n < size else (n - size) // stride + 1


@dataclass(frozen=True)
class ModeConfig:
    mode: str = "dense"
    block_size: int = 64
    kernel_size: int = 32
    kernel_stride: int = 16
    init_blocks: int = 1
    local_blocks: int = 32
    topk: int = 96
    lse: str = "exact"
    approx_kernel_size: int = 128
    approx_kernel_stride: int = 64
    use_nope: bool = False
    dense_len: int = 8192
    impl: str = "reference"

    @classmethod
    def from_json(cls, d):
        if not isinstance(d, dict):
            raise WorkerError("attention: want an object, got %r" % (d,))
        known = set(cls.__dataclass_fields__)
        extra = sorted(set(d) - known)
        if extra:
            raise WorkerError("attention: unknown parameters %s (known: %s)" % (", ".join(extra), ", ".join(sorted(known))))
        c = cls(**d)
        c.validate()
        return c

    def sparse_scored(self):
        """Whether calls may select blocks by score."""
        return self.mode in ("sparse", "switching")

    def validate(self):
        """The checks of attention.SparseConfig.Validate and the mode
        constructors, with their messages."""
        if self.mode not in MODES:
            raise WorkerError("unknown attention mode %r (known: %s)" % (self.mode, ", ".join(MODES)))
        if self.impl not in ("fast", "reference"):
            raise WorkerError("attention: impl = %r: accepted: fast, reference" % (self.impl,))
        if self.block_size < 1:
            raise WorkerError("attention: %s: block_size = %d: must be >= 1" % (self.mode, self.block_size))
        if self.mode == "streaming":
            if self.init_blocks < 0 or self.local_blocks < 0:
                raise WorkerError("attention: streaming: init_blocks = %d, local_blocks = %d: must be >= 0" % (self.init_blocks, self.local_blocks))
        if self.mode == "oracle" and self.topk < 1:
            raise WorkerError("attention: oracle: topk = %d: must be >= 1" % self.topk)
        if self.mode == "switching" and self.dense_len < -1:
            raise WorkerError("attention: switching: dense_len = %d: must be >= 0, or -1 for always sparse" % self.dense_len)
        if self.sparse_scored():
            for name in ("block_size", "kernel_size", "kernel_stride", "topk"):
                if getattr(self, name) < 1:
                    raise WorkerError("attention: sparse: %s = %d: must be >= 1" % (name, getattr(self, name)))
            if self.init_blocks < 0 or self.local_blocks < 0:
                raise WorkerError("attention: sparse: init_blocks = %d, local_blocks = %d: must be >= 0" % (self.init_blocks, self.local_blocks))
            if self.block_size % self.kernel_stride:
                raise WorkerError("attention: sparse: block_size %d must be a multiple of kernel_stride %d" % (self.block_size, self.kernel_stride))
            if self.kernel_size < self.kernel_stride:
                raise WorkerError("attention: sparse: kernel_size %d must be >= kernel_stride %d" % (self.kernel_size, self.kernel_stride))
            forced = self.init_blocks + self.local_blocks + 1
            if self.init_blocks >= self.topk or self.local_blocks >= self.topk or self.topk < forced:
                raise WorkerError("attention: sparse: topk = %d: must be >= init_blocks + local_blocks + 1 = %d (the forced blocks); lower local_blocks or raise topk" % (self.topk, forced))
            if self.lse == "approx":
                for name in ("approx_kernel_size", "approx_kernel_stride"):
                    if getattr(self, name) < 1:
                        raise WorkerError("attention: sparse: %s = %d: must be >= 1" % (name, getattr(self, name)))
            elif self.lse != "exact":
                raise WorkerError("attention: sparse: lse = %r: accepted: exact, approx" % (self.lse,))

    def needs_nope(self):
        return self.sparse_scored() and self.use_nope


class Stats:
    """attention.Stats: totals over calls; selected rows on request."""

    FIELDS = ("calls", "dense_calls", "sparse_calls", "query_tokens", "flops", "kv_bytes",
              "blocks", "tokens", "visible_tokens")

    def __init__(self, record=False):
        self.record = record
        self.selected = []  # per (token, kv head) row: a list of block indices
        self.selected_rows = []  # or padded int32 tensors of such rows (fast paths)
        for f in self.FIELDS:
            setattr(self, f, 0)
        self._pending = []  # device scalars, summed at to_json

    def add_pending(self, **kv):
        self._pending.append(kv)

    def to_json(self):
        for kv in self._pending:
            for k, v in kv.items():
                setattr(self, k, getattr(self, k) + (v.item() if torch.is_tensor(v) else v))
        self._pending = []
        d = {f: getattr(self, f) for f in self.FIELDS}
        d["flops"] = float(d["flops"])
        for f in self.FIELDS:
            if f != "flops":
                d[f] = int(d[f])
        return d


class LayerCache:
    """One layer's keys and values, [Hkv, capacity, d] each, plus optional
    pre-rotary keys and the modes' derived state (compressed keys)."""

    def __init__(self, kv_heads, head_dim, capacity, dtype, device, nope=False):
        self.kv, self.d, self.dtype, self.device = kv_heads, head_dim, dtype, device
        cap = max(capacity, 1)
        self.k = torch.empty((kv_heads, cap, head_dim), dtype=dtype, device=device)
        self.v = torch.empty_like(self.k)
        self.knope = torch.empty_like(self.k) if nope else None
        self.n = 0
        self.aux = {}

    @property
    def esize(self):
        return torch.finfo(self.dtype).bits // 8

    def _grow(self, need):
        cap = self.k.shape[1]
        if need <= cap:
            return
        new = max(need, 2 * cap)
        for name in ("k", "v", "knope"):
            t = getattr(self, name)
            if t is None:
                continue
            g = torch.empty((self.kv, new, self.d), dtype=self.dtype, device=self.device)
            g[:, :self.n] = t[:, :self.n]
            setattr(self, name, g)

    def append(self, k, v, knope=None):
        """k, v (and knope) [m, Hkv, d]."""
        m = k.shape[0]
        self._grow(self.n + m)
        self.k[:, self.n:self.n + m] = k.transpose(0, 1)
        self.v[:, self.n:self.n + m] = v.transpose(0, 1)
        if self.knope is not None:
            if knope is None:
                raise WorkerError("cache keeps pre-rotary keys: knope is required")
            self.knope[:, self.n:self.n + m] = knope.transpose(0, 1)
        self.n += m

    def truncate(self, n):
        self.n = min(self.n, n)
        self.aux = {}

    def keys(self, nope=False):
        t = self.knope if nope else self.k
        return t[:, :self.n]

    def values(self):
        return self.v[:, :self.n]

    def nbytes(self):
        """Keys, values (pre-rotary keys) of the tokens held, plus derived
        state, as Cache.Bytes counts them."""
        b = self.n * self.kv * self.d * self.esize * (3 if self.knope is not None else 2)
        for a in self.aux.values():
            b += a.nbytes()
        return b


class Compressed:
    """Compressed keys of a cache for one (size, stride, key source):
    kc [Hkv, count, d], extended as the cache grows; each kernel is computed
    from the keys it covers alone (float64 mean on the CPU reference, float32
    elsewhere), so extending in steps gives the same values."""

    def __init__(self, size, stride, nope, store_dtype, acc_dtype):
        self.size, self.stride, self.nope = size, stride, nope
        self.store, self.acc = store_dtype, acc_dtype
        self.kc = None
        self.count = 0

    def nbytes(self):
        return 0 if self.kc is None else self.kc.numel() * self.kc.element_size()

    def extend(self, cache):
        want = visible_count(cache.n, self.size, self.stride)
        if want <= self.count:
            self.count = want
            return self
        keys = cache.keys(self.nope)
        lo = self.stride * self.count
        hi = self.stride * (want - 1) + self.size
        win = keys[:, lo:hi].to(self.acc).unfold(1, self.size, self.stride)  # [kv, new, d, size]
        new = (win.sum(-1) / self.size).to(torch.float32).to(self.store)
        if self.kc is None:
            cap = max(want, 16)
            self.kc = torch.empty((cache.kv, cap, cache.d), dtype=self.store, device=cache.device)
        elif want > self.kc.shape[1]:
            g = torch.empty((cache.kv, max(want, 2 * self.kc.shape[1]), cache.d), dtype=self.store, device=cache.device)
            g[:, :self.count] = self.kc[:, :self.count]
            self.kc = g
        self.kc[:, self.count:want] = new
        self.count = want
        return self

    def head(self, n=None):
        return self.kc[:, :self.count if n is None else n]


def compressed_for(cache, size, stride, nope, store_dtype, acc_dtype):
    key = ("comp", size, stride, nope, store_dtype)
    c = cache.aux.get(key)
    if c is None:
        c = cache.aux[key] = Compressed(size, stride, nope, store_dtype, acc_dtype)
    return c.extend(cache)


# ---------------------------------------------------------------------------
# statistics in closed form (Go's tally, summed over the call's tokens)


def _dense_stats(st, shape, pos0, m, block_size, esize, dense=True):
    """Stats of dense attention for positions pos0 .. pos0+m-1."""
    H, kv, d = shape
    G = H // kv
    a, b = pos0 + 1, pos0 + m  # visible counts t+1
    vis = (a + b) * m // 2
    blocks = sum(t // block_size + 1 for t in range(pos0, pos0 + m)) if m < 4096 else int(
        (torch.arange(pos0, pos0 + m, dtype=torch.int64) // block_size + 1).sum().item())
    st.calls += 1
    st.dense_calls += 1 if dense else 0
    st.sparse_calls += 0 if dense else 1
    st.query_tokens += m
    st.flops += float(2 * G * 2 * d * vis) * kv
    st.kv_bytes += esize * d * 2 * vis * kv
    st.blocks += blocks * kv
    st.tokens += vis * kv
    st.visible_tokens += vis * kv
    if st.record:
        for t in range(pos0, pos0 + m):
            row = list(range(t // block_size + 1))
            for _ in range(kv):
                st.selected.append(row)


def _block_tokens(sel, pos, block_size):
    """Attended tokens of each row: sel [..., T, nb] bool over blocks, pos
    [T] the query positions: selected blocks' keys at positions <= t."""
    nb = sel.shape[-1]
    lo = torch.arange(nb, device=sel.device) * block_size
    cnt = (pos[:, None] + 1 - lo[None, :]).clamp(min=0, max=block_size)  # [T, nb]
    return (sel.to(torch.int64) * cnt).sum(-1)


def forced_mask(pos, nb, cfg, device):
    """[T, nb] bool: blocks j < init_blocks or bq-local_blocks <= j <= bq."""
    j = torch.arange(nb, device=device)[None, :]
    bq = (pos // cfg.block_size)[:, None]
    return ((j < cfg.init_blocks) | (j >= bq - cfg.local_blocks)) & (j <= bq)


# ---------------------------------------------------------------------------
# reference implementations


def _acc_dtype(x):
    return torch.float64 if x.dtype == torch.float64 else torch.float32


def _tile_size(H, L, budget=1 << 24):
    return max(1, budget // max(1, H * L))


def _masked_attention(q, k, v, mask, out_dtype):
    """q [kv, G, T, d], k/v [kv, L, d], mask [kv or 1, T, L] (True: attend)
    -> [T, kv*G, d] in out_dtype. One softmax per row, in q's dtype."""
    kv, G, T, d = q.shape
    s = torch.matmul(q.reshape(kv, G * T, d), k.transpose(1, 2)) * (1.0 / math.sqrt(d))  # [kv, G*T, L]
    s = s.reshape(kv, G, T, -1).masked_fill(~mask[:, None], float("-inf"))
    p = torch.softmax(s, dim=-1)  # every row attends at least its own token
    o = torch.matmul(p.reshape(kv, G * T, -1), v).reshape(kv, G, T, d)
    return o.permute(2, 0, 1, 3).reshape(T, kv * G, d).to(out_dtype)


def _split_q(q, kv):
    """[T, H, d] -> [kv, G, T, d]."""
    T, H, d = q.shape
    return q.reshape(T, kv, H // kv, d).permute(1, 2, 0, 3)


def dense_reference(cache, q, cfg, st, pos0, check=None):
    m, H, d = q.shape
    kv = cache.kv
    acc = _acc_dtype(q)
    out = torch.empty((m, H, d), dtype=q.dtype, device=q.device)
    K, V = cache.keys().to(acc), cache.values().to(acc)
    n = cache.n
    T = _tile_size(H, n)
    for a in range(0, m, T):
        if check:
            check()
        b = min(m, a + T)
        L = pos0 + b  # keys visible to the tile's last query
        pos = torch.arange(pos0 + a, pos0 + b, device=q.device)
        mask = (torch.arange(L, device=q.device)[None, :] <= pos[:, None])[None]
        out[a:b] = _masked_attention(_split_q(q[a:b].to(acc), kv), K[:, :L], V[:, :L], mask, q.dtype)
    if st is not None:
        _dense_stats(st, (H, kv, d), pos0, m, cfg.block_size, cache.esize)
    return out


def stage1_scores(qs, pos, comp, coarse, cfg, score_dtype):
    """Steps 2-4 for the query tokens at positions pos [T]: block scores
    [kv, T, nbc] (nbc = blocks up to the last position), forced blocks +inf,
    blocks after the query's own or with no visible kernel -inf.
    qs [T, H, d] are the scoring queries; comp/coarse compressed keys."""
    T, H, d = qs.shape
    kv = comp.kc.shape[0]
    G = H // kv
    bs, size, stride = cfg.block_size, cfg.kernel_size, cfg.kernel_stride
    r = bs // stride
    pmax = int(pos[-1].item()) if T else 0
    nbc = pmax // bs + 1
    ninf = float("-inf")
    nk = visible_count(pmax + 1, size, stride)
    dev = qs.device
    if nk > 0:
        q = _split_q(qs.to(score_dtype), kv)  # [kv, G, T, d]
        scale = 1.0 / math.sqrt(d)
        z = torch.matmul(q, comp.head(nk).to(score_dtype)[:, None].transpose(-1, -2)) * scale  # [kv, G, T, nk]
        vis = torch.arange(nk, device=dev)[None, :] * stride + size <= pos[:, None] + 1  # [T, nk]
        zm = z.masked_fill(~vis, ninf)
        lse = torch.logsumexp(zm, dim=-1)  # [kv, G, T]; -inf where nothing is visible
        if coarse is not None:
            asz, ast = cfg.approx_kernel_size, cfg.approx_kernel_stride
            nc = visible_count(pmax + 1, asz, ast)
            if nc > 0:
                zc = torch.matmul(q, coarse.head(nc).to(score_dtype)[:, None].transpose(-1, -2)) * scale
                visc = torch.arange(nc, device=dev)[None, :] * ast + asz <= pos[:, None] + 1  # [T, nc]
                lse_c = torch.logsumexp(zc.masked_fill(~visc, ninf), dim=-1)
                has = visc.any(-1)  # [T]: a coarse kernel is visible
                lse = torch.where(has[None, None, :], lse_c, lse)
        p = torch.exp(z - lse[..., None]).masked_fill(~vis, 0.0)
        s = p.sum(1).masked_fill(~vis, ninf)  # [kv, T, nk]
        padded = s.new_full((kv, T, nbc * r + 1), ninf)
        padded[..., 1:1 + nk] = s
        score = padded.unfold(-1, r + 1, r).amax(-1)  # [kv, T, nbc]
        score = score.masked_fill(torch.isnan(score), ninf)
        score = score.masked_fill(score == float("inf"), torch.finfo(score.dtype).max)
    else:
        score = torch.full((kv, T, nbc), ninf, dtype=score_dtype, device=dev)
    j = torch.arange(nbc, device=dev)[None, :]
    score = score.masked_fill((j > (pos // bs)[:, None])[None], ninf)
    return score.masked_fill(forced_mask(pos, nbc, cfg, dev)[None], float("inf"))


def select_reference(score, topk):
    """Step 5 over score [kv, T, nb]: bool [kv, T, nb], the topk best blocks
    (ties to the lower index: a stable descending sort), -inf dropped."""
    top = min(topk, score.shape[-1])
    vals, idx = torch.sort(score, dim=-1, descending=True, stable=True)
    sel = torch.zeros(score.shape, dtype=torch.bool, device=score.device)
    sel.scatter_(-1, idx[..., :top], vals[..., :top] > float("-inf"))
    return sel


def _selection_stats(st, sel, pos, shape, cfg, esize, nkc=None, nc=None, oracle=False):
    """Adds the statistics of the selections sel [kv, T, nb] (bool) for
    positions pos."""
    H, kv, d = shape
    G = H // kv
    blocks = sel.sum(-1)  # [kv, T]
    tokens = _block_tokens(sel, pos, cfg.block_size)
    vis = (pos + 1).to(torch.int64)
    if oracle:
        extra = vis[None].expand(kv, -1)
    else:
        extra = (nkc + nc)[None].expand(kv, -1)
    flops = (2 * G * (d * extra + 2 * d * tokens)).to(torch.float64).sum()
    st.add_pending(flops=flops, kv_bytes=(esize * d * (2 * tokens + extra)).sum(),
                   blocks=blocks.sum(), tokens=tokens.sum(), visible_tokens=vis.sum() * kv)
    if st.record:
        cpu = sel.cpu()
        for i in range(cpu.shape[1]):
            for g in range(kv):
                st.selected.append(torch.nonzero(cpu[g, i]).flatten().tolist())


def kernel_counts(pos, cfg):
    """(nk, nc) [T] int64: visible kernels and coarse kernels used per
    position (nc 0 with lse exact, and while no kernel or coarse kernel is
    visible)."""
    t1 = pos + 1
    nk = torch.where(t1 >= cfg.kernel_size, (t1 - cfg.kernel_size) // cfg.kernel_stride + 1, torch.zeros_like(t1))
    if cfg.lse == "approx":
        nc = torch.where(t1 >= cfg.approx_kernel_size, (t1 - cfg.approx_kernel_size) // cfg.approx_kernel_stride + 1, torch.zeros_like(t1))
        nc = torch.where(nk > 0, nc, torch.zeros_like(nc))
    else:
        nc = torch.zeros_like(nk)
    return nk, nc


def sparse_reference(cache, q, qnope, cfg, st, pos0, check=None):
    m, H, d = q.shape
    kv = cache.kv
    acc = _acc_dtype(q)
    score_dtype = torch.float64 if (q.device.type == "cpu" or q.dtype == torch.float64) else torch.float32
    comp_acc = torch.float64 if q.device.type == "cpu" else torch.float32
    comp = compressed_for(cache, cfg.kernel_size, cfg.kernel_stride, cfg.use_nope, torch.float32, comp_acc)
    coarse = None
    if cfg.lse == "approx":
        coarse = compressed_for(cache, cfg.approx_kernel_size, cfg.approx_kernel_stride, cfg.use_nope, torch.float32, comp_acc)
    qs_all = qnope if cfg.use_nope else q
    K, V = cache.keys().to(acc), cache.values().to(acc)
    out = torch.empty((m, H, d), dtype=q.dtype, device=q.device)
    T = _tile_size(H, cache.n)
    for a in range(0, m, T):
        if check:
            check()
        b = min(m, a + T)
        L = pos0 + b
        pos = torch.arange(pos0 + a, pos0 + b, device=q.device)
        score = stage1_scores(qs_all[a:b].float() if score_dtype == torch.float32 else qs_all[a:b], pos, comp, coarse, cfg, score_dtype)
        sel = select_reference(score, cfg.topk)  # [kv, T, nbc]
        key_block = torch.arange(L, device=q.device) // cfg.block_size
        mask = sel.index_select(-1, key_block) & (torch.arange(L, device=q.device)[None, :] <= pos[:, None])[None]
        out[a:b] = _masked_attention(_split_q(q[a:b].to(acc), kv), K[:, :L], V[:, :L], mask, q.dtype)
        if st is not None:
            nk, nc = kernel_counts(pos, cfg)
            _selection_stats(st, sel, pos, (H, kv, d), cfg, cache.esize, nk, nc)
    if st is not None:
        st.calls += 1
        st.sparse_calls += 1
        st.query_tokens += m
    return out


def streaming_reference(cache, q, cfg, st, pos0, check=None):
    m, H, d = q.shape
    kv = cache.kv
    acc = _acc_dtype(q)
    K, V = cache.keys().to(acc), cache.values().to(acc)
    out = torch.empty((m, H, d), dtype=q.dtype, device=q.device)
    T = _tile_size(H, cache.n)
    for a in range(0, m, T):
        if check:
            check()
        b = min(m, a + T)
        L = pos0 + b
        pos = torch.arange(pos0 + a, pos0 + b, device=q.device)
        nbc = (L - 1) // cfg.block_size + 1
        sel = forced_mask(pos, nbc, cfg, q.device)[None].expand(kv, -1, -1)
        key_block = torch.arange(L, device=q.device) // cfg.block_size
        mask = sel.index_select(-1, key_block) & (torch.arange(L, device=q.device)[None, :] <= pos[:, None])[None]
        out[a:b] = _masked_attention(_split_q(q[a:b].to(acc), kv), K[:, :L], V[:, :L], mask, q.dtype)
        if st is not None:
            z = torch.zeros_like(pos)
            _selection_stats(st, sel, pos, (H, kv, d), cfg, cache.esize, z, z)
    if st is not None:
        st.calls += 1
        st.sparse_calls += 1
        st.query_tokens += m
    return out


def oracle_reference(cache, q, cfg, st, pos0, check=None):
    """Blocks of largest true mass (summed over the group's heads), ties to
    the lower index, a NaN mass ranking lowest; no forced blocks."""
    m, H, d = q.shape
    kv = cache.kv
    G = H // kv
    acc = torch.float64 if q.device.type == "cpu" else _acc_dtype(q)
    K, V = cache.keys().to(acc), cache.values().to(acc)
    out = torch.empty((m, H, d), dtype=q.dtype, device=q.device)
    T = _tile_size(H, cache.n)
    bs = cfg.block_size
    for a in range(0, m, T):
        if check:
            check()
        b = min(m, a + T)
        L = pos0 + b
        pos = torch.arange(pos0 + a, pos0 + b, device=q.device)
        causal = (torch.arange(L, device=q.device)[None, :] <= pos[:, None])  # [T, L]
        qq = _split_q(q[a:b].to(acc), kv)
        s = torch.matmul(qq.reshape(kv, G * (b - a), d), K[:, :L].transpose(1, 2)) * (1.0 / math.sqrt(d))
        p = torch.softmax(s.reshape(kv, G, b - a, L).masked_fill(~causal[None, None], float("-inf")), dim=-1)
        nbc = (L - 1) // bs + 1
        padded = p.new_zeros((kv, G, b - a, nbc * bs))
        padded[..., :L] = p
        mass = padded.reshape(kv, G, b - a, nbc, bs).sum(-1).sum(1)  # [kv, T, nbc]
        j = torch.arange(nbc, device=q.device)[None, :]
        mass = mass.masked_fill(torch.isnan(mass), float("-inf"))
        mass = mass.masked_fill((j > (pos // bs)[:, None])[None], float("-inf"))
        top = min(cfg.topk, nbc)
        idx = torch.sort(mass, dim=-1, descending=True, stable=True).indices[..., :top]
        sel = torch.zeros(mass.shape, dtype=torch.bool, device=q.device)
        sel.scatter_(-1, idx, idx <= (pos // bs)[None, :, None])
        key_block = torch.arange(L, device=q.device) // bs
        mask = sel.index_select(-1, key_block) & causal[None]
        out[a:b] = _masked_attention(qq, K[:, :L], V[:, :L], mask, q.dtype)
        if st is not None:
            _selection_stats(st, sel, pos, (H, kv, d), cfg, cache.esize, oracle=True)
    if st is not None:
        st.calls += 1
        st.sparse_calls += 1
        st.query_tokens += m
    return out


# ---------------------------------------------------------------------------
# dispatch


def forward(cache, q, qnope, cfg, st=None, check=None):
    """Causal attention of the m newest tokens of cache (their keys and
    values already appended) with mode cfg; q (and qnope) [m, H, d]. Returns
    [m, H, d] in q's dtype. st (Stats) accumulates statistics; check() is
    called between tiles and may raise Cancelled."""
    m = q.shape[0]
    n = cache.n
    if m < 1 or m > n:
        raise WorkerError("attention: %d query tokens with a cache of %d" % (m, n))
    if cfg.needs_nope() and (qnope is None or cache.knope is None):
        raise WorkerError("attention: %s: use_nope needs pre-rotary queries and keys" % cfg.mode)
    pos0 = n - m
    mode = cfg.mode
    if mode == "switching":
        mode = "dense" if (cfg.dense_len >= 0 and n < cfg.dense_len) else "sparse"
    if cfg.impl == "fast":
        if q.device.type != "cuda":
            raise DeviceError("attention: impl fast runs the CUDA kernels (flash SDPA, Triton): device %s has none; use impl reference on the CPU" % q.device)
        if cfg.mode == "oracle":
            return oracle_reference(cache, q, cfg, st, pos0, check)
        from . import fast
        return fast.forward(cache, q, qnope, cfg, mode, st, pos0)
    if mode == "dense":
        out = dense_reference(cache, q, cfg, st, pos0, check)
        if st is not None and cfg.mode == "switching":
            pass  # counted as a dense call by _dense_stats
        return out
    if mode == "sparse":
        return sparse_reference(cache, q, qnope, cfg, st, pos0, check)
    if mode == "streaming":
        return streaming_reference(cache, q, cfg, st, pos0, check)
    if mode == "oracle":
        return oracle_reference(cache, q, cfg, st, pos0, check)
    raise WorkerError("unknown attention mode %r" % mode)
