package torch

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/lm"
	"github.com/evalctl/evalctl/backends/model"
	"github.com/evalctl/evalctl/backends/model/chat"
	"github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/datasets/models"
	"github.com/evalctl/evalctl/params"
)

// workerSpecs are the parameters of the workers, shared by both backends.
func workerSpecs() []params.Spec {
	return []params.Spec{
		params.StringSpec("dtype", "auto", "compute dtype of the worker: auto (bfloat16 on CUDA, float32 on the CPU), float32, bfloat16, float16", "auto", "float32", "bfloat16", "float16"),
		params.StringSpec("devices", "cuda", "workers to start, one per device: cuda (one per visible GPU), a list such as cuda:0,cuda:1, or cpu (cpu,cpu: two CPU workers); not used with url"),
		params.StringSpec("url", "", "comma-separated URLs of workers started by hand (evalctl torch-worker); when set no worker is started"),
		params.StringSpec("python", "python3", "Python interpreter with PyTorch (and Triton on CUDA) that runs the workers"),
		params.StringSpec("worker_path", "", "the model directory as the workers see it (default: path; for workers on other hosts)"),
		params.IntSpec("start_timeout", 600, "seconds a worker may take to load the model and answer").Range(1, 86400),
		params.IntSpec("request_timeout", 3600, "seconds a worker may take for one request before it is cancelled (and killed if it does not stop); 0: no limit but the cell's").Range(0, 604800),
		params.StringSpec("logs", "", "directory for the workers' stderr logs (default: the system's temporary directory)"),
	}
}

// torchHelp rewrites the help of the mode parameters whose meaning the
// worker gives: impl (CUDA kernels or plain PyTorch) and threads.
func torchHelp(s []params.Spec) []params.Spec {
	out := slices.Clone(s)
	for i := range out {
		switch out[i].Name {
		case "impl":
			out[i].Help = "implementation: fast (CUDA kernels: flash SDPA for dense, Triton for sparse and streaming; an error on the CPU) or reference (plain PyTorch on any device, the kernels' oracle)"
		case "threads":
			out[i].Help = "CPU threads of each worker's PyTorch; 0: all cores"
		}
	}
	return out
}

func specs() []params.Spec {
	s := []params.Spec{
		params.StringSpec("path", "default", "model: a Hugging Face model directory, or a built-in model (default, default-sparse)"),
		params.StringSpec("attention", "dense", "attention mode of every layer", modes.Names()...),
		params.IntSpec("chunk", 8192, "most tokens per prefill forward call (0: the whole prompt at once); switching decides per call").Range(0, 1<<24),
		params.StringSpec("template", "plain", "prompt template: plain, auto (the model's chat template when it has one), or a family", append([]string{"auto"}, chat.Names()...)...),
	}
	s = append(s, torchHelp(modes.Specs(modes.Names()...))...)
	return append(s, workerSpecs()...)
}

func attentionSpecs() []params.Spec {
	s := []params.Spec{params.StringSpec("attention", "dense", "attention mode", modes.Names()...)}
	s = append(s, torchHelp(modes.Specs(modes.Names()...))...)
	return append(s, workerSpecs()...)
}

func init() {
	backends.Register(backends.Info{
		Name:   "torch",
		Help:   "a Hugging Face model (Llama, Mistral, Qwen2, MiniCPM) in PyTorch worker processes on NVIDIA GPUs (or the CPU), the chosen attention mode in every layer; tokenization and scoring stay in evalctl",
		Params: specs(),
		Check:  check,
		New:    newModelBackend,
	})
	backends.Register(backends.Info{
		Name:   "torch-attention",
		Help:   "raw q/k/v attention cells on a PyTorch worker (GPU kernels: flash SDPA, Triton), timed on the device against its own dense attention",
		Params: attentionSpecs(),
		Check:  check,
		New:    newAttentionBackend,
	})
}

func check(p params.Set) error {
	if _, _, err := modes.Build(p.String("attention"), p); err != nil {
		return err
	}
	_, err := deviceList(p.String("devices"))
	return err
}

// deviceList expands the devices parameter.
func deviceList(s string) ([]string, error) {
	var out []string
	for _, d := range strings.Split(s, ",") {
		d = strings.TrimSpace(d)
		switch {
		case d == "cpu":
			out = append(out, d)
		case d == "cuda":
			n, err := visibleGPUs()
			if err != nil {
				return nil, err
			}
			for i := 0; i < n; i++ {
				out = append(out, fmt.Sprintf("cuda:%d", i))
			}
		case strings.HasPrefix(d, "cuda:") && isDigits(d[5:]):
			out = append(out, d)
		default:
			return nil, fmt.Errorf("devices: %q: accepted: cuda, cuda:N, cpu, or a comma-separated list of those", d)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("devices: %q names no device", s)
	}
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// visibleGPUs counts the NVIDIA GPUs this process may use: the entries of
// CUDA_VISIBLE_DEVICES when set, else the device nodes /dev/nvidia<N>; at
// least one, so that a machine without a GPU gets the worker's own error
// ("CUDA is not available") rather than a silent CPU run.
func visibleGPUs() (int, error) {
	if v, ok := os.LookupEnv("CUDA_VISIBLE_DEVICES"); ok {
		n := 0
		for _, f := range strings.Split(v, ",") {
			if strings.TrimSpace(f) != "" {
				n++
			}
		}
		return max(n, 1), nil
	}
	m, _ := filepath.Glob("/dev/nvidia[0-9]*")
	return max(len(m), 1), nil
}

// attentionJSON is the worker's attention configuration of a parameter set.
func attentionJSON(p params.Set) map[string]any {
	a := map[string]any{
		"mode":       p.String("attention"),
		"block_size": p.Int("block_size"),
		"impl":       p.String("impl"),
	}
	switch p.String("attention") {
	case "sparse", "switching":
		for _, k := range []string{"kernel_size", "kernel_stride", "init_blocks", "local_blocks", "topk", "approx_kernel_size", "approx_kernel_stride"} {
			a[k] = p.Int(k)
		}
		a["lse"] = p.String("lse")
		a["use_nope"] = p.Bool("use_nope")
		if p.String("attention") == "switching" {
			a["dense_len"] = p.Int("dense_len")
		}
	case "streaming":
		a["init_blocks"], a["local_blocks"] = p.Int("init_blocks"), p.Int("local_blocks")
	case "oracle":
		a["topk"] = p.Int("topk")
	}
	return a
}

// builtinDir writes an embedded model to the temporary directory once per
// content, so that workers can read it.
var builtinDirs sync.Map

func builtinDir(name string) (string, error) {
	if v, ok := builtinDirs.Load(name); ok {
		return v.(string), nil
	}
	fsys := models.FS()
	h := sha256.New()
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
		b, err := fsReadFile(fsys, name+"/"+f)
		if err != nil {
			if f == "config.json" || f == "model.safetensors" {
				return "", fmt.Errorf("path %q: built-in model not in this binary: %w", name, err)
			}
			continue
		}
		h.Write(b)
	}
	dir := filepath.Join(os.TempDir(), "evalctl-model-"+name+"-"+hex.EncodeToString(h.Sum(nil))[:12])
	if _, err := os.Stat(filepath.Join(dir, "model.safetensors")); err != nil {
		if err := model.WriteDirFS(fsys, name, dir); err != nil {
			return "", err
		}
	}
	builtinDirs.Store(name, dir)
	return dir, nil
}

// newPool returns the shared pool for a backend's worker parameters.
func newPool(p params.Set, modelDir, workerPath string) (*pool, error) {
	sp := &spec{
		python:       p.String("python"),
		path:         workerPath,
		dtype:        p.String("dtype"),
		threads:      p.Int("threads"),
		logDir:       p.String("logs"),
		startTimeout: time.Duration(p.Int("start_timeout")) * time.Second,
	}
	if modelDir != "" {
		b, err := os.ReadFile(filepath.Join(modelDir, "config.json"))
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		sp.configSHA = hex.EncodeToString(sum[:])
	}
	var procs []*proc
	urls := strings.TrimSpace(p.String("url"))
	if urls != "" {
		for _, u := range strings.Split(urls, ",") {
			u = strings.TrimRight(strings.TrimSpace(u), "/")
			if !strings.HasPrefix(u, "http://") {
				return nil, fmt.Errorf("url: %q: want http://host:port", u)
			}
			procs = append(procs, &proc{url: u, spec: sp})
		}
	} else {
		devs, err := deviceList(p.String("devices"))
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			procs = append(procs, &proc{device: d, spec: sp})
		}
	}
	key := fmt.Sprintf("%q %q %q %d %q %q %d", sp.python, sp.path, sp.dtype, sp.threads, p.String("devices"), urls, p.Int("start_timeout"))
	return acquirePool(key, func() (*pool, error) {
		return &pool{spec: sp, procs: procs, requestTimeout: time.Duration(p.Int("request_timeout")) * time.Second}, nil
	})
}

// ModelBackend is the "torch" backend: lm.Model over a pool of workers.
type ModelBackend struct {
	Label string
	text  *model.Engine
	pool  *pool
	attn  map[string]any
	chunk int
	once  sync.Once
}

var _ lm.Model = (*ModelBackend)(nil)

func newModelBackend(c backends.Config) (backends.Backend, error) {
	p := c.Params
	if err := check(p); err != nil {
		return nil, err
	}
	dir := p.String("path")
	if slices.Contains(models.Names, dir) {
		var err error
		if dir, err = builtinDir(dir); err != nil {
			return nil, err
		}
	} else if dir == "default" || dir == "default-sparse" {
		return nil, fmt.Errorf("path: no %s model is built in; give a model directory", dir)
	}
	tm, err := model.LoadText(dir)
	if err != nil {
		return nil, err
	}
	text, err := model.NewTextEngine(tm, p.String("template"))
	if err != nil {
		return nil, err
	}
	wp := p.String("worker_path")
	if wp == "" {
		if wp, err = filepath.Abs(dir); err != nil {
			return nil, err
		}
	}
	pl, err := newPool(p, dir, wp)
	if err != nil {
		return nil, err
	}
	return &ModelBackend{Label: c.Label, text: text, pool: pl, attn: attentionJSON(p), chunk: p.Int("chunk")}, nil
}

// Close releases the backend's hold on the workers (the last one stops them).
func (b *ModelBackend) Close() error {
	b.once.Do(b.pool.release)
	return nil
}

// Tokenize implements lm.Model (template and BOS, as the model backend).
func (b *ModelBackend) Tokenize(ctx context.Context, prompt string) ([]int, error) {
	return b.text.Tokenize(ctx, prompt)
}

// stats is the worker's attention statistics.
type stats struct {
	Calls         int     `json:"calls"`
	DenseCalls    int     `json:"dense_calls"`
	SparseCalls   int     `json:"sparse_calls"`
	QueryTokens   int64   `json:"query_tokens"`
	FLOPs         float64 `json:"flops"`
	KVBytes       int64   `json:"kv_bytes"`
	Blocks        int64   `json:"blocks"`
	Tokens        int64   `json:"tokens"`
	VisibleTokens int64   `json:"visible_tokens"`
}

func (s *stats) addTo(st *attention.Stats) {
	st.Calls += s.Calls
	st.DenseCalls += s.DenseCalls
	st.SparseCalls += s.SparseCalls
	st.QueryTokens += s.QueryTokens
	st.FLOPs += s.FLOPs
	st.KVBytes += s.KVBytes
	st.Blocks += s.Blocks
	st.Tokens += s.Tokens
	st.VisibleTokens += s.VisibleTokens
}

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

// genLine is one line of the worker's /generate stream.
type genLine struct {
	T         *int    `json:"t"`
	LP        float64 `json:"lp"`
	Gap       float64 `json:"gap"`
	MS        float64 `json:"ms"`
	PrefillMS float64 `json:"prefill_ms"`
	Stats     stats   `json:"stats"`
	KV        int64   `json:"kv"`
	Mem       int64   `json:"mem"`
	End       string  `json:"end"`
	Error     string  `json:"error"`
}

// Token is one generated token with what the worker measured for it.
type Token struct {
	ID      int
	Logprob float64 // natural log-probability of the token
	Gap     float64 // top-1 minus top-2 logit (a near-tie when tiny)
}

// Generate implements lm.Model.
func (b *ModelBackend) Generate(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, error) {
	resp, _, err := b.GenerateTokens(ctx, req)
	return resp, err
}

// GenerateTokens is Generate that also returns the generated tokens (the
// end-of-sequence one excluded) with their log-probabilities and top-2
// logit gaps.
func (b *ModelBackend) GenerateTokens(ctx context.Context, req *lm.GenerateRequest) (*lm.GenerateResponse, []Token, error) {
	t0 := time.Now()
	ids, err := b.text.GenerateIDs(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	resp := &lm.GenerateResponse{PromptTokens: len(ids), FinishReason: "length"}
	tm := &resp.Timing
	tm.Tokenize = time.Since(t0)
	var toks []Token
	body := map[string]any{"ids": ids, "max_tokens": req.MaxTokens, "eos": b.text.M.Cfg.EOS, "chunk": b.chunk, "attention": b.attn}
	err = b.pool.do(ctx, func(ctx context.Context, w *proc) error {
		// Reset what a failed attempt may have filled in.
		toks, resp.Text, resp.FinishReason = nil, "", "length"
		*tm = lm.Timing{Tokenize: tm.Tokenize, PrefillAttention: &attention.Stats{}, DecodeAttention: &attention.Stats{}}
		bb, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r, err := post(ctx, w, "/generate", "application/json", bb)
		if err != nil {
			return err
		}
		defer r.Body.Close()
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		var out []int
		for sc.Scan() {
			var l genLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				return &workerError{worker: w.name(), status: 200, msg: "bad stream line: " + err.Error()}
			}
			if l.Error != "" {
				return &workerError{worker: w.name(), status: 200, msg: l.Error}
			}
			if l.End != "" {
				return nil // the worker ended as we would have
			}
			if l.T == nil {
				return &workerError{worker: w.name(), status: 200, msg: "stream line without a token"}
			}
			if len(toks) == 0 {
				tm.Prefill = ms(l.PrefillMS)
				l.Stats.addTo(tm.PrefillAttention)
			} else {
				tm.Decode = append(tm.Decode, ms(l.MS))
				l.Stats.addTo(tm.DecodeAttention)
			}
			tm.PeakKVBytes = max(tm.PeakKVBytes, l.KV)
			tm.PeakDeviceBytes = max(tm.PeakDeviceBytes, l.Mem)
			next := *l.T
			if b.text.IsEOS(next) {
				resp.FinishReason = "stop"
				return nil
			}
			toks = append(toks, Token{ID: next, Logprob: l.LP, Gap: l.Gap})
			out = append(out, next)
			text := b.text.M.Tok.Decode(out)
			if cut, ok := model.CutStop(text, req.Stop); ok {
				resp.Text, resp.FinishReason = cut, "stop"
				return nil
			}
			resp.Text = text
			if len(out) >= req.MaxTokens {
				return nil
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		return io.ErrUnexpectedEOF
	})
	if err != nil {
		return nil, nil, err
	}
	resp.OutputTokens = len(toks)
	tm.Total = time.Since(t0)
	return resp, toks, nil
}

// Loglikelihood implements lm.Model (ids as the model backend builds them).
func (b *ModelBackend) Loglikelihood(ctx context.Context, req *lm.LoglikelihoodRequest) (*lm.LoglikelihoodResponse, error) {
	t0 := time.Now()
	ids, nctx, err := b.text.LoglikelihoodIDs(req)
	if err != nil {
		return nil, err
	}
	resp := &lm.LoglikelihoodResponse{ContextTokens: nctx, Tokens: len(ids) - nctx, Greedy: true}
	tm := &resp.Timing
	tm.Tokenize = time.Since(t0)
	var out struct {
		Logprobs  []float64 `json:"logprobs"`
		Greedy    []bool    `json:"greedy"`
		PrefillMS float64   `json:"prefill_ms"`
		Stats     stats     `json:"stats"`
		KV        int64     `json:"kv"`
		Mem       int64     `json:"mem"`
	}
	err = b.pool.do(ctx, func(ctx context.Context, w *proc) error {
		return postJSON(ctx, w, "/loglikelihood", map[string]any{"ids": ids, "from": nctx, "chunk": b.chunk, "attention": b.attn}, &out)
	})
	if err != nil {
		return nil, err
	}
	if len(out.Logprobs) != len(ids)-nctx || len(out.Greedy) != len(out.Logprobs) {
		return nil, fmt.Errorf("torch worker returned %d log-probabilities for %d tokens", len(out.Logprobs), len(ids)-nctx)
	}
	for i, lp := range out.Logprobs {
		resp.Logprob += lp
		resp.Greedy = resp.Greedy && out.Greedy[i]
	}
	if req.TokenLogprobs {
		resp.TokenLogprobs = out.Logprobs
	}
	tm.Prefill = ms(out.PrefillMS)
	tm.PrefillAttention = &attention.Stats{}
	out.Stats.addTo(tm.PrefillAttention)
	tm.PeakKVBytes, tm.PeakDeviceBytes = out.KV, out.Mem
	tm.Total = time.Since(t0)
	return resp, nil
}

// AttentionBackend is the "torch-attention" backend: modes.Runner on a
// worker without a model.
type AttentionBackend struct {
	Label     string
	pool      *pool
	attn      map[string]any
	blockSize int
	once      sync.Once
}

var _ modes.Runner = (*AttentionBackend)(nil)

func newAttentionBackend(c backends.Config) (backends.Backend, error) {
	p := c.Params
	if err := check(p); err != nil {
		return nil, err
	}
	pl, err := newPool(p, "", "")
	if err != nil {
		return nil, err
	}
	return &AttentionBackend{Label: c.Label, pool: pl, attn: attentionJSON(p), blockSize: p.Int("block_size")}, nil
}

// Close releases the backend's hold on the workers.
func (b *AttentionBackend) Close() error {
	b.once.Do(b.pool.release)
	return nil
}

// RunAttention implements modes.Runner: the worker appends the context,
// times one forward call over the M query tokens and the repeated decode
// step of the last one, on its device (after an untimed warm-up run there),
// and with Baseline also its own dense attention on the same inputs.
func (b *AttentionBackend) RunAttention(ctx context.Context, req *modes.Request) (*modes.Response, error) {
	s := req.Shape
	if err := s.Validate(); err != nil {
		return nil, err
	}
	row := s.KVHeads * s.HeadDim
	if len(req.K) == 0 || len(req.K)%row != 0 || len(req.V) != len(req.K) {
		return nil, fmt.Errorf("%s: bad request: len(K)=%d len(V)=%d, want equal non-zero multiples of %d", b.Label, len(req.K), len(req.V), row)
	}
	n := len(req.K) / row
	if req.M < 1 || req.M > n || len(req.Q) != s.QSize(req.M) {
		return nil, fmt.Errorf("%s: bad request: M=%d with n=%d, len(Q)=%d", b.Label, req.M, n, len(req.Q))
	}
	blob, err := encodeAttention(b.attn, req, n)
	if err != nil {
		return nil, err
	}
	var resp *modes.Response
	err = b.pool.do(ctx, func(ctx context.Context, w *proc) error {
		r, err := post(ctx, w, "/attention", "application/octet-stream", blob)
		if err != nil {
			return err
		}
		defer r.Body.Close()
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return err
		}
		resp, err = decodeAttention(data, req, w.name())
		return err
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// Workers reports the pool's workers (device or URL) for diagnostics.
func (b *ModelBackend) Workers() int { return len(b.pool.procs) }
