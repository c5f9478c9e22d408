"""The worker's HTTP protocol (HTTP/1.0 on loopback; one compute request at
a time, health and cancel answered meanwhile).

GET  /health        {"ready", "pid", "device", "dtype", "torch", "triton",
                     "model": {"path", "config_sha256", ...} or null, "busy"}
POST /generate      JSON {"ids", "max_tokens", "eos", "chunk", "attention"}
                    -> NDJSON, one line per token: {"t": id, "lp": logprob,
                    "gap": top-2 logit gap, "ms": step time, "stats": the
                    step's attention statistics, "kv": peak cache bytes,
                    "mem": peak device bytes}; the first line also has
                    "prefill_ms" (its "ms" is the prefill) ; a last line
                    {"end": "eos"|"length"}. The client may close the
                    connection at any line (a stop string): the worker stops
                    before its next decode step.
POST /loglikelihood JSON {"ids", "from", "chunk", "attention"} -> {"logprobs",
                    "greedy", "prefill_ms", "stats", "kv", "mem"}: the
                    log-probabilities of ids[from:] given what precedes.
POST /attention     safetensors (tensors k, v [n, Hkv, d], q [M, H, d],
                    optional knope, qnope; metadata "request": JSON
                    {"attention", "decode_repeats", "record_selection",
                    "baseline"}) -> safetensors (out [M, H, d], decode_out
                    [H, d] float32, selected int32 [rows, width] padded with
                    -1 when asked; metadata "response": JSON with timings,
                    statistics, cache bytes, baseline timings).
POST /cancel        stops the running request at its next check.
POST /shutdown      exits after answering.

Errors: 4xx with {"error": message} for typed errors (bad input,
unsupported feature, cancelled); 500 with the message (traceback on stderr)
for anything else. A request body is bounded (max_body bytes) before it is
read.
"""

import http.server
import json
import os
import select
import socket
import sys
import threading
import time
import traceback

import torch
import torch.nn.functional as F

from . import attention, safetensors
from .errors import Cancelled, WorkerError

MAX_JSON_BODY = 64 << 20


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _now(device):
    _sync(device)
    return time.perf_counter()


class State:
    def __init__(self, device, dtype, model=None, max_body=16 << 30):
        self.device = torch.device(device)
        self.dtype = dtype
        self.model = model
        self.lock = threading.Lock()
        self.cancel = threading.Event()
        self.busy = False
        self.max_body = max_body
        self.stop = None
        self.warmed = set()

    def warm(self, cfg):
        """On CUDA with the fast kernels, runs a short untimed forward pass
        (a prefill of a few blocks and a decode step) the first time an
        attention configuration is used, so that Triton's compilation and
        module loading stay out of the timings."""
        if self.device.type != "cuda" or cfg.impl != "fast" or self.model is None or cfg in self.warmed:
            return
        c = self.model.cfg
        n = 4 * max(cfg.block_size, 64) + 3
        ids = [i % c.vocab for i in range(1, n + 1)]
        for mode in {cfg.mode, "dense"} if cfg.mode == "switching" else {cfg.mode}:
            wc = attention.ModeConfig(**dict(cfg.__dict__, mode=mode))
            seq = self.model.new_seq(n + 1, wc.needs_nope())
            seq.forward(ids[: n // 2], wc)
            seq.forward(ids[n // 2:], wc, want=[n - n // 2 - 1])
            seq.forward([1], wc, want=[0])
        _sync(self.device)
        self.warmed.add(cfg)

    def check(self):
        if self.cancel.is_set():
            raise Cancelled("request cancelled")

    def reset_peak(self):
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def peak(self):
        if self.device.type == "cuda":
            return int(torch.cuda.max_memory_allocated(self.device))
        return 0

    def health(self):
        try:
            import triton  # noqa: F401
            tv = triton.__version__
        except Exception:
            tv = None
        m = None
        if self.model is not None:
            m = dict(self.model.cfg.summary(), path=self.model.path, config_sha256=self.model.config_sha256)
        return {"ready": True, "pid": os.getpid(), "device": str(self.device), "dtype": str(self.dtype).replace("torch.", ""),
                "torch": torch.__version__, "triton": tv, "model": m, "busy": self.busy}


def _int_list(x, name):
    if not isinstance(x, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in x):
        raise WorkerError("%s: want a list of integers" % name)
    return x


def _get_int(req, name, default=None, lo=None):
    v = req.get(name, default)
    if not isinstance(v, int) or isinstance(v, bool):
        raise WorkerError("%s: want an integer, got %r" % (name, v))
    if lo is not None and v < lo:
        raise WorkerError("%s: %d must be >= %d" % (name, v, lo))
    return v


def _check_ids(ids, vocab):
    for i, t in enumerate(ids):
        if t < 0 or t >= vocab:
            raise WorkerError("token %d: id %d outside the vocabulary of %d" % (i, t, vocab))


def _chunks(n, chunk):
    if chunk <= 0:
        chunk = n
    return [(a, min(n, a + chunk)) for a in range(0, n, chunk)]


def _token_info(logits, tok):
    lp = torch.log_softmax(logits.double(), -1)[tok].item()
    top = torch.topk(logits, min(2, logits.shape[-1])).values
    gap = (top[0] - top[1]).item() if top.numel() > 1 else float("inf")
    return lp, gap


def _client_gone(sock):
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if r:
            return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True
    return False


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    server_version = "evalctl-torch/1"
    state = None  # set by serve()

    def log_message(self, fmt, *args):
        sys.stderr.write("evalctl-torch: %s\n" % (fmt % args))

    def _send(self, code, body, ctype="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self, limit):
        n = self.headers.get("Content-Length")
        if n is None:
            raise WorkerError("a Content-Length is required")
        try:
            n = int(n)
        except ValueError:
            raise WorkerError("bad Content-Length %r" % n)
        if n < 0 or n > limit:
            raise WorkerError("request body of %d bytes exceeds the limit of %d" % (n, limit))
        data = self.rfile.read(n)
        if len(data) != n:
            raise WorkerError("request body cut short: %d of %d bytes" % (len(data), n))
        return data

    def _json(self):
        try:
            req = json.loads(self._body(MAX_JSON_BODY))
        except ValueError as e:
            raise WorkerError("request is not JSON: %s" % e)
        if not isinstance(req, dict):
            raise WorkerError("request is not a JSON object")
        return req

    def do_GET(self):
        if self.path == "/health":
            self._send(200, self.state.health())
        else:
            self._send(404, {"error": "no such endpoint %s" % self.path})

    def do_POST(self):
        st = self.state
        if self.path == "/cancel":
            if st.busy:
                st.cancel.set()
            self._send(200, {"cancelled": st.busy})
            return
        if self.path == "/shutdown":
            self._send(200, {"bye": True})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return
        handlers = {"/generate": self._generate, "/loglikelihood": self._loglikelihood, "/attention": self._attention}
        h = handlers.get(self.path)
        if h is None:
            self._send(404, {"error": "no such endpoint %s" % self.path})
            return
        started = False
        try:
            with st.lock:
                st.busy = True
                st.cancel.clear()
                started = True
                try:
                    h()
                finally:
                    st.busy = False
        except WorkerError as e:
            self._error(e.status, str(e), started)
        except torch.cuda.OutOfMemoryError if hasattr(torch.cuda, "OutOfMemoryError") else MemoryError as e:
            self._error(507, "out of device memory: %s" % str(e).split("\n")[0], started)
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:
            traceback.print_exc()
            self._error(500, "%s: %s" % (type(e).__name__, e), started)

    def _error(self, code, msg, started):
        sys.stderr.write("evalctl-torch: %s %s: %s\n" % (self.path, code, msg))
        try:
            if getattr(self, "_streaming", False):
                self.wfile.write((json.dumps({"error": msg, "status": code}) + "\n").encode())
            else:
                self._send(code, {"error": msg})
        except OSError:
            pass

    def _need_model(self):
        if self.state.model is None:
            raise WorkerError("this worker was started without a model (--path)")
        return self.state.model

    def _generate(self):
        st = self.state
        req = self._json()
        model = self._need_model()
        ids = _int_list(req.get("ids"), "ids")
        if not ids:
            raise WorkerError("ids: empty prompt")
        max_tokens = _get_int(req, "max_tokens", lo=1)
        eos = set(_int_list(req.get("eos", []), "eos"))
        chunk = _get_int(req, "chunk", 0, lo=0)
        cfg = attention.ModeConfig.from_json(req.get("attention", {}))
        _check_ids(ids, model.cfg.vocab)
        st.warm(cfg)
        dev = st.device
        st.reset_peak()
        seq = model.new_seq(len(ids) + max_tokens, cfg.needs_nope())
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        self._streaming = True

        stats = attention.Stats()
        t0 = _now(dev)
        logits = None
        for a, b in _chunks(len(ids), chunk):
            logits = seq.forward(ids[a:b], cfg, stats, want=[b - a - 1] if b == len(ids) else None, check=st.check)
        tok = int(torch.argmax(logits[0]).item())
        ms = (_now(dev) - t0) * 1e3
        lp, gap = _token_info(logits[0], tok)
        line = {"t": tok, "lp": lp, "gap": gap, "ms": ms, "prefill_ms": ms, "stats": stats.to_json(), "kv": seq.peak, "mem": st.peak()}
        count = 1
        while True:
            self.wfile.write((json.dumps(line) + "\n").encode())
            self.wfile.flush()
            if tok in eos:
                self.wfile.write(b'{"end": "eos"}\n')
                return
            if count >= max_tokens:
                self.wfile.write(b'{"end": "length"}\n')
                return
            if _client_gone(self.connection):
                return
            stats = attention.Stats()
            t0 = _now(dev)
            logits = seq.forward([tok], cfg, stats, want=[0], check=st.check)
            tok = int(torch.argmax(logits[0]).item())
            ms = (_now(dev) - t0) * 1e3
            lp, gap = _token_info(logits[0], tok)
            count += 1
            line = {"t": tok, "lp": lp, "gap": gap, "ms": ms, "stats": stats.to_json(), "kv": seq.peak, "mem": st.peak()}

    def _loglikelihood(self):
        st = self.state
        req = self._json()
        model = self._need_model()
        ids = _int_list(req.get("ids"), "ids")
        frm = _get_int(req, "from", lo=1)
        if frm >= len(ids):
            raise WorkerError("from = %d: must be below the %d ids" % (frm, len(ids)))
        chunk = _get_int(req, "chunk", 0, lo=0)
        cfg = attention.ModeConfig.from_json(req.get("attention", {}))
        _check_ids(ids, model.cfg.vocab)
        st.warm(cfg)
        dev = st.device
        st.reset_peak()
        seq = model.new_seq(len(ids), cfg.needs_nope())
        stats = attention.Stats()
        feed = ids[:-1]
        lps, greedy = [], []
        t0 = _now(dev)
        for a, b in _chunks(len(feed), chunk):
            want = [p - a for p in range(max(a, frm - 1), b)]
            logits = seq.forward(feed[a:b], cfg, stats, want=want or None, check=st.check)
            if want:
                targets = torch.tensor([ids[a + i + 1] for i in want], device=logits.device)
                lsm = torch.log_softmax(logits.double(), -1)
                lps.extend(lsm.gather(1, targets[:, None])[:, 0].tolist())
                greedy.extend((torch.argmax(logits, -1) == targets).tolist())
        ms = (_now(dev) - t0) * 1e3
        self._send(200, {"logprobs": lps, "greedy": greedy, "prefill_ms": ms, "stats": stats.to_json(),
                         "kv": seq.peak, "mem": st.peak()})

    def _attention(self):
        st = self.state
        tensors, meta = safetensors.loads(self._body(st.max_body))
        try:
            req = json.loads(meta.get("request", "{}"))
        except ValueError as e:
            raise WorkerError("metadata request is not JSON: %s" % e)
        for name in ("k", "v", "q"):
            if name not in tensors:
                raise WorkerError("tensor %s is missing" % name)
        k, v, q = tensors["k"], tensors["v"], tensors["q"]
        if k.dim() != 3 or v.shape != k.shape or q.dim() != 3 or q.shape[2] != k.shape[2] or q.shape[1] % k.shape[1]:
            raise WorkerError("shapes k %s, v %s, q %s: want [n, Hkv, d], [n, Hkv, d], [M, H, d] with H a multiple of Hkv" % (list(k.shape), list(v.shape), list(q.shape)))
        n, kvh, d = k.shape
        M, H, _ = q.shape
        if M < 1 or M > n:
            raise WorkerError("M = %d query tokens with a context of %d" % (M, n))
        knope, qnope = tensors.get("knope"), tensors.get("qnope")
        cfg = attention.ModeConfig.from_json(req.get("attention", {}))
        reps = max(1, _get_int(req, "decode_repeats", 1))
        dev, dt = st.device, st.dtype
        st.reset_peak()

        def load(x):
            return None if x is None else x.to(device=dev, dtype=dt)

        k, v, q, knope, qnope = load(k), load(v), load(q), load(knope), load(qnope)
        if cfg.needs_nope():
            knope = k if knope is None else knope
            qnope = q if qnope is None else qnope
        keep_nope = knope is not None and cfg.needs_nope()

        def fresh():
            c = attention.LayerCache(kvh, d, n, dt, dev, nope=keep_nope)
            c.append(k, v, knope if keep_nope else None)
            return c

        def run(c, mode_cfg, stats):
            _sync(dev)
            t = time.perf_counter()
            o = attention.forward(c, q, qnope, mode_cfg, stats, st.check)
            _sync(dev)
            pt = time.perf_counter() - t
            best = None
            dstats = None
            for _ in range(reps):
                st.check()
                ds = attention.Stats(record=False)
                _sync(dev)
                t = time.perf_counter()
                do = attention.forward(c, q[M - 1:], None if qnope is None else qnope[M - 1:], mode_cfg, ds)
                _sync(dev)
                dt_ = time.perf_counter() - t
                if best is None or dt_ < best:
                    best = dt_
                dstats = ds
            return o, pt, do, best, dstats

        warm = dev.type == "cuda"
        if warm:  # compile kernels and load modules outside the timed calls
            run(fresh(), cfg, None)
        pstats = attention.Stats(record=bool(req.get("record_selection")))
        cache = fresh()
        out, pt, dout, dbest, dstats = run(cache, cfg, pstats)
        resp = {"prefill_ms": pt * 1e3, "decode_ms": dbest * 1e3, "prefill": pstats.to_json(), "decode": dstats.to_json(),
                "cache_bytes": cache.nbytes(), "block_size": cfg.block_size, "device": str(dev),
                "dtype": str(dt).replace("torch.", "")}
        if req.get("baseline"):
            bcfg = attention.ModeConfig(mode="dense", block_size=cfg.block_size, impl=cfg.impl)
            if warm:
                run(fresh(), bcfg, None)
            _, bpt, _, bdt, _ = run(fresh(), bcfg, None)
            resp["baseline_prefill_ms"], resp["baseline_decode_ms"] = bpt * 1e3, bdt * 1e3
        resp["peak_device_bytes"] = st.peak()
        outs = {"out": out.float(), "decode_out": dout[0].float()}
        if pstats.record:
            parts = list(pstats.selected_rows)
            if pstats.selected:
                rows = pstats.selected
                width = max((len(r) for r in rows), default=0)
                sel = torch.full((len(rows), max(width, 1)), -1, dtype=torch.int32)
                for i, r in enumerate(rows):
                    if r:
                        sel[i, :len(r)] = torch.tensor(r, dtype=torch.int32)
                parts.insert(0, sel)
            width = max([p.shape[1] for p in parts] + [1])
            outs["selected"] = torch.cat([F.pad(p, (0, width - p.shape[1]), value=-1) for p in parts]) if parts else torch.full((0, 1), -1, dtype=torch.int32)
        body = safetensors.dumps(outs, {"response": json.dumps(resp)})
        self._send(200, body, "application/octet-stream")


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(state, host="127.0.0.1", port=0, ready=None):
    """Binds, reports {"ready": true, "port": N} on stdout (or calls ready),
    and serves until /shutdown."""
    handler = type("BoundHandler", (Handler,), {"state": state})
    srv = Server((host, port), handler)
    port = srv.server_address[1]
    msg = dict(state.health(), port=port)
    if ready is not None:
        ready(port)
    else:
        sys.stdout.write(json.dumps(msg) + "\n")
        sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
