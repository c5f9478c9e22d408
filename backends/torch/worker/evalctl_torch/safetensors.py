"""The safetensors container, read without the safetensors package.

Layout: 8 bytes little-endian header length N, N bytes of JSON header
({name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}}), then the data section; offsets are relative to it. Tensors are
read with torch.frombuffer over a copy-on-write memory map, so nothing is
parsed twice and the file is never modified.

Also writes safetensors (the raw-attention protocol sends tensors both
ways in this format).
"""

import json
import mmap
import os
import struct
import sys

import torch

from .errors import WorkerError

MAX_HEADER = 100 << 20  # as the Go reader and the reference implementation

DTYPES = {
    "F64": (torch.float64, 8),
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I64": (torch.int64, 8),
    "I32": (torch.int32, 4),
    "I16": (torch.int16, 2),
    "I8": (torch.int8, 1),
    "U8": (torch.uint8, 1),
    "BOOL": (torch.bool, 1),
}
NAMES = {v[0]: k for k, v in DTYPES.items()}


class FormatError(WorkerError):
    def __init__(self, name, msg):
        super().__init__("%s: %s" % (name, msg))


def _check_little_endian():
    if sys.byteorder != "little":
        raise WorkerError("safetensors: this worker reads little-endian data only (host is %s-endian)" % sys.byteorder)


def parse_header(buf, name):
    """Parses and checks the header of a safetensors file held in buf (bytes
    or an mmap). Returns (tensors: {name: (dtype, shape, begin, end)},
    metadata, data_start)."""
    _check_little_endian()
    size = len(buf)
    if size < 8:
        raise FormatError(name, "file of %d bytes is shorter than the 8-byte header length" % size)
    (n,) = struct.unpack("<Q", buf[:8])
    if n > MAX_HEADER:
        raise FormatError(name, "header length %d exceeds the limit of %d bytes" % (n, MAX_HEADER))
    if 8 + n > size:
        raise FormatError(name, "header length %d runs past the end of the %d-byte file" % (n, size))
    try:
        raw = json.loads(bytes(buf[8:8 + n]).decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise FormatError(name, "header is not valid JSON: %s" % e)
    if not isinstance(raw, dict):
        raise FormatError(name, "header is not a JSON object")
    data_start = 8 + n
    data_size = size - data_start
    meta = raw.pop("__metadata__", None) or {}
    if not isinstance(meta, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()):
        raise FormatError(name, "__metadata__ must map strings to strings")
    tensors = {}
    spans = []
    for tname, e in raw.items():
        if not isinstance(e, dict):
            raise FormatError(name, "tensor %r: entry is not an object" % tname)
        dt = e.get("dtype")
        if dt not in DTYPES:
            raise FormatError(name, "tensor %r: dtype %r is not supported (supported: %s)" % (tname, dt, ", ".join(sorted(DTYPES))))
        shape = e.get("shape")
        if not isinstance(shape, list) or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in shape):
            raise FormatError(name, "tensor %r: shape %r must be a list of non-negative integers" % (tname, shape))
        offs = e.get("data_offsets")
        if (not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(x, int) and not isinstance(x, bool) for x in offs)
                or not 0 <= offs[0] <= offs[1] <= data_size):
            raise FormatError(name, "tensor %r: data_offsets %r outside the data section of %d bytes" % (tname, offs, data_size))
        count = 1
        for x in shape:
            count *= x
        esize = DTYPES[dt][1]
        if offs[1] - offs[0] != count * esize:
            raise FormatError(name, "tensor %r: %d bytes for shape %r of %s, want %d" % (tname, offs[1] - offs[0], shape, dt, count * esize))
        tensors[tname] = (dt, list(shape), offs[0], offs[1])
        spans.append((offs[0], offs[1], tname))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise FormatError(name, "tensors %r and %r overlap" % (n0, n1))
    return tensors, meta, data_start


class File:
    """An open safetensors file (memory-mapped copy-on-write)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size == 0:
                raise FormatError(path, "empty file")
            self._mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)
        try:
            self.tensors, self.metadata, self._start = parse_header(self._mm, path)
        except Exception:
            self._mm.close()
            raise

    def names(self):
        return sorted(self.tensors)

    def shape(self, name):
        return list(self.tensors[name][1])

    def get(self, name, dtype=None, device="cpu"):
        """The tensor as a new torch tensor (a copy: the map may be closed),
        converted to dtype when given, on device."""
        dt, shape, b, e = self.tensors[name]
        tdt = DTYPES[dt][0]
        count = (e - b) // DTYPES[dt][1]
        if count == 0:
            t = torch.zeros(shape, dtype=tdt)
        else:
            t = torch.frombuffer(self._mm, dtype=tdt, count=count, offset=self._start + b).reshape(shape)
        return t.to(device=device, dtype=dtype or tdt, copy=True)

    def close(self):
        self._mm.close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def loads(buf, name="request"):
    """Parses a safetensors blob held in memory: (tensors {name: tensor}, metadata)."""
    tensors, meta, start = parse_header(buf, name)
    out = {}
    mv = memoryview(buf)
    for tname, (dt, shape, b, e) in tensors.items():
        tdt, esize = DTYPES[dt]
        count = (e - b) // esize
        if count == 0:
            out[tname] = torch.zeros(shape, dtype=tdt)
        else:
            out[tname] = torch.frombuffer(bytearray(mv[start + b:start + e]), dtype=tdt, count=count).reshape(shape)
    return out, meta


def dumps(tensors, metadata=None):
    """A safetensors blob of {name: tensor} (moved to the CPU, contiguous)
    with string metadata; tensors in sorted name order."""
    _check_little_endian()
    header = {}
    blobs = []
    off = 0
    for name in sorted(tensors):
        t = tensors[name].detach().to("cpu").contiguous()
        if t.dtype not in NAMES:
            raise WorkerError("safetensors: dtype %s cannot be written" % t.dtype)
        if t.dtype == torch.bfloat16:
            data = t.view(torch.int16).numpy().tobytes() if t.numel() else b""
        else:
            data = t.numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)
