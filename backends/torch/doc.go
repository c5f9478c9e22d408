// Package torch runs evalctl's attention modes on real models on NVIDIA
// GPUs (and on the CPU, for tests) through PyTorch worker processes, and
// registers two backends:
//
//   - "torch": a text model (lm.Model) with the parameters of the native
//     "model" backend (path, attention, chunk, template and every attention
//     mode's parameters) plus the worker's (dtype, devices, url, python,
//     timeouts). Hugging Face Llama, Mistral, Qwen2 and MiniCPM directories.
//   - "torch-attention": raw q/k/v attention cells (modes.Runner) for the
//     attention suite, timed on the worker's device, with the worker's own
//     dense attention as the measured baseline.
//
// # Division of labour
//
// evalctl keeps tokenization, templates, prompt fitting, stop strings and
// scoring: the Go side loads the model's config and tokenizer
// (model.LoadText) and sends token ids. The worker (the Python package
// embedded under worker/, extracted to a temporary directory at first use)
// runs the forward passes and returns token ids, per-token log-probabilities,
// timings measured on the device (prefill, each decode step), attention
// statistics (the same counts as backends/attention, selections on request)
// and the device's peak memory. The protocol is HTTP/1.0 with JSON (NDJSON
// for generation, one line per token) on loopback; raw q/k/v travel as
// safetensors. server.py in the worker package documents it.
//
// # Workers and their lifecycle
//
// One worker process per device (devices: "cuda" is one per visible GPU,
// or a list such as "cuda:0,cuda:1" or "cpu"), or workers started by hand
// and named by URL (url: "http://host:port,..."; `evalctl torch-worker`
// starts one). Backends with the same model, dtype and workers share them:
// one model load serves every cell and every attention mode, and the
// workers take cells in parallel. Workers start at the first request,
// answer a readiness line (spawned) or GET /health (by URL; the model's
// config.json digest must match the local one), and are stopped when the
// last backend using them closes (POST /shutdown, then a kill). A worker
// that crashes, or that is still busy when a cell's deadline passes
// (request_timeout or the suite's cell timeout), turns that cell into an
// error record naming the worker, its exit status and the tail of its
// stderr (kept whole in a log file), and a spawned one is killed and started
// again for the next cell; a worker that fails to start with a typed error
// (a config or weights problem) fails every later cell with the same error
// instead of restarting.
//
// # Decisions
//
//   - impl "fast" (the default, as for the native modes) means the CUDA
//     kernels: flash scaled_dot_product_attention for dense, Triton for
//     sparse and streaming; on the CPU it is an error, never a quiet switch:
//     CPU runs say impl: reference (plain PyTorch, the kernels' oracle).
//     The oracle mode has only the reference implementation, as in Go.
//   - dtype "auto" is bfloat16 on CUDA and float32 on the CPU.
//   - Generation stops where the native engine stops: at an end-of-sequence
//     id, a stop string (checked here, on the decoded text) or max tokens.
//     The worker streams each token and its step's statistics as soon as it
//     has it and checks for a closed connection before each decode step, so
//     a stop string ends it after at most one extra step, whose token and
//     statistics are discarded.
package torch
