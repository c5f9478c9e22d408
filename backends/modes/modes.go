// Package modes registers the attention modes of package attention (dense,
// sparse, switching, streaming, oracle) as evalctl backends, and defines the
// capability through which model-free tasks send them raw q/k/v: Runner.
//
// A Runner request carries the keys and values of a whole context and the
// queries of its last M tokens. The backend appends the context to a fresh
// cache, runs one Forward over the M query tokens (a chunked prefill over a
// full cache: the same code path as a prefill, timed as "prefill"), then
// repeats the last token alone (the same computation as a decode step at the
// end of the context, timed as "decode").
package modes

import (
	"context"
	"fmt"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
	"github.com/evalctl/evalctl/params"
)

// Request is a raw attention request.
type Request struct {
	Shape attention.Shape
	K, V  []float32 // the whole context: n tokens
	// KNoPE and QNoPE are pre-rotary keys and queries for use_nope scoring;
	// when nil, K and Q are used (raw q/k/v carry no rotary embedding).
	KNoPE []float32
	M     int       // query tokens: positions n-M .. n-1
	Q     []float32 // M*Heads*HeadDim
	QNoPE []float32
	// DecodeRepeats times the decode step this many times and reports the
	// fastest (default 1).
	DecodeRepeats   int
	RecordSelection bool
	// Baseline asks a backend that runs elsewhere (another device) to also
	// time its own dense attention on the same inputs, for the measured
	// speedup over dense there; backends that run here ignore it (the
	// caller times the fast dense kernels itself).
	Baseline bool
}

// Response is what a Runner measured.
type Response struct {
	Out         []float32 // M*Heads*HeadDim
	Prefill     attention.Stats
	Decode      attention.Stats // of one decode step
	PrefillTime time.Duration
	DecodeTime  time.Duration // fastest of DecodeRepeats
	CacheBytes  int64         // cache size after prefill, derived state included
	BlockSize   int           // tokens per block of the Selected statistics
	DecodeOut   []float32     // output of the decode step (Heads*HeadDim)
	// BaselinePrefillTime and BaselineDecodeTime are the backend's own dense
	// timings of the same request (Request.Baseline), zero when it did not
	// measure them.
	BaselinePrefillTime, BaselineDecodeTime time.Duration
	// PeakDeviceBytes is the accelerator memory the request peaked at, and
	// Device the device that ran it ("" for this process's CPU).
	PeakDeviceBytes int64
	Device          string
}

// Runner answers raw attention requests.
type Runner interface {
	RunAttention(ctx context.Context, req *Request) (*Response, error)
}

// backend wraps one attention mode.
type backend struct {
	label     string
	mode      attention.Mode
	blockSize int // of the Selected statistics
}

func (b *backend) Close() error { return nil }

// Wrap makes a Runner of any attention mode; blockSize is the block size of
// its selection statistics.
func Wrap(label string, m attention.Mode, blockSize int) Runner {
	return &backend{label: label, mode: m, blockSize: blockSize}
}

// Mode returns the attention mode, for in-process users (the model runtime).
func (b *backend) Mode() attention.Mode { return b.mode }

// RunAttention implements Runner.
func (b *backend) RunAttention(ctx context.Context, req *Request) (*Response, error) {
	s := req.Shape
	if err := s.Validate(); err != nil {
		return nil, err
	}
	row := s.KVHeads * s.HeadDim
	if len(req.K) == 0 || len(req.K)%row != 0 || len(req.V) != len(req.K) {
		return nil, fmt.Errorf("%s: bad request: len(K)=%d len(V)=%d, want equal non-zero multiples of %d", b.label, len(req.K), len(req.V), row)
	}
	n := len(req.K) / row
	if req.M < 1 || req.M > n || len(req.Q) != s.QSize(req.M) {
		return nil, fmt.Errorf("%s: bad request: M=%d with n=%d, len(Q)=%d", b.label, req.M, n, len(req.Q))
	}
	kn, qn := req.KNoPE, req.QNoPE
	if kn == nil {
		kn = req.K
	}
	if qn == nil {
		qn = req.Q
	}
	c := attention.NewCache(s, n)
	if err := c.Append(req.K, req.V, kn); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp := &Response{Out: make([]float32, s.QSize(req.M)), BlockSize: b.blockSize}
	resp.Prefill.RecordSelection = req.RecordSelection
	t0 := time.Now()
	if err := b.mode.Forward(c, attention.Query{M: req.M, Q: req.Q, QNoPE: qn}, resp.Out, &resp.Prefill); err != nil {
		return nil, err
	}
	resp.PrefillTime = time.Since(t0)
	resp.CacheBytes = c.Bytes()

	last := attention.Query{M: 1, Q: req.Q[s.QSize(req.M-1):], QNoPE: qn[s.QSize(req.M-1):]}
	resp.DecodeOut = make([]float32, s.QSize(1))
	reps := max(req.DecodeRepeats, 1)
	for i := 0; i < reps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var st attention.Stats
		t0 = time.Now()
		if err := b.mode.Forward(c, last, resp.DecodeOut, &st); err != nil {
			return nil, err
		}
		if d := time.Since(t0); i == 0 || d < resp.DecodeTime {
			resp.DecodeTime = d
		}
		resp.Decode = st
	}
	return resp, nil
}

// Sparse parameter specs shared by sparse and switching.
func sparseSpecs() []params.Spec {
	d := attention.DefaultSparse()
	return []params.Spec{
		params.IntSpec("block_size", int64(d.BlockSize), "key block size B of the sparse attention").Range(1, 1<<16),
		params.IntSpec("kernel_size", int64(d.KernelSize), "tokens per compressed key").Range(1, 1<<16),
		params.IntSpec("kernel_stride", int64(d.KernelStride), "step between compressed keys").Range(1, 1<<16),
		params.IntSpec("init_blocks", int64(d.InitBlocks), "first blocks always selected (attention sink)").Range(0, 1<<20),
		params.IntSpec("local_blocks", int64(d.LocalBlocks), "blocks before the query's own always selected").Range(0, 1<<20),
		params.IntSpec("topk", int64(d.TopK), "total selected blocks per query token and KV head, forced included").Range(1, 1<<20),
		params.StringSpec("lse", d.LSE, "stage-1 normaliser: exact, or approx from coarse kernels", "exact", "approx"),
		params.IntSpec("approx_kernel_size", int64(d.ApproxKernelSize), "coarse kernel size for lse=approx").Range(1, 1<<16),
		params.IntSpec("approx_kernel_stride", int64(d.ApproxKernelStride), "coarse kernel stride for lse=approx").Range(1, 1<<16),
		params.BoolSpec("use_nope", d.UseNoPE, "score blocks with pre-rotary q/k"),
	}
}

func sparseConfig(p params.Set) attention.SparseConfig {
	return attention.SparseConfig{
		BlockSize: p.Int("block_size"), KernelSize: p.Int("kernel_size"), KernelStride: p.Int("kernel_stride"),
		InitBlocks: p.Int("init_blocks"), LocalBlocks: p.Int("local_blocks"), TopK: p.Int("topk"),
		LSE: p.String("lse"), ApproxKernelSize: p.Int("approx_kernel_size"), ApproxKernelStride: p.Int("approx_kernel_stride"),
		UseNoPE: p.Bool("use_nope"),
	}
}

// builders holds every mode's constructor and parameters by name, for
// backends that embed a mode choice (the model runtime).
var builders = map[string]builder{}

type builder struct {
	specs []params.Spec
	mk    func(p params.Set) (attention.Mode, error)
}

// Names lists the attention modes, in a fixed order.
func Names() []string { return []string{"dense", "sparse", "switching", "streaming", "oracle"} }

// Specs returns the union of the parameters of the named modes (the first
// mode's spec wins for a name several share); their defaults agree.
func Specs(names ...string) []params.Spec {
	var out []params.Spec
	seen := map[string]bool{}
	for _, n := range names {
		for _, s := range builders[n].specs {
			if !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// Build constructs the named mode from p, which must hold that mode's
// parameters (it may hold more). It also returns the block size of the
// mode's selection statistics.
func Build(name string, p params.Set) (attention.Mode, int, error) {
	b, ok := builders[name]
	if !ok {
		return nil, 0, fmt.Errorf("unknown attention mode %q (known: %v)", name, Names())
	}
	m, err := b.mk(p)
	if err != nil {
		return nil, 0, err
	}
	return m, p.Int("block_size"), nil
}

func register(name, help string, specs []params.Spec, mk func(p params.Set) (attention.Mode, error)) {
	builders[name] = builder{specs: specs, mk: mk}
	backends.Register(backends.Info{
		Name: name, Help: help, Params: specs,
		Check: func(p params.Set) error { _, err := mk(p); return err },
		New: func(c backends.Config) (backends.Backend, error) {
			m, err := mk(c.Params)
			if err != nil {
				return nil, err
			}
			return &backend{label: c.Label, mode: m, blockSize: c.Params.Int("block_size")}, nil
		},
	})
}

// implSpecs are the parameters choosing between the fast kernels and the
// reference implementations.
func implSpecs() []params.Spec {
	return []params.Spec{
		params.StringSpec("impl", "fast", "implementation: fast (tiled vector kernels, all cores) or reference (plain Go, the test oracle)", "fast", "reference"),
		params.IntSpec("threads", 0, "goroutines of the fast implementation; 0: all cores").Range(0, 1024),
	}
}

func init() {
	register("dense", "full causal softmax attention", append([]params.Spec{
		params.IntSpec("block_size", 64, "block size of the selection statistics (dense attends every block)").Range(1, 1<<16),
	}, implSpecs()...), func(p params.Set) (attention.Mode, error) {
		if p.String("impl") == "fast" {
			return flash.NewDense(p.Int("block_size"), p.Int("threads"))
		}
		return attention.NewDenseBlockSize(p.Int("block_size"))
	})
	register("sparse", "InfLLM-V2 block-sparse attention: compressed-key scoring, max-pool, forced init/local blocks, top-k",
		append(sparseSpecs(), implSpecs()...),
		func(p params.Set) (attention.Mode, error) {
			if p.String("impl") == "fast" {
				return flash.NewSparse(sparseConfig(p), p.Int("threads"))
			}
			return attention.NewSparse(sparseConfig(p))
		})
	register("switching", "dense below dense_len total keys, InfLLM-V2 sparse at or above, decided on every forward call",
		append(append([]params.Spec{params.IntSpec("dense_len", 8192, "switching threshold on the total key length; -1: always sparse").AtLeast(-1)}, sparseSpecs()...), implSpecs()...),
		func(p params.Set) (attention.Mode, error) {
			if p.String("impl") == "fast" {
				return flash.NewSwitching(p.Int("dense_len"), sparseConfig(p), p.Int("threads"))
			}
			return attention.NewSwitching(p.Int("dense_len"), sparseConfig(p))
		})
	register("streaming", "StreamingLLM-style baseline: init blocks plus the local window only", append([]params.Spec{
		params.IntSpec("block_size", 64, "key block size").Range(1, 1<<16),
		params.IntSpec("init_blocks", 1, "first blocks always attended").Range(0, 1<<20),
		params.IntSpec("local_blocks", 32, "blocks before the query's own attended").Range(0, 1<<20),
	}, implSpecs()...), func(p params.Set) (attention.Mode, error) {
		if p.String("impl") == "fast" {
			return flash.NewStreaming(p.Int("block_size"), p.Int("init_blocks"), p.Int("local_blocks"), p.Int("threads"))
		}
		return attention.NewStreaming(p.Int("block_size"), p.Int("init_blocks"), p.Int("local_blocks"))
	})
	register("oracle", "upper bound of block selection: the topk blocks holding the most true attention mass (reference implementation only)", []params.Spec{
		params.IntSpec("block_size", 64, "key block size").Range(1, 1<<16),
		params.IntSpec("topk", 96, "selected blocks per query token and KV head").Range(1, 1<<20),
	}, func(p params.Set) (attention.Mode, error) {
		return attention.NewOracle(p.Int("block_size"), p.Int("topk"))
	})
}
