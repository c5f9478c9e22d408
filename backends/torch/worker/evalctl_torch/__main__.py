"""Command line of the worker:

    python3 -m evalctl_torch serve [--host H] [--port P] [--device D]
        [--dtype auto|float32|bfloat16|float16] [--path MODEL_DIR] [--threads N]
    python3 -m evalctl_torch check-config CONFIG_JSON...  (one JSON line per file: the parsed config or the error)
    python3 -m evalctl_torch check-load MODEL_DIR       (loads the weights on the CPU)

serve loads the model (when --path is given), binds, prints one JSON line
{"ready": true, "port": N, ...} on stdout and serves until POST /shutdown.
A failure to start is a message on stderr and exit status 2.
"""

import argparse
import json
import os
import sys

try:
    import torch
except ImportError as e:  # a start-up error, not a crash: exit status 2
    sys.stderr.write("evalctl-torch: PyTorch is not importable by %s: %s\n" % (sys.executable, e))
    sys.exit(2)

from .errors import WorkerError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_device(name):
    """The torch device of --device: cpu, cuda, cuda:N. A CUDA device that
    does not exist is an error."""
    dev = torch.device(name)
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise WorkerError("device %s: CUDA is not available to this PyTorch (%s)" % (name, torch.__version__))
        idx = 0 if dev.index is None else dev.index
        if idx >= torch.cuda.device_count():
            raise WorkerError("device %s: only %d CUDA devices" % (name, torch.cuda.device_count()))
        dev = torch.device("cuda", idx)
        torch.cuda.set_device(dev)
    elif dev.type != "cpu":
        raise WorkerError("device %s: accepted: cpu, cuda, cuda:N" % name)
    return dev


def resolve_dtype(name, dev):
    if name == "auto":
        return torch.bfloat16 if dev.type == "cuda" else torch.float32
    if name not in DTYPES:
        raise WorkerError("dtype %r: accepted: auto, %s" % (name, ", ".join(DTYPES)))
    return DTYPES[name]


def main(argv=None):
    ap = argparse.ArgumentParser(prog="evalctl_torch")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--device", default="cpu")
    s.add_argument("--dtype", default="auto")
    s.add_argument("--path", default="")
    s.add_argument("--threads", type=int, default=0)
    s.add_argument("--max-body", type=int, default=16 << 30)
    c = sub.add_parser("check-config")
    c.add_argument("files", nargs="+")
    l = sub.add_parser("check-load")
    l.add_argument("dir")
    a = ap.parse_args(argv)
    try:
        if a.cmd == "check-config":
            # one JSON line per file: {"file", "config"} or {"file", "error"}
            from .config import parse_config
            bad = 0
            for name in a.files:
                try:
                    with open(name, "rb") as f:
                        print(json.dumps({"file": name, "config": parse_config(f.read(), name).summary()}))
                except WorkerError as e:
                    bad += 1
                    print(json.dumps({"file": name, "error": str(e)}))
            return 2 if bad else 0
        if a.cmd == "check-load":
            from .model import Model
            m = Model(a.dir)
            print(json.dumps(m.cfg.summary()))
            return 0
        torch.set_num_threads(a.threads if a.threads > 0 else (os.cpu_count() or 1))
        dev = resolve_device(a.device)
        dt = resolve_dtype(a.dtype, dev)
        model = None
        if a.path:
            from .model import Model
            model = Model(a.path, dev, dt)
        from .server import State, serve
        serve(State(dev, dt, model, a.max_body), a.host, a.port)
        return 0
    except (WorkerError, OSError) as e:
        sys.stderr.write("evalctl-torch: %s\n" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
