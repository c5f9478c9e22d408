"""The PyTorch worker of evalctl's torch backend (backends/torch).

evalctl starts this package as a process (python3 -m evalctl_torch serve ...)
and drives it over HTTP on loopback: evalctl keeps tokenization, templates,
prompt fitting, stop strings and scoring; the worker takes token ids and
returns token ids, log-probabilities, timings and attention statistics, or
runs raw q/k/v attention cells. Modules:

- safetensors: the safetensors container read without extra packages.
- config: config.json parsing with the native runtime's rules and errors.
- model: the Llama/Mistral/Qwen2/MiniCPM forward pass with KV caches.
- attention: the attention modes (dense, sparse, switching, streaming,
  oracle) as PyTorch reference code (any device) and the fast GPU paths.
- kernels: the Triton kernels of the fast sparse path (CUDA only).
- server: the HTTP protocol.

Dependencies: PyTorch only (Triton on CUDA for the fast sparse kernels).
"""

__version__ = "1"
