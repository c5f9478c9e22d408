package attention

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// sparse is InfLLM-V2 block-sparse attention (../shared/docs/infllm-v2.md).
type sparse struct {
	cfg SparseConfig
}

// NewSparse returns InfLLM-V2 block-sparse attention with configuration
// cfg, exactly as ../shared/docs/infllm-v2.md states it. For query token t
// and KV head g with query heads h of its group:
//
//  1. Compressed keys: kernel i = mean of K over [stride*i, stride*i+size),
//     full kernels only, kept in the Cache's Aux state and extended when the
//     cache grows (Cache.Truncate drops them).
//  2. Stage 1: p_h(i) = exp(q_h·kc_i/sqrt(d) - L_h) over the kernels visible
//     to t (stride*i+size <= t+1), with L_h the log-sum-exp of those same
//     logits (lse "exact": a softmax) or, with lse "approx", of the logits
//     of the visible coarse kernels (mean of K over
//     [ApproxKernelStride*j, ApproxKernelStride*j+ApproxKernelSize), visible
//     iff its last token <= t). s(i) = sum of p_h(i) over the G heads.
//  3. Block score(j) = max of s(i) over the visible kernels i in
//     [j*r-1, j*r+r-1], r = BlockSize/KernelStride (for the defaults,
//     kernels 4j-1..4j+3); -Inf when none is visible.
//  4. Forced blocks, j < InitBlocks or t/B-LocalBlocks <= j <= t/B, score +Inf.
//  5. The TopK highest-scoring blocks among 0..t/B are selected; blocks
//     scoring -Inf are dropped.
//  6. Output: one softmax over the keys of the selected blocks at positions
//     <= t, for each query head of the group (the group shares the
//     selection).
//
// Decisions the document leaves open:
//
//   - Ties: blocks of equal score rank by lower block index first; forced
//     blocks rank above every scored block, even one whose score overflowed
//     to +Inf, so they are always selected (Validate ensures TopK >= their
//     number). A NaN score (only from NaN or Inf inputs) counts as -Inf.
//   - lse "approx" before the first coarse kernel is complete (t+1 <
//     ApproxKernelSize): the coarse log-sum-exp does not exist yet, so the
//     exact normaliser of step 2 is used; short prefixes then select as
//     lse "exact" does. Such calls count no coarse-kernel cost.
//   - Kernels of size > BlockSize can leave early blocks with no visible
//     kernel; they are dropped (step 5) even when TopK covers every block,
//     so sparse equals dense for TopK >= t/B+1 only when KernelSize <=
//     BlockSize (true for the defaults).
//   - With UseNoPE, stages 1-3 use Query.QNoPE and Cache.KNoPE (Forward
//     fails without them); step 6 uses Q and K.
//
// Statistics per (query token t, KV head), with nk visible kernels and nc
// visible coarse kernels used (0 with lse "exact", and while no kernel or no
// coarse kernel is visible yet), T keys attended in b blocks: FLOPs 2*G*(d*(nk+nc) + 2*d*T); KVBytes 4*d*(2*T + nk + nc);
// Blocks b, Tokens T, VisibleTokens t+1. Each call counts as a SparseCall.
func NewSparse(cfg SparseConfig) (Mode, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("attention: %w", err)
	}
	return &sparse{cfg: cfg}, nil
}

func (m *sparse) Name() string { return "sparse" }

func (m *sparse) String() string { return "sparse(" + m.cfg.describe() + ")" }

// describe lists every parameter, in the document's names.
func (c SparseConfig) describe() string {
	s := fmt.Sprintf("block_size=%d kernel_size=%d kernel_stride=%d init_blocks=%d local_blocks=%d topk=%d lse=%s",
		c.BlockSize, c.KernelSize, c.KernelStride, c.InitBlocks, c.LocalBlocks, c.TopK, c.LSE)
	if c.LSE == "approx" {
		s += fmt.Sprintf(" approx_kernel_size=%d approx_kernel_stride=%d", c.ApproxKernelSize, c.ApproxKernelStride)
	}
	return s + fmt.Sprintf(" use_nope=%t", c.UseNoPE)
}

func (m *sparse) Forward(c *Cache, q Query, out []float32, st *Stats) error {
	if err := checkForward(m.Name(), c, q, out, m.cfg.UseNoPE); err != nil {
		return err
	}
	m.forward(c, q, out, st)
	return nil
}

// selector holds the compressed keys and scratch space of block selection
// for one Forward call.
type selector struct {
	cfg          SparseConfig
	comp, coarse *compressed // coarse only with lse "approx"
	s, z, zc     []float64   // kernel scores s(i); one head's kernel and coarse logits
	score        []float64   // block scores
	forced       []bool
	cand         []int32
}

func newSelector(c *Cache, cfg SparseConfig) *selector {
	sel := &selector{cfg: cfg}
	sel.comp = compressedFor(c, compKey{cfg.KernelSize, cfg.KernelStride, cfg.UseNoPE})
	if cfg.LSE == "approx" {
		sel.coarse = compressedFor(c, compKey{cfg.ApproxKernelSize, cfg.ApproxKernelStride, cfg.UseNoPE})
	}
	return sel
}

// logsumexp returns log(sum(exp(x))) of a non-empty slice.
func logsumexp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(m, 0) || math.IsNaN(m) {
		return m
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(v - m)
	}
	return m + math.Log(sum)
}

// kernelLogits fills dst with q·kc_i*scale for the n first kernels kc.
func kernelLogits(dst []float64, q []float64, kc []float32, n int, scale float64) []float64 {
	d := len(q)
	dst = slices.Grow(dst[:0], n)[:n]
	for i := range dst {
		dst[i] = dot(q, kc[i*d:(i+1)*d]) * scale
	}
	return dst
}

// choose selects the blocks of query token t and KV head g; the scoring
// queries of the group must be in w.qd. It returns the sorted selected
// blocks and the numbers of kernels and coarse kernels scored.
func (sl *selector) choose(w *worker, g, t int) (sel []int32, nk, nc int) {
	cfg := sl.cfg
	d := w.s.HeadDim

	// Steps 1-2: stage-1 scores s(i) of the visible kernels.
	nk = visibleCount(t+1, cfg.KernelSize, cfg.KernelStride)
	if nk > 0 && sl.coarse != nil {
		nc = visibleCount(t+1, cfg.ApproxKernelSize, cfg.ApproxKernelStride)
	}
	sl.s = slices.Grow(sl.s[:0], nk)[:nk]
	clear(sl.s)
	if nk > 0 {
		kc := sl.comp.head(g, nk)
		for a := 0; a < w.g; a++ {
			qa := w.qd[a*d : (a+1)*d]
			sl.z = kernelLogits(sl.z, qa, kc, nk, w.scale)
			var lse float64
			if nc > 0 {
				sl.zc = kernelLogits(sl.zc, qa, sl.coarse.head(g, nc), nc, w.scale)
				lse = logsumexp(sl.zc)
			} else {
				// lse "exact", or "approx" before the first coarse kernel
				// is complete: the kernels' own normaliser.
				lse = logsumexp(sl.z)
			}
			for i, z := range sl.z {
				sl.s[i] += math.Exp(z - lse)
			}
		}
	}

	// Steps 3-4: block scores, forced blocks.
	bq := t / cfg.BlockSize
	r := cfg.BlockSize / cfg.KernelStride
	sl.score = slices.Grow(sl.score[:0], bq+1)[:bq+1]
	sl.forced = slices.Grow(sl.forced[:0], bq+1)[:bq+1]
	sl.cand = sl.cand[:0]
	for j := 0; j <= bq; j++ {
		if j < cfg.InitBlocks || j >= bq-cfg.LocalBlocks {
			sl.score[j], sl.forced[j] = math.Inf(1), true
			sl.cand = append(sl.cand, int32(j))
			continue
		}
		sl.forced[j] = false
		lo, hi := max(j*r-1, 0), min(j*r+r-1, nk-1)
		best := math.Inf(-1)
		for i := lo; i <= hi; i++ {
			best = max(best, sl.s[i])
		}
		sl.score[j] = best
		if math.IsInf(best, -1) || math.IsNaN(best) {
			continue
		}
		sl.cand = append(sl.cand, int32(j))
	}

	// Step 5: top-k; ties go to the lower block index.
	sel = sl.cand
	if len(sel) > cfg.TopK {
		slices.SortFunc(sel, func(a, b int32) int {
			if fa, fb := sl.forced[a], sl.forced[b]; fa != fb {
				if fa {
					return -1
				}
				return 1
			}
			if sa, sb := sl.score[a], sl.score[b]; sa != sb {
				if sa > sb {
					return -1
				}
				return 1
			}
			return cmp.Compare(a, b)
		})
		sel = sel[:cfg.TopK]
		slices.Sort(sel)
	}
	return sel, nk, nc
}

// forward runs a validated call.
func (m *sparse) forward(c *Cache, q Query, out []float32, st *Stats) {
	s := c.Shape
	w := newWorker(s)
	sl := newSelector(c, m.cfg)
	ty := newTally(st, s)
	d := s.HeadDim
	n, qs := c.Len(), s.Heads*d
	scoreQ := q.Q
	if m.cfg.UseNoPE {
		scoreQ = q.QNoPE
	}
	for i := 0; i < q.M; i++ {
		t := n - q.M + i
		for g := 0; g < s.KVHeads; g++ {
			w.loadQ(scoreQ[i*qs:(i+1)*qs], g)
			sel, nk, nc := sl.choose(w, g, t)
			w.spans = blockSpans(w.spans, sel, m.cfg.BlockSize, t+1)
			T := w.attend(c, q.Q[i*qs:(i+1)*qs], g, w.spans, out[i*qs:(i+1)*qs])
			ty.pair(int64(len(sel)), int64(T), int64(t+1), int64(d*(nk+nc)), int64(nk+nc))
			ty.record(sel)
		}
	}
	ty.done(q.M, false)
}

// switching answers each Forward call densely or sparsely by the total key
// length.
type switching struct {
	denseLen int
	sp       *sparse
	dn       *dense
}

// NewSwitching returns InfLLM-V2 dense-sparse switching: each Forward call
// whose total key length c.Len() (cache plus new tokens) is below denseLen
// runs dense attention, any other runs NewSparse(cfg); denseLen = -1 means
// always sparse. The choice is made per call, so a prompt prefilled densely
// switches to sparse on the decode step whose length reaches denseLen (the
// compressed keys of the whole cache are then computed once, and extended
// from there). Unlike the other modes, a token's output can therefore
// depend on how it is reached: prefilled in one call of length >= denseLen
// it is sparse, decoded at a shorter length it is dense. Dense calls count as DenseCalls and use cfg.BlockSize for
// their Blocks and Selected statistics; sparse calls as SparseCalls. With
// cfg.UseNoPE, every call requires the pre-rotary queries and keys.
func NewSwitching(denseLen int, cfg SparseConfig) (Mode, error) {
	if denseLen < -1 {
		return nil, fmt.Errorf("attention: switching: dense_len = %d: must be >= 0, or -1 for always sparse", denseLen)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("attention: %w", err)
	}
	return &switching{denseLen: denseLen, sp: &sparse{cfg: cfg}, dn: &dense{blockSize: cfg.BlockSize}}, nil
}

func (m *switching) Name() string { return "switching" }

func (m *switching) String() string {
	return fmt.Sprintf("switching(dense_len=%d %s)", m.denseLen, m.sp.cfg.describe())
}

func (m *switching) Forward(c *Cache, q Query, out []float32, st *Stats) error {
	if err := checkForward(m.Name(), c, q, out, m.sp.cfg.UseNoPE); err != nil {
		return err
	}
	if m.denseLen >= 0 && c.Len() < m.denseLen {
		m.dn.forward(c, q, out, st)
	} else {
		m.sp.forward(c, q, out, st)
	}
	return nil
}
