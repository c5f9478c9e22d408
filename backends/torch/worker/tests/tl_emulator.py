"""An emulator of the subset of Triton that evalctl_torch/kernels.py uses,
executing each program of a launch as plain PyTorch on the CPU, so that the
kernels' logic (tiling, masks, the two attention phases, the in-register
group sum and max-pool) is tested where there is no GPU (CI, the
development machine).

It is not Triton: blocks are ordinary tensors, tl.dot is a float32 matmul,
a pointer is (flat tensor, offsets). What it checks is the arithmetic and
the indexing of the kernel source, not code generation or performance;
tests/gpu_bench.py check does that on a GPU.

install() puts modules named triton and triton.language into sys.modules
(only when the real Triton is not importable)."""

import itertools
import sys
import types

import torch


class _DType:
    def __init__(self, torch_dtype):
        self.t = torch_dtype
        self.element_ty = torch_dtype


class Ptr:
    """A pointer block: a flat tensor and element offsets."""

    def __init__(self, flat, off=None):
        self.flat = flat
        self.off = off if off is not None else torch.zeros((), dtype=torch.int64)
        self.dtype = _DType(flat.dtype)

    def __add__(self, o):
        if torch.is_tensor(o):
            o = o.to(torch.int64)
        return Ptr(self.flat, self.off + o)

    __radd__ = __add__


def _t(x, like=None):
    if torch.is_tensor(x):
        return x
    if isinstance(x, bool):
        return torch.tensor(x)
    if isinstance(x, int):
        return torch.tensor(x, dtype=torch.int64 if like is None or not like.dtype.is_floating_point else like.dtype)
    return torch.tensor(x, dtype=torch.float32 if like is None else like.dtype)


def program_id(axis):
    return torch.tensor(_PIDS[-1][axis], dtype=torch.int32)


def arange(a, b):
    return torch.arange(a, b, dtype=torch.int32)


def load(ptr, mask=None, other=0.0):
    off = ptr.off
    if mask is not None:
        mask = torch.broadcast_to(_t(mask), off.shape)
        safe = torch.where(mask, off, torch.zeros_like(off))
        val = ptr.flat[safe.reshape(-1)].reshape(off.shape)
        return torch.where(mask, val, torch.full_like(val, other))
    return ptr.flat[off.reshape(-1)].reshape(off.shape)


def store(ptr, val, mask=None):
    off = ptr.off
    val = torch.broadcast_to(_t(val), off.shape).to(ptr.flat.dtype)
    if mask is not None:
        mask = torch.broadcast_to(_t(mask), off.shape)
        ptr.flat[off[mask]] = val[mask]
    else:
        ptr.flat[off.reshape(-1)] = val.reshape(-1)


def dot(a, b):
    return torch.matmul(a.float(), b.float())


def trans(x):
    return x.transpose(-1, -2)


def where(c, a, b):
    c = _t(c)
    if torch.is_tensor(a) and not torch.is_tensor(b):
        b = _t(b, a)
    elif torch.is_tensor(b) and not torch.is_tensor(a):
        a = _t(a, b)
    else:
        a, b = _t(a), _t(b)
    if a.dtype != b.dtype:
        dt = torch.promote_types(a.dtype, b.dtype)
        a, b = a.to(dt), b.to(dt)
    return torch.where(c, a, b)


def maximum(a, b):
    return where(_t(a) >= _t(b), a, b) if not (torch.is_tensor(a) and torch.is_tensor(b)) else torch.maximum(a, b)


def minimum(a, b):
    return where(_t(a) <= _t(b), a, b) if not (torch.is_tensor(a) and torch.is_tensor(b)) else torch.minimum(a, b)


def max(x, axis):  # noqa: A001
    return x.amax(axis)


def sum(x, axis):  # noqa: A001
    return x.sum(axis)


def exp2(x):
    return torch.exp2(x)


def log2(x):
    return torch.log2(x)


def full(shape, value, dtype):
    return torch.full(shape, value, dtype=dtype)


def zeros(shape, dtype):
    return torch.zeros(shape, dtype=dtype)


def reshape(x, shape):
    return x.reshape(shape)


def cdiv(a, b):
    return -(-a // b)


class constexpr:  # annotation only
    pass


_PIDS = []


class _Kernel:
    def __init__(self, fn):
        self.fn = fn

    def __getitem__(self, grid):
        def launch(*args, num_warps=None, num_stages=None, **kw):
            conv = [Ptr(a.reshape(-1)) if torch.is_tensor(a) else a for a in args]
            g = tuple(int(x) for x in grid) + (1,) * (3 - len(grid))
            for pid in itertools.product(*(range(x) for x in g)):
                _PIDS.append(pid)
                try:
                    self.fn(*conv, **kw)
                finally:
                    _PIDS.pop()
        return launch


def jit(fn=None, **opts):
    if fn is None:
        return lambda f: _Kernel(f)
    return _Kernel(fn)


def install():
    """Registers the emulator as the modules triton and triton.language."""
    try:
        import triton  # noqa: F401
        return False
    except ImportError:
        pass
    tr = types.ModuleType("triton")
    lang = types.ModuleType("triton.language")
    for name in ("program_id", "arange", "load", "store", "dot", "trans", "where", "maximum", "minimum", "max", "sum",
                 "exp2", "log2", "full", "zeros", "reshape", "constexpr"):
        setattr(lang, name, globals()[name])
    lang.float32, lang.int64, lang.int32 = torch.float32, torch.int64, torch.int32
    tr.jit, tr.cdiv, tr.language = jit, cdiv, lang
    tr.__version__ = "emulated"
    sys.modules["triton"] = tr
    sys.modules["triton.language"] = lang
    return True
