// Package attention holds the attention modes that evalctl measures, as
// reference implementations in plain Go float32 written for obvious
// correctness: dense causal attention, InfLLM-V2 block-sparse attention
// (../shared/docs/infllm-v2.md), switching between them on the total key
// length, a StreamingLLM-style baseline (init blocks plus a local window) and
// an oracle that selects the blocks carrying the most true attention mass.
//
// All modes share one interface, Mode, used both by the attention suite (raw
// q/k/v) and, later, by the model runtime inside every layer: a Forward call
// computes causal attention for the m newest tokens of a Cache, whose keys and
// values are already appended. A prefill over n tokens is one call with m = n
// on a cache of n tokens; a decode step is a call with m = 1 after appending
// one token; chunked prefill is anything in between. Every mode gives the same
// result for a token whichever way it is reached.
//
// Layout: token-major float32 slices. Queries of m tokens: q[(i*H+h)*d + x];
// keys and values of n tokens: k[(t*Hkv+g)*d + x]. Query head h belongs to
// KV group g = h / G with G = H / Hkv.
//
// These implementations are the test oracle for the fast kernels; keep them
// simple. Modes hold no mutable state (derived state lives in the Cache), so
// one Mode may serve several caches from several goroutines.
package attention

import (
	"fmt"
)

// Shape is the shape of one attention layer.
type Shape struct {
	Heads   int // query heads H
	KVHeads int // key/value heads Hkv; Heads must be a multiple
	HeadDim int // d
}

// Group returns the number of query heads per KV head, G = H / Hkv.
func (s Shape) Group() int { return s.Heads / s.KVHeads }

// Validate checks that the shape is usable.
func (s Shape) Validate() error {
	if s.Heads < 1 || s.KVHeads < 1 || s.HeadDim < 1 {
		return fmt.Errorf("attention: shape %+v: heads, kv_heads and head_dim must be >= 1", s)
	}
	if s.Heads%s.KVHeads != 0 {
		return fmt.Errorf("attention: shape %+v: heads %d is not a multiple of kv_heads %d", s, s.Heads, s.KVHeads)
	}
	return nil
}

// QSize is the number of floats of m query (or output) tokens.
func (s Shape) QSize(m int) int { return m * s.Heads * s.HeadDim }

// KVSize is the number of floats of n key (or value) tokens.
func (s Shape) KVSize(n int) int { return n * s.KVHeads * s.HeadDim }

// Cache holds the keys and values of one layer for positions [0, Len()).
// Modes may keep private derived state in it (compressed keys) through Aux.
// A Cache is used by one goroutine at a time.
type Cache struct {
	Shape Shape
	K, V  []float32 // Len()*KVHeads*HeadDim each, token-major
	// KNoPE optionally holds the keys before rotary embedding, same layout
	// as K; sparse attention with use_nope scores blocks with it.
	KNoPE []float32
	aux   map[any]any
}

// NewCache returns an empty cache with room for capacity tokens.
func NewCache(s Shape, capacity int) *Cache {
	n := s.KVSize(capacity)
	return &Cache{Shape: s, K: make([]float32, 0, n), V: make([]float32, 0, n)}
}

// Len is the number of tokens in the cache.
func (c *Cache) Len() int { return len(c.K) / (c.Shape.KVHeads * c.Shape.HeadDim) }

// Append adds tokens; k and v hold the same whole number of tokens.
// kNoPE may be nil; if the cache already holds pre-rotary keys it must not be.
func (c *Cache) Append(k, v, kNoPE []float32) error {
	row := c.Shape.KVHeads * c.Shape.HeadDim
	if len(k) != len(v) || len(k)%row != 0 {
		return fmt.Errorf("attention: Append: len(k)=%d len(v)=%d, want equal multiples of %d", len(k), len(v), row)
	}
	hasNoPE := len(c.KNoPE) > 0 || (c.Len() == 0 && kNoPE != nil)
	if hasNoPE && len(kNoPE) != len(k) {
		return fmt.Errorf("attention: Append: len(kNoPE)=%d, want %d", len(kNoPE), len(k))
	}
	c.K = append(c.K, k...)
	c.V = append(c.V, v...)
	if hasNoPE {
		c.KNoPE = append(c.KNoPE, kNoPE...)
	}
	return nil
}

// Truncate drops tokens beyond n (and any derived state beyond them).
func (c *Cache) Truncate(n int) {
	row := c.Shape.KVHeads * c.Shape.HeadDim
	c.K, c.V = c.K[:n*row], c.V[:n*row]
	if len(c.KNoPE) > 0 {
		c.KNoPE = c.KNoPE[:n*row]
	}
	c.aux = nil
}

// Bytes is the memory held by keys, values and derived state, in bytes.
func (c *Cache) Bytes() int64 {
	b := int64(len(c.K)+len(c.V)+len(c.KNoPE)) * 4
	for _, a := range c.aux {
		if s, ok := a.(interface{ Bytes() int64 }); ok {
			b += s.Bytes()
		}
	}
	return b
}

// Aux returns the mode-private state stored under key, creating it with
// mk on first use. Keys should be comparable values of an unexported type.
func (c *Cache) Aux(key any, mk func() any) any {
	if c.aux == nil {
		c.aux = map[any]any{}
	}
	a, ok := c.aux[key]
	if !ok {
		a = mk()
		c.aux[key] = a
	}
	return a
}

// Query holds the queries of the m newest tokens of a cache: positions
// Len()-M .. Len()-1.
type Query struct {
	M     int
	Q     []float32 // M*Heads*HeadDim
	QNoPE []float32 // optional pre-rotary queries, for use_nope scoring
}

// Stats accumulates what a mode did, by the cost model of
// ../shared/docs/infllm-v2.md. One Stats may be shared by many calls.
type Stats struct {
	Calls       int   // Forward calls
	DenseCalls  int   // calls answered by dense attention (switching reports both)
	SparseCalls int   // calls answered by block selection
	QueryTokens int64 // query tokens processed

	// FLOPs counts floating-point operations (2 per multiply-add) of the
	// cost model: QK and PV products over attended keys, plus stage-1
	// scoring over compressed keys (and coarse keys with lse=approx).
	FLOPs float64
	// KVBytes counts bytes of keys, values and compressed keys read, summed
	// over (query token, KV head) without credit for cache reuse: for a
	// decode step this is the memory traffic; for a prefill it is an upper
	// bound.
	KVBytes int64
	// Blocks and Tokens count attended key blocks and key tokens, summed
	// over (query token, KV head). VisibleTokens counts the causally
	// visible keys over the same pairs, so Tokens/VisibleTokens is the
	// attended fraction.
	Blocks, Tokens, VisibleTokens int64

	// When RecordSelection is set, Selected receives, for each query token
	// of each call in order and each KV head, the sorted block indices
	// attended: Selected[(callTokenOffset+i)*KVHeads + g]. Dense attention
	// records every block up to the query's own.
	RecordSelection bool
	Selected        [][]int32
}

// Mode is an attention mode.
type Mode interface {
	// Name is the mode's name ("dense", "sparse", ...).
	Name() string
	// Forward computes causal attention for the q.M newest tokens of c and
	// writes q.M*Heads*HeadDim floats to out. st may be nil.
	Forward(c *Cache, q Query, out []float32, st *Stats) error
}

// SparseConfig holds the InfLLM-V2 parameters; see DefaultSparse.
type SparseConfig struct {
	BlockSize    int    // B: key block size (64)
	KernelSize   int    // tokens per compressed key (32)
	KernelStride int    // step between compressed keys (16)
	InitBlocks   int    // first blocks always selected (1)
	LocalBlocks  int    // blocks before the query's own always selected (32)
	TopK         int    // total selected blocks per query token and KV head, forced included (96)
	LSE          string // "exact" or "approx"
	// ApproxKernelSize and ApproxKernelStride define the coarse kernels whose
	// scores give the log-sum-exp when LSE is "approx" (128, 64).
	ApproxKernelSize   int
	ApproxKernelStride int
	UseNoPE            bool // score with pre-rotary q/k (Query.QNoPE, Cache.KNoPE)
}

// DefaultSparse returns the MiniCPM4.1 defaults.
func DefaultSparse() SparseConfig {
	return SparseConfig{
		BlockSize: 64, KernelSize: 32, KernelStride: 16,
		InitBlocks: 1, LocalBlocks: 32, TopK: 96, LSE: "exact",
		ApproxKernelSize: 128, ApproxKernelStride: 64,
	}
}

// Validate checks the configuration, naming the bad field and value.
func (c SparseConfig) Validate() error {
	pos := func(name string, v int) error {
		if v < 1 {
			return fmt.Errorf("sparse: %s = %d: must be >= 1", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		n string
		v int
	}{{"block_size", c.BlockSize}, {"kernel_size", c.KernelSize}, {"kernel_stride", c.KernelStride}, {"topk", c.TopK}} {
		if err := pos(f.n, f.v); err != nil {
			return err
		}
	}
	if c.InitBlocks < 0 || c.LocalBlocks < 0 {
		return fmt.Errorf("sparse: init_blocks = %d, local_blocks = %d: must be >= 0", c.InitBlocks, c.LocalBlocks)
	}
	if c.BlockSize%c.KernelStride != 0 {
		return fmt.Errorf("sparse: block_size %d must be a multiple of kernel_stride %d", c.BlockSize, c.KernelStride)
	}
	if c.KernelSize < c.KernelStride {
		return fmt.Errorf("sparse: kernel_size %d must be >= kernel_stride %d", c.KernelSize, c.KernelStride)
	}
	// The first two tests keep the sum below from overflowing.
	if forced := c.InitBlocks + c.LocalBlocks + 1; c.InitBlocks >= c.TopK || c.LocalBlocks >= c.TopK || c.TopK < forced {
		return fmt.Errorf("sparse: topk = %d: must be >= init_blocks + local_blocks + 1 = %d (the forced blocks); lower local_blocks or raise topk", c.TopK, forced)
	}
	switch c.LSE {
	case "exact":
	case "approx":
		if err := pos("approx_kernel_size", c.ApproxKernelSize); err != nil {
			return err
		}
		if err := pos("approx_kernel_stride", c.ApproxKernelStride); err != nil {
			return err
		}
	default:
		return fmt.Errorf("sparse: lse = %q: accepted: exact, approx", c.LSE)
	}
	return nil
}
