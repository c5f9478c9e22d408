"""Tests of the torch worker on the CPU (Debian's python3-torch 1.13 is
enough): config errors, safetensors, the model against the reference
logits of testdata/refmodels, the attention modes against each other and
against the Go reference's fixture, and the HTTP protocol end to end.

Run from the repository root:  python3 backends/torch/worker/tests/test_worker.py
(a Go test, backends/torch TestPythonWorker, runs it). The fast CUDA paths
are tested by tests/gpu_check.py on a GPU machine."""

import base64
import json
import math
import os
import sys
import tempfile
import threading
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
REF = os.path.join(ROOT, "testdata", "refmodels", "models")
FIXTURE = os.path.join(ROOT, "tools", "trainmodel", "testdata", "infllm_fixture.json")

import torch  # noqa: E402

from evalctl_torch import attention, gofmt, safetensors, server  # noqa: E402
from evalctl_torch.config import parse_config  # noqa: E402
from evalctl_torch.errors import ConfigError, DeviceError, WeightsError, WorkerError  # noqa: E402
from evalctl_torch.model import Model  # noqa: E402

torch.set_num_threads(max(1, os.cpu_count() or 1))


def refs():
    out = {}
    for f in ("reference.json", "reference_extra.json"):
        with open(os.path.join(REF, f)) as fh:
            out.update(json.load(fh)["models"])
    return out


def run_ids(model, ids, cfg, chunk, positions):
    seq = model.new_seq(len(ids), cfg.needs_nope())
    want = set(positions)
    got = {}
    for a in range(0, len(ids), chunk):
        b = min(len(ids), a + chunk)
        w = [p - a for p in range(a, b) if p in want]
        lg = seq.forward(ids[a:b], cfg, None, want=w or None)
        for i, p in enumerate(w):
            got[a + p] = lg[i]
    return [got[p] for p in positions]


class TestGoFmt(unittest.TestCase):
    def test_floats(self):
        for f, s in [(1000000.0, "1e+06"), (2.0, "2"), (0.5, "0.5"), (1e-6, "1e-06"), (1e21, "1e+21"),
                     (123456789012.5, "1.234567890125e+11"), (0.0001, "0.0001"), (0.00001, "1e-05"), (-3.0, "-3"),
                     (1.5e300, "1.5e+300"), (123456.0, "123456")]:
            self.assertEqual(gofmt.v(f), s, f)


class TestConfig(unittest.TestCase):
    # The same cases as the native runtime's config tests: the message must
    # be the one backends/model prints (the Go test TestConfigErrorsMatch
    # compares both implementations on these files too).
    CASES = [
        ({"architectures": ["GPT2LMHeadModel"]}, 'c.json: architectures: "GPT2LMHeadModel" is not supported (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, MiniCPMForCausalLM)'),
        ({"model_type": "llama", "vocab_size": 10}, "c.json: hidden_size: missing"),
        ({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 2, "hidden_act": "gelu"}, 'c.json: hidden_act: "gelu" is not supported (only silu)'),
        ({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 2, "rope_scaling": {"rope_type": "longrope", "factor": 2}},
         'c.json: rope_scaling.rope_type: "longrope" is not supported (supported: default, linear, dynamic, yarn, llama3)'),
        ({"model_type": "qwen2", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 2, "use_sliding_window": True}, "c.json: use_sliding_window: sliding-window attention is not supported"),
        ({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 3, "head_dim": 4}, "c.json: num_key_value_heads: 3 does not divide num_attention_heads 3" if False else None),
        ({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 2, "num_key_value_heads": 3}, "c.json: num_key_value_heads: 3 does not divide num_attention_heads 2"),
        ({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 2, "rope_scaling": {"rope_type": "llama3", "factor": 8}},
         "c.json: rope_scaling.original_max_position_embeddings: required by rope_type llama3"),
        ({"model_type": "llama", "vocab_size": 10.5}, "c.json: vocab_size: want an integer, got 10.5"),
        ({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1,
          "num_attention_heads": 2, "eos_token_id": 12}, "c.json: eos_token_id: 12 outside the vocabulary of 10"),
    ]

    def test_errors(self):
        for raw, want in self.CASES:
            if want is None:
                continue
            with self.assertRaises(ConfigError) as cm:
                parse_config(json.dumps(raw), "c.json")
            self.assertEqual(str(cm.exception), want)

    def test_default_model(self):
        with open(os.path.join(ROOT, "datasets", "models", "default", "config.json"), "rb") as f:
            c = parse_config(f.read(), "config.json")
        self.assertEqual((c.arch, c.layers, c.heads, c.kv_heads, c.head_dim), ("llama", 6, 4, 2, 64))


class TestSafetensors(unittest.TestCase):
    def test_round_trip(self):
        ts = {"a": torch.randn(3, 4), "b": torch.randn(2).to(torch.bfloat16), "c": torch.arange(5, dtype=torch.int32),
              "e": torch.zeros(0, 3)}
        blob = safetensors.dumps(ts, {"k": "v"})
        back, meta = safetensors.loads(blob)
        self.assertEqual(meta, {"k": "v"})
        for k, v in ts.items():
            self.assertTrue(torch.equal(back[k], v), k)
        with tempfile.NamedTemporaryFile(suffix=".safetensors") as f:
            f.write(blob)
            f.flush()
            with safetensors.File(f.name) as sf:
                self.assertTrue(torch.equal(sf.get("a"), ts["a"]))
                self.assertEqual(sf.get("b", torch.float32).dtype, torch.float32)

    def test_bad(self):
        good = safetensors.dumps({"a": torch.ones(4)})
        for blob, frag in [(b"\x01", "shorter"), (good[:8] + b"{", "runs past"), (b"\x02\0\0\0\0\0\0\0[]", "not a JSON object"),
                           (good[:-4], "outside the data section")]:
            with self.assertRaises(WorkerError) as cm:
                safetensors.loads(blob, "x")
            self.assertIn(frag, str(cm.exception))


class TestReferenceModels(unittest.TestCase):
    """The model against transformers' logits (tools/refmodels), fp32 on the
    CPU: whole prompt, chunks of 5 and token by token."""

    def test_logits(self):
        cfg = attention.ModeConfig()
        for name, ref in sorted(refs().items()):
            m = Model(os.path.join(REF, name))
            worst = 0.0
            for inp in ref["inputs"]:
                ids, positions = inp["ids"], inp["positions"]
                for chunk in (len(ids), 5, 1):
                    if chunk < len(ids) and m.cfg.rope.type == "dynamic" and len(ids) > m.cfg.max_pos:
                        continue
                    got = run_ids(m, ids, cfg, chunk, positions)
                    for g, want in zip(got, inp["logits"]):
                        d = (g.double() - torch.tensor(want, dtype=torch.float64)).abs().max().item()
                        worst = max(worst, d)
                        self.assertLess(d, 1e-4, "%s chunk %d" % (name, chunk))
            print("refmodel %-24s max |logit diff| %.2g" % (name, worst))

    def test_weight_errors(self):
        src = os.path.join(REF, "llama")
        with tempfile.TemporaryDirectory() as d:
            for f in ("config.json", "generation_config.json"):
                with open(os.path.join(src, f), "rb") as a, open(os.path.join(d, f), "wb") as b:
                    b.write(a.read())
            with safetensors.File(os.path.join(src, "model.safetensors")) as sf:
                ts = {n: sf.get(n) for n in sf.names()}
            ts["model.extra.weight"] = torch.ones(2)
            with open(os.path.join(d, "model.safetensors"), "wb") as f:
                f.write(safetensors.dumps(ts))
            with self.assertRaises(WeightsError) as cm:
                Model(d)
            self.assertEqual(str(cm.exception), "tensors not used by the configured architecture: model.extra.weight")
            del ts["model.extra.weight"]
            ts["model.norm.weight"] = torch.ones(3)
            with open(os.path.join(d, "model.safetensors"), "wb") as f:
                f.write(safetensors.dumps(ts))
            with self.assertRaises(WeightsError) as cm:
                Model(d)
            self.assertIn('tensor "model.norm.weight" has shape [3], the config implies', str(cm.exception))


def fixture_cases():
    with open(FIXTURE) as f:
        return json.load(f)["cases"]


def decode_int8(s, shape, scale):
    return (torch.frombuffer(bytearray(base64.b64decode(s)), dtype=torch.int8).to(torch.float64) * scale).float().reshape(shape)


def cache_of(k, v, knope=None):
    n, kv, d = k.shape
    c = attention.LayerCache(kv, d, n, k.dtype, k.device, nope=knope is not None)
    c.append(k, v, knope)
    return c


class TestAttention(unittest.TestCase):
    def test_fixture_selection(self):
        """The reference sparse mode selects exactly the blocks of the Go
        reference (the fixture tools/trainmodel/infllmfixture wrote), and its
        outputs agree within 1e-5."""
        for c in fixture_cases():
            N, H, KV, D = c["n"], c["heads"], c["kv_heads"], c["head_dim"]
            sc = c["input_scale"]
            q = decode_int8(c["q_int8"], (N, H, D), sc)
            k = decode_int8(c["k_int8"], (N, KV, D), sc)
            v = decode_int8(c["v_int8"], (N, KV, D), sc)
            cfg = attention.ModeConfig(mode="sparse", **c["config"])
            st = attention.Stats(record=True)
            out = attention.forward(cache_of(k, v), q, None, cfg, st)
            self.assertEqual(st.selected, c["selected"], c["name"])
            s = st.to_json()
            self.assertEqual((s["tokens"], s["visible_tokens"], s["blocks"]), (c["tokens"], c["visible_tokens"], c["blocks"]), c["name"])
            want = torch.frombuffer(bytearray(base64.b64decode(c["out_f32le"])), dtype=torch.float32).reshape(N, H, D)
            self.assertLess((out - want).abs().max().item(), 1e-5, c["name"])

    def test_modes_consistent(self):
        """Chunked calls equal one call; sparse with every block selected
        equals dense; approx lse and use_nope run; stats match closed forms."""
        g = torch.Generator().manual_seed(3)
        n, H, KV, d = 700, 4, 2, 16
        q = torch.randn(n, H, d, generator=g)
        k = torch.randn(n, KV, d, generator=g)
        v = torch.randn(n, KV, d, generator=g)
        cfgs = [attention.ModeConfig(mode="dense"),
                attention.ModeConfig(mode="sparse", topk=4, local_blocks=1),
                attention.ModeConfig(mode="sparse", topk=5, local_blocks=2, lse="approx"),
                attention.ModeConfig(mode="sparse", topk=5, local_blocks=2, use_nope=True),
                attention.ModeConfig(mode="switching", topk=4, local_blocks=1, dense_len=400),
                attention.ModeConfig(mode="streaming", local_blocks=2),
                attention.ModeConfig(mode="oracle", topk=4)]
        for cfg in cfgs:
            kn = k * 0.5 if cfg.use_nope else None
            qn = q * 0.5 if cfg.use_nope else None
            whole = attention.forward(cache_of(k, v, kn), q, qn, cfg, None)
            c = attention.LayerCache(KV, d, 1, torch.float32, "cpu", nope=kn is not None)
            parts = []
            for a, b in [(0, 300), (300, 301), (301, 650), (650, 700)]:
                c.append(k[a:b], v[a:b], None if kn is None else kn[a:b])
                parts.append(attention.forward(c, q[a:b], None if qn is None else qn[a:b], cfg, None))
            chunked = torch.cat(parts)
            if cfg.mode == "switching":
                # calls below dense_len are dense: compare the last call only
                self.assertLess((chunked[650:] - whole[650:]).abs().max().item(), 1e-5)
            else:
                self.assertLess((chunked - whole).abs().max().item(), 1e-5, cfg)
        dense = attention.forward(cache_of(k, v), q, None, cfgs[0], None)
        full = attention.forward(cache_of(k, v), q, None, attention.ModeConfig(mode="sparse", topk=12, local_blocks=1), None)
        self.assertLess((full - dense).abs().max().item(), 1e-5)
        st = attention.Stats(record=True)
        attention.forward(cache_of(k, v), q, None, cfgs[0], st)
        s = st.to_json()
        self.assertEqual(s["visible_tokens"], KV * n * (n + 1) // 2)
        self.assertEqual(s["flops"], 2.0 * H * d * n * (n + 1))
        self.assertEqual(len(st.selected), n * KV)

    def test_fast_on_cpu_is_an_error(self):
        k = torch.randn(10, 1, 8)
        with self.assertRaises(DeviceError):
            attention.forward(cache_of(k, k), torch.randn(10, 2, 8), None, attention.ModeConfig(impl="fast"), None)

    def test_validate(self):
        with self.assertRaises(WorkerError) as cm:
            attention.ModeConfig.from_json({"mode": "sparse", "topk": 4})
        self.assertIn("topk = 4: must be >= init_blocks + local_blocks + 1 = 34", str(cm.exception))
        with self.assertRaises(WorkerError):
            attention.ModeConfig.from_json({"mode": "sparse", "bogus": 1})


class TestKernelsEmulated(unittest.TestCase):
    """The Triton kernels of the fast path (kernels.py, driven by fast.py),
    executed by tests/tl_emulator.py on the CPU: the same selections,
    statistics and outputs (1e-5) as the reference, for sparse (exact and
    approximate LSE, use_nope), streaming, prefill, chunk and decode, and
    group sizes 1, 2, 3 and 4. Skipped where the real Triton is installed
    (a GPU machine: tests/gpu_bench.py check runs the kernels there)."""

    @classmethod
    def setUpClass(cls):
        sys.path.insert(0, HERE)
        import tl_emulator
        if not tl_emulator.install():
            raise unittest.SkipTest("real Triton present: run tests/gpu_bench.py check on the GPU")
        from evalctl_torch import fast
        cls.fast = fast

    def test_kernels(self):
        g = torch.Generator().manual_seed(11)
        n = 400
        for (H, kv, d) in [(4, 2, 16), (8, 2, 16), (6, 2, 16), (2, 2, 16)]:
            k, v = torch.randn(n, kv, d, generator=g), torch.randn(n, kv, d, generator=g)
            qa = torch.randn(n, H, d, generator=g)
            kn, qn = k * 0.7, qa * 0.7
            for mc in [dict(mode="sparse", block_size=16, topk=8, local_blocks=2, kernel_size=8, kernel_stride=4),
                       dict(mode="sparse", block_size=16, topk=8, local_blocks=2, kernel_size=8, kernel_stride=4, lse="approx",
                            approx_kernel_size=32, approx_kernel_stride=16),
                       dict(mode="sparse", block_size=16, topk=7, local_blocks=1, init_blocks=2, kernel_size=8, kernel_stride=4, use_nope=True),
                       dict(mode="streaming", block_size=16, local_blocks=3)]:
                for m in (n, 70, 1):
                    q = qa[n - m:]
                    qnope = qn[n - m:] if mc.get("use_nope") else None
                    knope = kn if mc.get("use_nope") else None
                    cfg = attention.ModeConfig(**mc)
                    sf = attention.Stats(record=True)
                    if cfg.mode == "sparse":
                        out = self.fast.sparse(cache_of(k, v, knope), q, qnope, cfg, sf, n - m)
                    else:
                        out = self.fast.streaming(cache_of(k, v, knope), q, cfg, sf, n - m)
                    sr = attention.Stats(record=True)
                    ref = attention.forward(cache_of(k, v, knope), q, qnope, cfg, sr)
                    rows = [[x for x in r.tolist() if x >= 0] for r in sf.selected_rows[0]]
                    name = "H%d kv%d m%d %s" % (H, kv, m, mc)
                    self.assertEqual(rows, sr.selected, name)
                    self.assertEqual(sf.to_json(), sr.to_json(), name)
                    self.assertLess((out - ref).abs().max().item(), 1e-5, name)

    def test_select_ties(self):
        """The packed-key top-k keeps Go's rule: equal scores go to the
        lower block, forced blocks first, -inf dropped."""
        cfg = attention.ModeConfig(mode="sparse", block_size=16, topk=4, local_blocks=1, kernel_size=8, kernel_stride=4)
        own = torch.tensor([[[0.5, 0.5, 0.5, 0.2, 0.5, float("-inf"), 0.1, 0.0]]])
        last = torch.full_like(own, float("-inf"))
        lists, cnt = self.fast._select(own, last, torch.tensor([16 * 7 + 3]), cfg)
        # forced: 0 (init), 6, 7 (local, own); scored: the best one of 1..5 -> 1
        self.assertEqual(cnt.tolist(), [[1]])
        self.assertEqual(lists[0, 0, :1].tolist(), [1])


class TestServer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = Model(os.path.join(REF, "llama"))
        cls.state = server.State("cpu", torch.float32, cls.model)
        ready = threading.Event()
        port = []

        def go():
            server.serve(cls.state, port=0, ready=lambda p: (port.append(p), ready.set()))
        cls.thread = threading.Thread(target=go, daemon=True)
        cls.thread.start()
        ready.wait(30)
        cls.url = "http://127.0.0.1:%d" % port[0]

    @classmethod
    def tearDownClass(cls):
        urllib.request.urlopen(urllib.request.Request(cls.url + "/shutdown", data=b"{}")).read()

    def post(self, path, obj):
        data = json.dumps(obj).encode()
        return urllib.request.urlopen(urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"}))

    def test_generate_and_loglikelihood(self):
        ids = refs()["llama"]["inputs"][0]["ids"]
        lines = [json.loads(l) for l in self.post("/generate", {"ids": ids, "max_tokens": 4, "eos": [], "attention": {}}).read().splitlines()]
        self.assertEqual(lines[-1], {"end": "length"})
        toks = [l["t"] for l in lines[:-1]]
        self.assertEqual(len(toks), 4)
        self.assertIn("prefill_ms", lines[0])
        # greedy continuation has logprob equal to the loglikelihood of it
        r = json.loads(self.post("/loglikelihood", {"ids": ids + toks, "from": len(ids), "chunk": 3, "attention": {}}).read())
        self.assertEqual(r["greedy"], [True] * 4)
        for a, b in zip(r["logprobs"], [l["lp"] for l in lines[:-1]]):
            self.assertAlmostEqual(a, b, delta=1e-4)
        self.assertEqual(json.loads(urllib.request.urlopen(self.url + "/health").read())["model"]["arch"], "llama")

    def test_errors(self):
        with self.assertRaises(urllib.error.HTTPError) as cm:
            self.post("/generate", {"ids": [1, 99999], "max_tokens": 1})
        self.assertEqual(cm.exception.code, 400)
        self.assertIn("outside the vocabulary", json.loads(cm.exception.read())["error"])

    def test_attention_endpoint(self):
        g = torch.Generator().manual_seed(5)
        k, v = torch.randn(300, 2, 16, generator=g), torch.randn(300, 2, 16, generator=g)
        q = torch.randn(20, 4, 16, generator=g)
        req = {"attention": {"mode": "sparse", "topk": 3, "local_blocks": 1}, "decode_repeats": 2, "record_selection": True, "baseline": True}
        blob = safetensors.dumps({"k": k, "v": v, "q": q}, {"request": json.dumps(req)})
        r = urllib.request.urlopen(urllib.request.Request(self.url + "/attention", data=blob)).read()
        ts, meta = safetensors.loads(r)
        resp = json.loads(meta["response"])
        self.assertEqual(ts["out"].shape, (20, 4, 16))
        self.assertEqual(ts["selected"].shape[0], 40)
        self.assertEqual(resp["prefill"]["query_tokens"], 20)
        self.assertIn("baseline_prefill_ms", resp)
        c = cache_of(k, v)
        want = attention.forward(c, q, None, attention.ModeConfig(mode="sparse", topk=3, local_blocks=1), None)
        self.assertLess((ts["out"] - want).abs().max().item(), 1e-6)
        self.assertLess((ts["decode_out"] - want[-1]).abs().max().item(), 1e-6)


if __name__ == "__main__":
    r = unittest.main(exit=False, verbosity=2).result
    ok = r.wasSuccessful()
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)
