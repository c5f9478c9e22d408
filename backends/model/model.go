// Package model is evalctl's native inference engine: decoder-only
// transformers of the Llama family (Llama, Mistral, Qwen2, MiniCPM) in pure
// Go, whose attention is the evalctl attention mode under test.
//
// # Architecture
//
// Every supported model is the same computation with switches: token
// embeddings (times scale_emb for MiniCPM); per layer RMSNorm, q/k/v
// projections (with biases for Qwen2 and attention_bias), rotary embeddings
// on q and k (Hugging Face's rotate-half layout; rope types default,
// linear, dynamic NTK, YaRN and llama3), grouped-query attention through an
// attention.Mode, output projection and residual (scaled by
// scale_depth/sqrt(layers) for MiniCPM); RMSNorm, SwiGLU MLP, residual; a
// final RMSNorm (MiniCPM divides by hidden/dim_model_base) and the LM head,
// tied to the embeddings or not. The numerics follow transformers in
// float32, with norms and the final softmax accumulated in float64, and the
// rotary angles computed in float64.
//
// # Attention is pluggable per forward call
//
// A Seq (one sequence: its per-layer KV caches) runs Forward calls over new
// tokens; every layer's attention is one attention.Mode.Forward over the
// layer's cache, so the switching mode decides dense or sparse on each call
// with the total key length, as InfLLM-V2 does. A prefill is split into
// chunks (Options.Chunk tokens, a forward call each); decoding is one call
// per token.
//
// # Weights
//
// Hugging Face model directories (config.json, model.safetensors or
// sharded model.safetensors.index.json, tokenizer.json,
// generation_config.json, tokenizer_config.json) and GGUF files. Tensors
// are decoded to float32 at load (f32, f16, bf16; q8_0 from GGUF) and the
// projection matrices are stored transposed for the matrix kernels: memory
// is 4 bytes per parameter whatever the file's type. A tensor of the wrong
// shape, a missing tensor or a tensor the architecture does not use is an
// error naming it.
package model

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
	"github.com/evalctl/evalctl/backends/model/tokenizer"
)

// Model is a loaded model: configuration and weights, read-only after load,
// so one Model serves any number of sequences from any number of
// goroutines.
type Model struct {
	Cfg  *Config
	Path string
	// Tok is the model's tokenizer (nil when the model came without one).
	Tok *tokenizer.Tokenizer
	// AddBOS says whether prompts start with the BOS token.
	AddBOS bool
	// ChatTemplate is the tokenizer config's chat template, when present.
	ChatTemplate string

	embed  []float32 // vocab x hidden
	layers []layer
	norm   []float32
	head   linear

	threads int
}

type layer struct {
	attnNorm, mlpNorm          []float32
	q, k, v, o, gate, up, down linear
}

// linear is y = x·W^T + b with W^T stored (in x out), row-major.
type linear struct {
	in, out int
	wt      []float32
	b       []float32
}

// SetThreads sets the goroutines used by the matrix products (0: all cores).
func (m *Model) SetThreads(n int) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	m.threads = n
}

func (m *Model) workers() int {
	if m.threads <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return m.threads
}

// forward computes y[rows x out] = x[rows x in]·W^T + b, splitting the
// output columns across workers for large products.
func (li *linear) forward(x []float32, rows int, y []float32, workers int) {
	work := rows * li.in * li.out
	if workers <= 1 || work < 1<<17 || li.out < 128 {
		li.product(x, rows, y, 0, li.out)
	} else {
		parallelChunks(li.out, workers, 64, func(a, b int) { li.product(x, rows, y, a, b-a) })
	}
	if li.b != nil {
		for r := 0; r < rows; r++ {
			row := y[r*li.out : (r+1)*li.out]
			for i, b := range li.b {
				row[i] += b
			}
		}
	}
}

// product computes columns c0..c0+n of y = x·W^T. A few rows (decode) are
// a sum of scaled rows of W^T (Axpy streams W^T once, about 5x faster than
// the tiled product at one row); more rows use the tiled matrix product.
func (li *linear) product(x []float32, rows int, y []float32, c0, n int) {
	if rows >= 4 {
		kernels.GemmNN(rows, n, li.in, x, li.in, li.wt[c0:], li.out, y[c0:], li.out, false)
		return
	}
	for r := 0; r < rows; r++ {
		yr := y[r*li.out+c0 : r*li.out+c0+n]
		clear(yr)
		xr := x[r*li.in : (r+1)*li.in]
		for p, xv := range xr {
			kernels.Axpy(xv, li.wt[p*li.out+c0:p*li.out+c0+n], yr)
		}
	}
}

// rmsNorm writes x * w / sqrt(mean(x^2) + eps) per row of width n.
func rmsNorm(dst, x, w []float32, rows, n int, eps float64) {
	for r := 0; r < rows; r++ {
		xr := x[r*n : (r+1)*n]
		var ss float64
		for _, v := range xr {
			ss += float64(v) * float64(v)
		}
		inv := float32(1 / math.Sqrt(ss/float64(n)+eps))
		dr := dst[r*n : (r+1)*n]
		for i, v := range xr {
			dr[i] = w[i] * (v * inv)
		}
	}
}

// Seq is one sequence being processed: a KV cache per layer. It is used by
// one goroutine at a time.
type Seq struct {
	m      *Model
	caches []*attention.Cache
	nope   bool // keep pre-rotary keys (sparse use_nope)
	peak   int64
}

// NewSeq returns an empty sequence with room for capacity tokens (it grows
// beyond if needed). keepNoPE stores pre-rotary keys for modes that score
// blocks with them.
func (m *Model) NewSeq(capacity int, keepNoPE bool) *Seq {
	c := m.Cfg
	s := &Seq{m: m, nope: keepNoPE, caches: make([]*attention.Cache, c.Layers)}
	shape := attention.Shape{Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim}
	for i := range s.caches {
		s.caches[i] = attention.NewCache(shape, capacity)
	}
	return s
}

// Len is the number of tokens in the sequence.
func (s *Seq) Len() int { return s.caches[0].Len() }

// Bytes is the memory held by the caches now (keys, values and the modes'
// derived state), summed over layers.
func (s *Seq) Bytes() int64 {
	var n int64
	for _, c := range s.caches {
		n += c.Bytes()
	}
	return n
}

// PeakBytes is the largest Bytes seen after a forward call.
func (s *Seq) PeakBytes() int64 { return s.peak }

// Truncate drops tokens beyond n.
func (s *Seq) Truncate(n int) {
	for _, c := range s.caches {
		c.Truncate(n)
	}
}

// LogitsFunc receives the logits of token i of a forward call (vocab
// floats, valid only during the call).
type LogitsFunc func(i int, logits []float32) error

// Forward appends ids to the sequence and runs the model over them with
// attention mode mode, one forward call. want(i) says whether token i's
// logits are needed; onLogits receives them in order. st, if not nil,
// accumulates the attention statistics of every layer.
func (s *Seq) Forward(ctx context.Context, ids []int, mode attention.Mode, st *attention.Stats, want func(i int) bool, onLogits LogitsFunc) error {
	m := s.m
	c := m.Cfg
	n := len(ids)
	if n == 0 {
		return nil
	}
	pos0 := s.Len()
	if c.SlidingWindow > 0 && pos0+n > c.SlidingWindow {
		return fmt.Errorf("context of %d tokens exceeds the model's sliding_window %d, which the runtime does not implement", pos0+n, c.SlidingWindow)
	}
	for i, id := range ids {
		if id < 0 || id >= c.Vocab {
			return fmt.Errorf("token %d: id %d outside the vocabulary of %d", i, id, c.Vocab)
		}
	}
	h, qd, kvd := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	w := m.workers()
	x := make([]float32, n*h)
	for i, id := range ids {
		row := x[i*h : (i+1)*h]
		copy(row, m.embed[id*h:(id+1)*h])
		if c.ScaleEmb != 1 {
			se := float32(c.ScaleEmb)
			for j := range row {
				row[j] *= se
			}
		}
	}
	resScale := float32(1)
	if c.Arch == MiniCPM {
		resScale = float32(c.ScaleDepth / math.Sqrt(float64(c.Layers)))
	}
	rot := ropeFor(c, pos0+n).table(n, pos0)
	hn := make([]float32, n*h)
	q := make([]float32, n*qd)
	k := make([]float32, n*kvd)
	v := make([]float32, n*kvd)
	att := make([]float32, n*qd)
	proj := make([]float32, n*h)
	g := make([]float32, n*c.Intermediate)
	u := make([]float32, n*c.Intermediate)
	var qn, kn []float32
	if s.nope {
		qn = make([]float32, n*qd)
		kn = make([]float32, n*kvd)
	}
	for li := range m.layers {
		if err := ctx.Err(); err != nil {
			s.Truncate(pos0)
			return err
		}
		ly := &m.layers[li]
		rmsNorm(hn, x, ly.attnNorm, n, h, c.RMSEps)
		ly.q.forward(hn, n, q, w)
		ly.k.forward(hn, n, k, w)
		ly.v.forward(hn, n, v, w)
		if s.nope {
			copy(qn, q)
			copy(kn, k)
		}
		rot.apply(q, n, c.Heads)
		rot.apply(k, n, c.KVHeads)
		cache := s.caches[li]
		if err := cache.Append(k, v, kn); err != nil {
			s.Truncate(pos0)
			return fmt.Errorf("layer %d: %w", li, err)
		}
		if err := mode.Forward(cache, attention.Query{M: n, Q: q, QNoPE: qn}, att, st); err != nil {
			s.Truncate(pos0)
			return fmt.Errorf("layer %d attention: %w", li, err)
		}
		ly.o.forward(att, n, proj, w)
		addScaled(x, proj, resScale)
		rmsNorm(hn, x, ly.mlpNorm, n, h, c.RMSEps)
		ly.gate.forward(hn, n, g, w)
		ly.up.forward(hn, n, u, w)
		if w <= 1 || len(g) < 1<<14 {
			siluMul(g, u)
		} else {
			parallelChunks(len(g), w, 1, func(a, b int) { siluMul(g[a:b], u[a:b]) })
		}
		ly.down.forward(g, n, proj, w)
		addScaled(x, proj, resScale)
	}
	if b := s.Bytes(); b > s.peak {
		s.peak = b
	}
	if onLogits == nil {
		return nil
	}
	// Final norm and LM head, only for the wanted rows, in batches.
	const batch = 64
	rows := make([]int, 0, batch)
	hb := make([]float32, batch*h)
	lg := make([]float32, batch*c.Vocab)
	div := float32(1)
	if c.Arch == MiniCPM {
		div = float32(float64(c.Hidden) / float64(c.DimModelBase))
	}
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		for j, i := range rows {
			rmsNorm(hb[j*h:(j+1)*h], x[i*h:(i+1)*h], m.norm, 1, h, c.RMSEps)
			if div != 1 {
				for t := j * h; t < (j+1)*h; t++ {
					hb[t] /= div
				}
			}
		}
		m.head.forward(hb, len(rows), lg, w)
		for j, i := range rows {
			if err := onLogits(i, lg[j*c.Vocab:(j+1)*c.Vocab]); err != nil {
				return err
			}
		}
		rows = rows[:0]
		return nil
	}
	for i := 0; i < n; i++ {
		if want != nil && !want(i) {
			continue
		}
		rows = append(rows, i)
		if len(rows) == batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func addScaled(x, y []float32, s float32) {
	if s == 1 {
		for i, v := range y {
			x[i] += v
		}
		return
	}
	for i, v := range y {
		x[i] += v * s
	}
}

// siluMul computes g = silu(g) * u = g / (1 + e^-g) * u, with the kernels'
// float32 exponential (relative error below 2e-7).
func siluMul(g, u []float32) {
	u = u[:len(g)]
	for i, gv := range g {
		g[i] = gv / (1 + kernels.Exp2Generic(-gv*math.Log2E)) * u[i]
	}
}

// parallelChunks runs f over [0, n) split into one chunk per worker, each
// chunk a multiple of align (but the last), on goroutines.
func parallelChunks(n, workers, align int, f func(a, b int)) {
	chunk := (n + workers - 1) / workers
	chunk = (chunk + align - 1) / align * align
	var wg sync.WaitGroup
	for a := 0; a < n; a += chunk {
		wg.Add(1)
		go func(a, b int) {
			defer wg.Done()
			f(a, b)
		}(a, min(a+chunk, n))
	}
	wg.Wait()
}
