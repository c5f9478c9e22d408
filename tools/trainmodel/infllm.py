"""InfLLM-V2 block-sparse attention for the PyTorch training loop of train.py.

This is the short-to-long adaptation of the InfLLM-V2 paper: a model trained
with dense attention is fine-tuned with the sparse attention in its forward
pass. The algorithm is the one of shared/docs/infllm-v2.md, and the Go
reference in backends/attention (sparse.go, NewSparse) is the oracle; the
test (test_infllm.py) checks this file against a fixture that the Go code
wrote (infllmfixture/).

Pieces:

- select_blocks: steps 1-5 of the document (compressed keys, stage-1
  softmax per query head summed over the group, max-pool to blocks, forced
  init/local blocks, top-k). Discrete, so it runs under no_grad and carries
  no gradient; like the paper, no parameter is added. Queries are processed
  in chunks, so memory stays at a few hundred MB even at 32K tokens.
- sparse_attention_reference: step 6 with an explicit token-level mask and a
  float32 (or float64) softmax. O(N^2) memory: small N only; the test oracle.
- sparse_attention_flex: step 6 for training on CUDA (torch >= 2.5) with
  flex_attention: the per-token block selection becomes a BlockMask whose
  mask_mod is (kv <= q) & sel[b, h // G, q, kv // block_size]. Gradients
  flow to q, k and v through the attention over the selected tokens only.
- make_attention: the function to assign to train.ATTENTION.

Decisions (each one mirrors the Go reference, or says why not):

- Ties in step 5 go to the lower block index, and forced blocks rank above
  every scored block. Ties are common, not a corner case: neighbouring blocks
  share a kernel in their max-pool windows (kernel j*r+r-1 is in the window
  of block j and of block j+1), so both often get the very same score. We
  give forced blocks the score +inf, blocks that are not eligible -inf, and
  take the first topk of a *stable* descending sort, which orders equal
  scores by index. A scored block can never reach +inf (s(i) <= G), so the
  forced ones always come first. torch.topk is not used: it does not promise
  any order among ties.
- Fewer than topk eligible blocks: all of them are selected, no more (the
  -inf entries that a sort brings into the first topk are dropped). A block
  with no visible kernel (possible only when kernel_size > block_size) is
  not eligible unless forced, so "topk covers every block" equals dense only
  when kernel_size <= block_size (true for the defaults). A NaN score counts
  as -inf. A kernel whose probability underflows to 0 is still visible: its
  block is eligible with score 0, as in Go.
- Compressed keys are means computed in float64 (when scoring in float64)
  or float32 and stored as float32, as Go stores them; stage-1 scores are
  float32 on the GPU and float64 when the inputs are float64 (the test uses
  float64 so that near-ties are decided as Go decides them).
- lse: only "exact" (a softmax over the visible kernels) is implemented;
  "approx" is a speed device of the paper's kernel and changes which blocks
  win, so it is rejected rather than silently treated as exact.
- use_nope: not implemented, and not needed here: it defaults to false,
  and train.py hands the hook q and k already rotated (the Go reference has
  it for inference experiments). It is rejected when set.
- Dense shortcut in make_attention: when N <= topk * block_size (and
  kernel_size <= block_size), every block up to each query's own is
  selected (step 5), so the result is exactly dense causal attention; SDPA
  is used then, as train.py does, because it is cheaper than scoring.
- Flex path: the sequence is padded to a multiple of 128 (flex's tile), so
  every index the mask_mod sees is in range and few distinct shapes reach
  torch.compile; padded query rows attend only to their own block and are
  cut off the output. The BlockMask is built directly from the selection
  (which 128x128 tiles hold any selected key, which hold only selected,
  causal keys and need no mask_mod), without create_block_mask, which would
  materialise a [B, H, N, N] mask (8 GiB at 32K, B=2, H=4) unless compiled.
  create_block_mask is still available (builder="create_block_mask") to
  cross-check the tables on the GPU at small N.
- Cost of the flex path: flex skips work per 128x128 tile, so a tile is
  computed when any of its 128 queries selected any of its keys. The
  result is exact (the mask_mod masks per token), but the work is the union
  of 128 tokens' selections, which can be far more than topk blocks per
  token; the speedup over dense is therefore smaller than the document's
  cost model, and must be measured (test_infllm.py times it).
"""

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

# flex_attention exists from torch 2.5; on older torch (Debian's 1.13, used to
# run the CPU tests) the reference path stands in.
try:
    from torch.nn.attention.flex_attention import BlockMask, create_block_mask, flex_attention

    # Compiled once for the process: the eager flex_attention materialises
    # the scores. Shapes that change from call to call (train.py's batches
    # do) make torch.compile recompile once, then treat the length as dynamic.
    # One compiled kernel per padded length (dynamic=False): train.py pads
    # sparse batches to multiples of 1024 tokens, so a run sees a handful of
    # lengths. Automatic dynamic shapes and the default cache of 8 entries
    # were not enough: the first sparse fine-tune (one batch length per
    # multiple of 128) ran at about 5 s per step, the eager fallback.
    _flex_compiled = torch.compile(flex_attention, dynamic=False)
    import torch._dynamo
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    if hasattr(torch._dynamo.config, "accumulated_cache_size_limit"):
        torch._dynamo.config.accumulated_cache_size_limit = max(
            torch._dynamo.config.accumulated_cache_size_limit, 256)
    FLEX_AVAILABLE = True
except Exception:  # ImportError, or a torch without torch.compile
    BlockMask = create_block_mask = flex_attention = _flex_compiled = None
    FLEX_AVAILABLE = False

# Tile size of the BlockMask (flex_attention's default sparse block size).
FLEX_TILE = 128


@dataclass(frozen=True)
class InfLLMConfig:
    """InfLLM-V2 parameters, in the names of infllm-v2.md; MiniCPM4.1 defaults."""

    block_size: int = 64      # tokens per key block
    kernel_size: int = 32     # tokens per compressed key
    kernel_stride: int = 16   # step between compressed keys
    init_blocks: int = 1      # first blocks, always selected
    local_blocks: int = 32    # blocks before the query's own, always selected
    topk: int = 96            # total blocks per query token and KV head, forced ones included
    lse: str = "exact"        # only "exact" here
    use_nope: bool = False    # only False here

    def validate(self):
        """Raises ValueError on a configuration the Go reference rejects, or
        on a feature this file does not implement."""
        for name in ("block_size", "kernel_size", "kernel_stride", "topk"):
            if getattr(self, name) < 1:
                raise ValueError("infllm: %s = %d: must be >= 1" % (name, getattr(self, name)))
        if self.init_blocks < 0 or self.local_blocks < 0:
            raise ValueError("infllm: init_blocks = %d, local_blocks = %d: must be >= 0"
                             % (self.init_blocks, self.local_blocks))
        if self.block_size % self.kernel_stride:
            raise ValueError("infllm: block_size %d must be a multiple of kernel_stride %d"
                             % (self.block_size, self.kernel_stride))
        if self.kernel_size < self.kernel_stride:
            raise ValueError("infllm: kernel_size %d must be >= kernel_stride %d"
                             % (self.kernel_size, self.kernel_stride))
        forced = self.init_blocks + self.local_blocks + 1
        if self.topk < forced:
            raise ValueError("infllm: topk = %d: must be >= init_blocks + local_blocks + 1 = %d"
                             % (self.topk, forced))
        if self.lse != "exact":
            raise ValueError("infllm: lse = %r: only 'exact' is implemented" % (self.lse,))
        if self.use_nope:
            raise ValueError("infllm: use_nope is not implemented (the hook gets rotated q/k)")
        return self

    def describe(self):
        return " ".join("%s=%s" % kv for kv in asdict(self).items())


def visible_count(n, size, stride):
    """Number of full windows of `size` tokens, `stride` apart, within the
    first n tokens (kernel i covers [stride*i, stride*i+size))."""
    return 0 if n < size else (n - size) // stride + 1


def _no_autocast(device):
    # train.py runs the model under autocast(bfloat16); block scoring should
    # see float32 matmuls.
    return torch.autocast(device_type=device.type, enabled=False)


def compress_keys(k, cfg, dtype=torch.float32):
    """Step 1: kernel i of each KV head = mean of k over [stride*i,
    stride*i+size), full kernels only. k [B, KV, N, D] -> [B, KV, nk, D].
    The mean is accumulated in float64 when dtype is float64, else in
    float32, and rounded to float32 (the Go reference stores it so)."""
    B, KV, N, D = k.shape
    nk = visible_count(N, cfg.kernel_size, cfg.kernel_stride)
    if nk == 0:
        return k.new_zeros((B, KV, 0, D), dtype=dtype)
    acc = torch.float64 if dtype == torch.float64 else torch.float32
    windows = k.to(acc).unfold(2, cfg.kernel_size, cfg.kernel_stride)  # [B, KV, nk, D, size]
    return windows.mean(-1).to(torch.float32).to(dtype)


def block_scores(q, kc, cfg, t0, t1, dtype):
    """Steps 2-4 for the query tokens t0..t1-1: the block scores [B, KV,
    t1-t0, nbc] with nbc = (t1-1)//block_size + 1 blocks (enough for the
    last query). Forced blocks score +inf; blocks after the query's own, with
    no visible kernel, or scoring NaN score -inf. q [B, H, N, D]; kc the
    compressed keys [B, KV, nk, D] of the whole sequence."""
    B, H, N, D = q.shape
    KV = kc.shape[1]
    G = H // KV
    C = t1 - t0
    bs, size, stride = cfg.block_size, cfg.kernel_size, cfg.kernel_stride
    r = bs // stride
    nbc = (t1 - 1) // bs + 1
    dev = q.device
    t = torch.arange(t0, t1, device=dev)
    ninf = float("-inf")

    nk = visible_count(t1, size, stride)  # kernels visible to the chunk's last query
    if nk > 0:
        # Step 2: softmax over the kernels visible to each query, per query
        # head, then summed over the G heads of the group.
        qc = q[:, :, t0:t1].to(dtype).reshape(B, KV, G, C, D)
        z = torch.matmul(qc, kc[:, :, None, :nk].transpose(-1, -2)) * (1.0 / math.sqrt(D))
        vis = torch.arange(nk, device=dev)[None, :] * stride + size <= t[:, None] + 1  # [C, nk]
        p = torch.softmax(z.masked_fill(~vis, ninf), dim=-1)
        # Queries that see no kernel yet have all -inf logits and NaN rows;
        # zero them (their kernels are all invisible, so they get -inf next).
        s = p.masked_fill(~vis, 0.0).sum(2)  # [B, KV, C, nk]
        del z, p
        s = s.masked_fill(~vis, ninf)
        # Step 3: block j = max over kernels j*r-1 .. j*r+r-1 (r+1 of them,
        # windows r apart, one -inf pad on the left). Kernels beyond nk
        # (not visible to anyone in the chunk) are -inf pads on the right.
        assert nk <= nbc * r
        padded = s.new_full((B, KV, C, nbc * r + 1), ninf)
        padded[..., 1:1 + nk] = s
        score = padded.unfold(-1, r + 1, r).amax(-1)  # [B, KV, C, nbc]
        del padded, s
        score = score.masked_fill(torch.isnan(score), ninf)
    else:
        score = q.new_full((B, KV, C, nbc), ninf, dtype=dtype)

    # Step 4 (and the "j > bq" drop of step 5).
    j = torch.arange(nbc, device=dev)[None, :]
    bq = (t // bs)[:, None]
    score = score.masked_fill(j > bq, ninf)
    forced = ((j < cfg.init_blocks) | (j >= bq - cfg.local_blocks)) & (j <= bq)
    return score.masked_fill(forced, float("inf"))


def select_blocks(q, k, cfg, q_chunk=2048, score_dtype=None):
    """Steps 1-5: which key blocks each query token attends to.

    q [B, H, N, D], k [B, KV, N, D] (rotated, positions 0..N-1). Returns a
    bool tensor sel [B, KV, N, nblocks], nblocks = ceil(N / block_size),
    True where the block is selected for that query token and KV head (the
    G query heads of a group share it). Scores are float64 when q is float64
    (or score_dtype says so), else float32. No gradient."""
    cfg.validate()
    B, H, N, D = q.shape
    KV = k.shape[1]
    if H % KV:
        raise ValueError("infllm: %d query heads is not a multiple of %d KV heads" % (H, KV))
    if score_dtype is None:
        score_dtype = torch.float64 if q.dtype == torch.float64 else torch.float32
    nb = -(-N // cfg.block_size)
    with torch.no_grad(), _no_autocast(q.device):
        kc = compress_keys(k.detach(), cfg, score_dtype)
        sel = torch.zeros((B, KV, N, nb), dtype=torch.bool, device=q.device)
        for t0 in range(0, N, q_chunk):
            t1 = min(N, t0 + q_chunk)
            score = block_scores(q.detach(), kc, cfg, t0, t1, score_dtype)
            # Step 5: stable sort, so equal scores keep index order (lower
            # block first); the first topk win unless they score -inf.
            top = min(cfg.topk, score.shape[-1])
            vals, idx = torch.sort(score, dim=-1, descending=True, stable=True)
            chunk = torch.zeros(score.shape, dtype=torch.bool, device=q.device)
            chunk.scatter_(-1, idx[..., :top], vals[..., :top] > float("-inf"))
            sel[:, :, t0:t1, :score.shape[-1]] = chunk
            del score, vals, idx, chunk
    return sel


def token_mask(sel, block_size):
    """Expands sel [B, KV, N, nb] to the token-level mask [B, KV, N, N]:
    key s visible to query t iff s <= t and block s // block_size selected."""
    N = sel.shape[2]
    key_block = torch.arange(N, device=sel.device) // block_size
    causal = torch.ones((N, N), dtype=torch.bool, device=sel.device).tril()
    return sel.index_select(-1, key_block) & causal


def sparse_attention_reference(q, k, v, cfg, sel=None):
    """Step 6 with an explicit mask: one softmax per query head over the keys
    of its group's selected blocks at positions <= its own. Computed in
    float32 (float64 for float64 inputs); returns q's dtype. Differentiable
    in q, k, v. Memory O(B*H*N^2): small N only. When every block up to each
    query's own is selected, this is dense causal attention."""
    B, H, N, D = q.shape
    KV = k.shape[1]
    G = H // KV
    if sel is None:
        sel = select_blocks(q, k, cfg)
    dt = torch.float64 if q.dtype == torch.float64 else torch.float32
    mask = token_mask(sel, cfg.block_size)[:, :, None]  # [B, KV, 1, N, N]
    qf = q.to(dt).reshape(B, KV, G, N, D)
    kf, vf = k.to(dt)[:, :, None], v.to(dt)[:, :, None]
    logits = torch.matmul(qf, kf.transpose(-1, -2)) * (1.0 / math.sqrt(D))
    p = torch.softmax(logits.masked_fill(~mask, float("-inf")), dim=-1)
    return torch.matmul(p, vf).reshape(B, H, N, D).to(q.dtype)


def dense_causal(q, k, v):
    """Dense causal attention, train.py's default (KV heads repeated for
    the groups); a float32 softmax where SDPA does not exist (torch < 2.0)."""
    G = q.shape[1] // k.shape[1]
    if G > 1:
        k = k.repeat_interleave(G, dim=1)
        v = v.repeat_interleave(G, dim=1)
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    N, D = q.shape[2], q.shape[3]
    dt = torch.float64 if q.dtype == torch.float64 else torch.float32
    logits = torch.matmul(q.to(dt), k.to(dt).transpose(-1, -2)) * (1.0 / math.sqrt(D))
    causal = torch.ones((N, N), dtype=torch.bool, device=q.device).tril()
    p = torch.softmax(logits.masked_fill(~causal, float("-inf")), dim=-1)
    return torch.matmul(p, v.to(dt)).to(q.dtype)


# ---------------------------------------------------------------------------
# flex_attention path


def pad_selection(sel, n_pad, block_size):
    """sel [B, KV, N, nb] padded to n_pad query rows and ceil(n_pad/block_size)
    block columns: real rows select nothing more; padded rows select only
    their own block (so no row is empty; their outputs are thrown away)."""
    B, KV, N, nb = sel.shape
    nbp = -(-n_pad // block_size)
    out = torch.zeros((B, KV, n_pad, nbp), dtype=torch.bool, device=sel.device)
    out[:, :, :N, :nb] = sel
    if n_pad > N:
        rows = torch.arange(N, n_pad, device=sel.device)
        out[:, :, rows, rows // block_size] = True
    return out


def _ordered(tiles):
    """[..., R, C] bool -> (count [..., R], column indices [..., R, C]) int32,
    the columns that hold True first, in increasing order."""
    num = tiles.sum(-1).to(torch.int32)
    idx = torch.sort(tiles.to(torch.int32), dim=-1, descending=True, stable=True).indices
    return num, idx.to(torch.int32)


def flex_block_tables(sel_pad, block_size, tile=FLEX_TILE):
    """The BlockMask tables of the padded selection sel_pad [B, KV, Np, nbp]
    (Np a multiple of tile) for tile x tile tiles: tiles that hold any
    attended (selected and causal) key, and those whose keys are all attended
    for every query (then flex skips the mask_mod). Returns (kv_num,
    kv_idx, full_num, full_idx), per KV head: [B, KV, R] and [B, KV, R, R],
    partial tiles in the first pair, full ones in the second."""
    B, KV, Np, nbp = sel_pad.shape
    if Np % tile:
        raise ValueError("infllm: padded length %d is not a multiple of %d" % (Np, tile))
    R = Np // tile
    # Per query row: does tile column c hold any / only selected blocks?
    if tile % block_size == 0:
        m = tile // block_size
        cols = sel_pad[..., :R * m].reshape(B, KV, Np, R, m)
        col_any, col_all = cols.any(-1), cols.all(-1)
    elif block_size % tile == 0:
        col_any = col_all = sel_pad.repeat_interleave(block_size // tile, dim=-1)[..., :R]
    else:
        raise ValueError("infllm: flex path needs block_size (%d) to divide %d or be a multiple of it"
                         % (block_size, tile))
    # Over the tile's query rows. Token-level causality: a tile strictly
    # below the diagonal (c < r) is causal throughout; the diagonal tile is
    # partly; tiles above it are not at all.
    row_any = col_any.reshape(B, KV, R, tile, R).any(3)
    row_all = col_all.reshape(B, KV, R, tile, R).all(3)
    r = torch.arange(R, device=sel_pad.device)
    below = r[None, :] < r[:, None]       # [r, c]: c < r
    on_or_below = r[None, :] <= r[:, None]
    full = row_all & below
    partial = row_any & on_or_below & ~full
    return _ordered(partial) + _ordered(full)


def _sparse_mask_mod(sel_pad, G, block_size):
    def mask_mod(b, h, q_idx, kv_idx):
        return (kv_idx <= q_idx) & sel_pad[b, h // G, q_idx, kv_idx // block_size]
    return mask_mod


def flex_block_mask(sel, n_pad, heads, block_size, builder="tables"):
    """The flex BlockMask of a selection, for heads query heads and n_pad
    (padded) tokens. builder "tables" builds it from flex_block_tables;
    "create_block_mask" evaluates the mask_mod on every (q, kv) pair
    (O(B*H*Np^2) memory, for cross-checks at small N)."""
    B, KV = sel.shape[:2]
    G = heads // KV
    sel_pad = pad_selection(sel, n_pad, block_size)
    mask_mod = _sparse_mask_mod(sel_pad, G, block_size)
    if builder == "create_block_mask":
        return create_block_mask(mask_mod, B, heads, n_pad, n_pad, device=sel.device,
                                 BLOCK_SIZE=FLEX_TILE)
    if builder != "tables":
        raise ValueError("infllm: builder %r: accepted: tables, create_block_mask" % (builder,))
    # Per query head: the query heads of a group share their KV head's tables.
    tables = [t.repeat_interleave(G, dim=1).contiguous() for t in flex_block_tables(sel_pad, block_size)]
    kv_num, kv_idx, full_num, full_idx = tables
    return BlockMask.from_kv_blocks(kv_num, kv_idx, full_num, full_idx, BLOCK_SIZE=FLEX_TILE,
                                    mask_mod=mask_mod, seq_lengths=(n_pad, n_pad))


def sparse_attention_flex(q, k, v, cfg, sel=None, q_chunk=2048, builder="tables"):
    """Step 6 on CUDA with the compiled flex_attention: q [B, H, N, D], k, v
    [B, KV, N, D] -> [B, H, N, D] in q's dtype; differentiable in q, k, v.
    sel (from select_blocks) is computed when not given."""
    if not FLEX_AVAILABLE:
        raise RuntimeError("infllm: flex_attention needs torch >= 2.5")
    B, H, N, D = q.shape
    G = H // k.shape[1]
    if sel is None:
        sel = select_blocks(q, k, cfg, q_chunk=q_chunk)
    n_pad = -(-N // FLEX_TILE) * FLEX_TILE
    bm = flex_block_mask(sel, n_pad, H, cfg.block_size, builder=builder)
    k, v = k.to(q.dtype), v.to(q.dtype)
    if n_pad > N:
        pad = (0, 0, 0, n_pad - N)
        q, k, v = F.pad(q, pad), F.pad(k, pad), F.pad(v, pad)
    with _no_autocast(q.device):
        o = _flex_compiled(q, k, v, block_mask=bm, enable_gqa=G > 1)
    return o[:, :, :N]


def make_attention(cfg=None, q_chunk=2048):
    """The function for train.ATTENTION: (q [B,H,N,D], k, v [B,KV,N,D]) ->
    o [B,H,N,D]. Dense causal attention when the sparse result is exactly
    dense (N <= topk*block_size, kernel_size <= block_size), else sparse:
    flex_attention on CUDA, the reference elsewhere (small N only)."""
    cfg = (cfg or InfLLMConfig()).validate()
    dense_upto = cfg.topk * cfg.block_size if cfg.kernel_size <= cfg.block_size else 0

    def attention(q, k, v):
        N = q.shape[2]
        if N <= dense_upto:
            return dense_causal(q, k, v)
        if q.is_cuda and FLEX_AVAILABLE:
            return sparse_attention_flex(q, k, v, cfg, q_chunk=q_chunk)
        return sparse_attention_reference(q, k, v, cfg)

    attention.cfg = cfg
    return attention
