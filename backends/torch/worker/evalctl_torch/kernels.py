"""Triton kernels of the fast sparse path (CUDA only; imported by fast.py).

Two kernels, written for InfLLM-V2's shapes (the G query heads of a KV group
share a selection, so they are the rows of one tile together with a few
consecutive tokens):

stage1_kernel: stage 1 for a tile of BT tokens x GP heads (GP = G rounded up
  to a power of two; extra rows masked) and one KV head. Pass 1: the
  per-head log-sum-exp over the kernels visible to each row's token (or
  over the coarse kernels, lse approx; the exact one while none is
  visible). Pass 2: p = exp(z - lse) over the kernels, summed over the
  group's heads in registers, then max-pooled per block of r = B/stride
  kernels in registers. It writes two numbers per (token, block): OWN, the
  max over the block's own kernels r*j .. r*j+r-1, and LAST, its kernel
  r*j+r-1 alone; the block score max(OWN[j], LAST[j-1]) (kernels r*j-1 ..
  r*j+r-1) is formed by the caller. No [tokens x kernels] matrix is
  written.

attn_kernel: block-sparse attention with an online softmax (base 2), in two
  phases that share the code:
  PHASE 0, the forced blocks (init blocks and the local window up to the
  query's own block, causally masked there), which every token of a query
  block shares: a tile is BT tokens of one query block x GP heads, so a
  K/V block feeds BT*GP rows. It writes the normalised output and the
  log-sum-exp of each row (fp32), or, when FINAL (streaming), the output.
  PHASE 1, the scored blocks of one token (its list from the selection),
  rows = its GP heads (at least 16): it starts from phase 0's state and
  writes the output. Scored blocks lie before the local window, so they
  need no causal mask.
"""

import triton
import triton.language as tl


@triton.jit(do_not_specialize=["m", "pos0", "nk_total", "nc_total", "so_h", "so_t", "nbo"])
def stage1_kernel(
    Q, KC, KCC, OWN, LAST,
    m, pos0, nk_total, nc_total,
    sq_t, sq_h, skc_h, skc_n, skcc_h, skcc_n, so_h, so_t,
    nbo, scale2,
    G: tl.constexpr, GP: tl.constexpr, BT: tl.constexpr, BN: tl.constexpr,
    D: tl.constexpr, BD: tl.constexpr,
    KSIZE: tl.constexpr, KSTRIDE: tl.constexpr, R: tl.constexpr,
    APPROX: tl.constexpr, ASIZE: tl.constexpr, ASTRIDE: tl.constexpr,
):
    BM: tl.constexpr = BT * GP
    tile = tl.program_id(0)
    g = tl.program_id(1).to(tl.int64)
    i0 = tile * BT
    rows = tl.arange(0, BM)
    tok = rows // GP
    hd = rows % GP
    qi = i0 + tok
    row_ok = (qi < m) & (hd < G)
    t = pos0 + qi  # position of each row's token
    dd = tl.arange(0, BD)
    q = tl.load(Q + qi[:, None] * sq_t + (g * G + hd)[:, None] * sq_h + dd[None, :],
                mask=row_ok[:, None] & (dd[None, :] < D), other=0.0)
    # visible kernels per row: i*stride + size <= t + 1
    nk_r = tl.where(t + 1 >= KSIZE, (t + 1 - KSIZE) // KSTRIDE + 1, 0)
    t_last = pos0 + tl.minimum(i0 + BT, m) - 1
    nk_tile = tl.where(t_last + 1 >= KSIZE, (t_last + 1 - KSIZE) // KSTRIDE + 1, 0)
    nk_tile = tl.minimum(nk_tile, nk_total)
    cols = tl.arange(0, BN)

    # pass 1: log-sum-exp (base 2) of each row's visible logits
    m_f = tl.full([BM], float("-inf"), tl.float32)
    l_f = tl.zeros([BM], tl.float32)
    t_first = pos0 + i0
    if APPROX:
        need_fine = t_first + 1 < ASIZE
    else:
        need_fine = t_first >= 0
    if need_fine:
        for n0 in range(0, nk_tile, BN):
            n = n0 + cols
            kc = tl.load(KC + g * skc_h + n[:, None] * skc_n + dd[None, :], mask=(n[:, None] < nk_total) & (dd[None, :] < D), other=0.0)
            z = tl.dot(q, tl.trans(kc)) * scale2
            z = tl.where(n[None, :] < nk_r[:, None], z, float("-inf"))
            m_new = tl.maximum(m_f, tl.max(z, 1))
            m_use = tl.where(m_new == float("-inf"), 0.0, m_new)
            l_f = l_f * tl.exp2(m_f - m_use) + tl.sum(tl.exp2(z - m_use[:, None]), 1)
            m_f = m_new
    lse = m_f + tl.log2(l_f)
    if APPROX:
        nc_r = tl.where(t + 1 >= ASIZE, (t + 1 - ASIZE) // ASTRIDE + 1, 0)
        nc_tile = tl.where(t_last + 1 >= ASIZE, (t_last + 1 - ASIZE) // ASTRIDE + 1, 0)
        nc_tile = tl.minimum(nc_tile, nc_total)
        m_c = tl.full([BM], float("-inf"), tl.float32)
        l_c = tl.zeros([BM], tl.float32)
        for n0 in range(0, nc_tile, BN):
            n = n0 + cols
            kc = tl.load(KCC + g * skcc_h + n[:, None] * skcc_n + dd[None, :], mask=(n[:, None] < nc_total) & (dd[None, :] < D), other=0.0)
            z = tl.dot(q, tl.trans(kc)) * scale2
            z = tl.where(n[None, :] < nc_r[:, None], z, float("-inf"))
            m_new = tl.maximum(m_c, tl.max(z, 1))
            m_use = tl.where(m_new == float("-inf"), 0.0, m_new)
            l_c = l_c * tl.exp2(m_c - m_use) + tl.sum(tl.exp2(z - m_use[:, None]), 1)
            m_c = m_new
        lse = tl.where(nc_r > 0, m_c + tl.log2(l_c), lse)
    lse_use = tl.where(lse == float("-inf"), 0.0, lse)

    # pass 2: s(i) summed over the group's heads, max-pooled per block
    NBT: tl.constexpr = BN // R
    tq = i0 + tl.arange(0, BT)
    tpos = pos0 + tq
    nk_t = tl.where(tpos + 1 >= KSIZE, (tpos + 1 - KSIZE) // KSTRIDE + 1, 0)
    within = tl.arange(0, R)
    for n0 in range(0, nk_tile, BN):
        n = n0 + cols
        kc = tl.load(KC + g * skc_h + n[:, None] * skc_n + dd[None, :], mask=(n[:, None] < nk_total) & (dd[None, :] < D), other=0.0)
        z = tl.dot(q, tl.trans(kc)) * scale2
        p = tl.exp2(z - lse_use[:, None])
        p = tl.where(row_ok[:, None] & (n[None, :] < nk_r[:, None]), p, 0.0)
        s = tl.sum(tl.reshape(p, (BT, GP, BN)), 1)  # [BT, BN]
        s = tl.where(n[None, :] < nk_t[:, None], s, float("-inf"))
        s3 = tl.reshape(s, (BT, NBT, R))
        own = tl.max(s3, 2)
        last = tl.sum(tl.where(within[None, None, :] == R - 1, s3, 0.0), 2)
        j = n0 // R + tl.arange(0, NBT)
        mask = (tq[:, None] < m) & (j[None, :] < nbo)
        off = g * so_h + tq[:, None] * so_t + j[None, :]
        tl.store(OWN + off, own, mask=mask)
        tl.store(LAST + off, last, mask=mask)


@triton.jit(do_not_specialize=["m", "pos0", "n", "sl_h", "init_blocks", "local_blocks"])
def attn_kernel(
    Q, K, V, O, OACC, LSE, LIST, CNT,
    m, pos0, n, H,
    sq_t, sq_h, sk_h, sk_n, so_t, so_h, sl_h, sl_t,
    init_blocks, local_blocks, scale2,
    G: tl.constexpr, GP: tl.constexpr, BT: tl.constexpr, B: tl.constexpr,
    D: tl.constexpr, BD: tl.constexpr, PHASE: tl.constexpr, FINAL: tl.constexpr,
):
    BM: tl.constexpr = BT * GP
    tile = tl.program_id(0)
    g = tl.program_id(1).to(tl.int64)
    rows = tl.arange(0, BM)
    tok = rows // GP
    hd = rows % GP
    dd = tl.arange(0, BD)
    kk = tl.arange(0, B)
    if PHASE == 0:
        # tiles of BT consecutive positions, aligned to BT (which divides
        # B, so a tile never straddles two query blocks)
        p_first = (pos0 // BT + tile) * BT
        qb = p_first // B
        pos = p_first + tok
        qi = pos - pos0
    else:
        qi = tile * BT + tok
        pos = pos0 + qi
    row_ok = (qi >= 0) & (qi < m) & (hd < G)
    head = g * G + hd
    q = tl.load(Q + qi[:, None] * sq_t + head[:, None] * sq_h + dd[None, :], mask=row_ok[:, None] & (dd[None, :] < D), other=0.0)
    kbase = K + g * sk_h
    vbase = V + g * sk_h
    if PHASE == 0:
        m_i = tl.full([BM], float("-inf"), tl.float32)
        l_i = tl.zeros([BM], tl.float32)
        acc = tl.zeros([BM, BD], tl.float32)
        bq = qb
        n_init = tl.minimum(init_blocks, bq + 1)
        lo = tl.maximum(init_blocks, bq - local_blocks)
        n_loc = tl.maximum(bq - lo + 1, 0)
        for it in range(0, n_init + n_loc):
            j = tl.where(it < n_init, it, lo + it - n_init)
            kpos = j * B + kk
            kmask = kpos < n
            k = tl.load(kbase + kpos[:, None] * sk_n + dd[None, :], mask=kmask[:, None] & (dd[None, :] < D), other=0.0)
            v = tl.load(vbase + kpos[:, None] * sk_n + dd[None, :], mask=kmask[:, None] & (dd[None, :] < D), other=0.0)
            z = tl.dot(q, tl.trans(k)) * scale2
            ok = kmask[None, :] & (kpos[None, :] <= pos[:, None])
            z = tl.where(ok, z, float("-inf"))
            m_new = tl.maximum(m_i, tl.max(z, 1))
            m_use = tl.where(m_new == float("-inf"), 0.0, m_new)
            alpha = tl.exp2(m_i - m_use)
            p = tl.exp2(z - m_use[:, None])
            l_i = l_i * alpha + tl.sum(p, 1)
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
            m_i = m_new
        l_safe = tl.where(l_i > 0, l_i, 1.0)
        out = acc / l_safe[:, None]
        optr = qi[:, None] * so_t + head[:, None] * so_h + dd[None, :]
        omask = row_ok[:, None] & (dd[None, :] < D)
        if FINAL:
            tl.store(O + optr, out.to(O.dtype.element_ty), mask=omask)
        else:
            tl.store(OACC + optr, out, mask=omask)
            tl.store(LSE + qi * H + head, m_i + tl.log2(l_safe), mask=row_ok)
    else:
        optr = qi[:, None] * so_t + head[:, None] * so_h + dd[None, :]
        omask = row_ok[:, None] & (dd[None, :] < D)
        acc = tl.load(OACC + optr, mask=omask, other=0.0)
        m_i = tl.load(LSE + qi * H + head, mask=row_ok, other=0.0)
        l_i = tl.full([BM], 1.0, tl.float32)
        # one token per tile (BT == 1): its list
        i_tok = tile
        cnt = tl.load(CNT + g * m + i_tok)
        for s in range(0, cnt):
            j = tl.load(LIST + g * sl_h + i_tok * sl_t + s)
            kpos = j * B + kk
            k = tl.load(kbase + kpos[:, None] * sk_n + dd[None, :], mask=dd[None, :] < D, other=0.0)
            v = tl.load(vbase + kpos[:, None] * sk_n + dd[None, :], mask=dd[None, :] < D, other=0.0)
            z = tl.dot(q, tl.trans(k)) * scale2
            m_new = tl.maximum(m_i, tl.max(z, 1))
            alpha = tl.exp2(m_i - m_new)
            p = tl.exp2(z - m_new[:, None])
            l_i = l_i * alpha + tl.sum(p, 1)
            acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
            m_i = m_new
        tl.store(O + optr, (acc / l_i[:, None]).to(O.dtype.element_ty), mask=omask)
