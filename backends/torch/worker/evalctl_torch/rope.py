"""Rotary embeddings of the Hugging Face rope types (default, linear,
dynamic NTK, YaRN, llama3), as the native runtime computes them
(backends/model/rope.go): frequencies and angles in float64, cos and sin
times YaRN's attention factor, rotate-half layout (dimension i pairs with
i + d/2)."""

import math

import torch


def inv_freq(c, seq_len):
    """(inverse frequencies [d/2] as a Python list of floats, scale) for a
    forward call whose largest position is seq_len - 1. Only "dynamic"
    depends on seq_len."""
    r = c.rope
    dim = c.head_dim
    half = dim // 2
    base = r.theta

    def fill(b):
        return [1.0 / math.pow(b, (2 * i) / dim) for i in range(half)]

    scale = 1.0
    if r.type == "linear":
        inv = [f / r.factor for f in fill(base)]
    elif r.type == "dynamic":
        n = max(seq_len, c.max_pos)
        b = base * math.pow(r.factor * n / c.max_pos - (r.factor - 1), dim / (dim - 2))
        inv = fill(b)
    elif r.type == "yarn":
        factor = r.factor
        orig = r.original_max_pos if r.original_max_pos > 0 else c.max_pos

        def get_m(s, m):
            return 1.0 if s <= 1 else 0.1 * m * math.log(s) + 1

        scale = r.attention_factor
        if scale == 0:
            if r.mscale != 0 and r.mscale_all_dim != 0:
                scale = get_m(factor, r.mscale) / get_m(factor, r.mscale_all_dim)
            else:
                scale = get_m(factor, 1)

        def corr(rot):
            return dim * math.log(orig / (rot * 2 * math.pi)) / (2 * math.log(base))

        lo, hi = corr(r.beta_fast), corr(r.beta_slow)
        if r.truncate:
            lo, hi = math.floor(lo), math.ceil(hi)
        lo, hi = max(lo, 0), min(hi, dim - 1)
        if lo == hi:
            hi += 0.001
        inv = []
        for i in range(half):
            pf = math.pow(base, (2 * i) / dim)
            extra, inter = 1 / pf, 1 / (factor * pf)
            ramp = min(max((i - lo) / (hi - lo), 0), 1)
            ef = 1 - ramp
            inv.append(inter * (1 - ef) + extra * ef)
    elif r.type == "llama3":
        inv = fill(base)
        old = float(r.original_max_pos)
        low_wave, high_wave = old / r.low_freq_factor, old / r.high_freq_factor
        for i, f in enumerate(inv):
            wave = 2 * math.pi / f
            if wave < high_wave:
                continue
            if wave > low_wave:
                inv[i] = f / r.factor
            else:
                s = (old / wave - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor)
                inv[i] = (1 - s) * f / r.factor + s * f
    else:
        inv = fill(base)
    return inv, scale


def table(c, pos0, m, device, seq_len=None):
    """cos and sin [m, d/2] (float32, times the attention factor) of the
    positions pos0 .. pos0+m-1, computed in float64."""
    inv, scale = inv_freq(c, pos0 + m if seq_len is None else seq_len)
    p = torch.arange(pos0, pos0 + m, dtype=torch.float64, device=device)
    ang = p[:, None] * torch.tensor(inv, dtype=torch.float64, device=device)[None, :]
    return (torch.cos(ang) * scale).float(), (torch.sin(ang) * scale).float()


def apply(x, cos, sin):
    """Rotates x [m, heads, d] in float32 (rotate-half) and returns it in
    x's dtype."""
    half = x.shape[-1] // 2
    xf = x.float()
    a, b = xf[..., :half], xf[..., half:]
    cs, sn = cos[:, None, :], sin[:, None, :]
    return torch.cat((a * cs - b * sn, b * cs + a * sn), dim=-1).to(x.dtype)
