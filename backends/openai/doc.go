// Package openai is the backend "openai": an lm.Model served by
// OpenAI-compatible HTTP servers (vLLM, SGLang, llama.cpp's server, TGI,
// or evalctl's own backends/openai/server). Tasks reach it through lm.Model
// like the native runtime, so the same suite can compare a local model with
// a served one, or one server configuration (its sparse-attention settings
// in extra_body) with another.
//
// Parameters (see Specs; durations read as Go durations or seconds):
//
//	url                 base URL(s) of the API, e.g. http://host:8000/v1; comma-separated: round-robin
//	model               model name; empty: the first one of GET {url}/models
//	api                 completions (the prompt as raw text) or chat (the prompt as one user message)
//	api_key_env         environment variable holding the key, sent as Authorization: Bearer
//	stream              stream responses, to time the first token and the later ones (default true)
//	concurrency         most requests in flight (default 8)
//	retries             retries after the first attempt (default 3)
//	retry_base_wait     first backoff bound, doubling per retry (default 500ms)
//	retry_max_wait      largest backoff bound (default 30s)
//	retry_total         no retry starts later than this after the first attempt (default 5m)
//	timeout             bound of one attempt, request sent to response read (default 10m)
//	extra_body          JSON object merged into every request body
//	tokenizer           server (default), the path of a tokenizer.json, or none
//	bos                 auto, none or a token: what a local tokenizer adds around the text
//	seed                sent with every request
//	max_response_bytes  largest response body or stream (default 256M)
//
// Decisions:
//
//   - Generation is greedy: temperature 0 and the configured seed go with
//     every request. The completions API sends the prompt as is; the chat
//     API sends it as the content of one user message, and the server
//     applies the model's chat template. Stop strings are sent, and the
//     text is cut again at the first one on arrival (harmless when the
//     server did it). finish_reason "length" stays "length"; "stop", "eos"
//     and an absent reason become "stop"; others (content_filter) are kept.
//   - Timings: with stream, the request asks for stream_options
//     include_usage; Timing.Prefill is the time from sending the request to
//     the first chunk carrying text, and Timing.Decode holds the gap before
//     each later such chunk. A server that packs several tokens in a chunk
//     gives fewer, longer gaps. Token counts come from the usage the server
//     reports, else from the number of text chunks (streams) or the local
//     tokenizer. Without stream only Timing.Total is set. Timings are those
//     of the attempt that succeeded; waiting for a concurrency slot and for
//     retries is not counted.
//   - Loglikelihood uses the completions endpoint in both API modes (chat
//     has no prompt scoring): prompt Context+Continuation, echo=true,
//     logprobs=1, max_tokens=0. The server must echo the prompt and return
//     logprobs.token_logprobs and text_offset for its tokens; otherwise the
//     error names the server and the missing field. The continuation starts
//     at the first token whose text reaches past the context, by text_offset
//     counted in Unicode code points (as Python's str, so as vLLM and the
//     OpenAI API count); a token straddling the boundary belongs to the
//     continuation. The tokens before are ContextTokens (BOS included).
//     Greedy holds when each continuation token's log-probability is the
//     largest of its top_logprobs; without top_logprobs it is false. Since
//     the server tokenizes context and continuation together, the result
//     equals a native Loglikelihood (which tokenizes them apart) exactly
//     when the tokenization does not merge across the boundary, as with a
//     continuation that starts with a space.
//   - Tokenize returns what the model sees. tokenizer: server asks
//     {root}/tokenize, root being the base URL without its trailing /v1. In
//     completions mode one request body carries both vLLM's fields (prompt,
//     add_special_tokens) and llama.cpp's (content, add_special), so no
//     detection is needed. In chat mode the ids must include the chat
//     template: vLLM's messages form is tried first; a server answering it
//     with a client error or with no ids is then asked llama.cpp's way
//     (/apply-template, then /tokenize with special tokens added and
//     parsed); the way that worked is remembered. A local tokenizer.json
//     adds the special tokens its post-processor names (bos: auto), none,
//     or one given BOS token; it cannot apply a chat template, so it is
//     refused with api: chat.
//   - Retries: 408, 429 and 5xx responses, connection failures (refused,
//     reset), attempt timeouts and truncated responses or streams are
//     retried; other 4xx, malformed JSON and missing fields are not. The
//     wait before retry n is uniform in [0, min(retry_max_wait,
//     retry_base_wait*2^(n-1))] (full jitter), or exactly what a
//     Retry-After header says (seconds or an HTTP date). Retrying stops
//     after retries attempts, or when the next attempt would start later
//     than retry_total after the first; so a call lasts at most about
//     retry_total plus one timeout. Each attempt goes to the next URL in
//     turn, so a dead server among several is skipped. Cancelling the
//     context stops at once, in flight or while waiting.
//   - A stream is complete at "data: [DONE]", or at its end after a chunk
//     with a finish_reason (some servers send no [DONE]). It ending
//     otherwise, or an error object inside it, counts as a truncated
//     response and is retried.
//   - Errors are *Error: the operation, the URL (scheme, host and path: no
//     user info, no query), the status, the start of the body, the number
//     of attempts, and why retrying stopped. The API key is read from the
//     environment when the backend is built; it is sent only in the
//     Authorization header, is never part of the parameters (records hold
//     the variable's name), and is replaced by [redacted] wherever it
//     appears in an error, even when a server echoes it. A key written into
//     url itself is recorded as written: use api_key_env.
//   - extra_body may not set the members the client owns (model, prompt,
//     messages, max_tokens, stop, stream, echo, logprobs, temperature,
//     seed, ...): it is checked with the suite, as are the URLs, durations,
//     the key variable and a local tokenizer.
package openai
