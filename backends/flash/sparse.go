package flash

import (
	"fmt"
	"math"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
)

// Sparse is fast InfLLM-V2 block-sparse attention.
type Sparse struct {
	cfg     attention.SparseConfig
	threads int
}

// NewSparse returns fast InfLLM-V2 sparse attention with cfg (validated as
// attention.NewSparse does), on threads goroutines (0: all).
func NewSparse(cfg attention.SparseConfig, threads int) (*Sparse, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("flash: %w", err)
	}
	return &Sparse{cfg: cfg, threads: threads}, nil
}

// Name implements attention.Mode.
func (m *Sparse) Name() string { return "sparse" }

// Forward implements attention.Mode.
func (m *Sparse) Forward(c *attention.Cache, q attention.Query, out []float32, st *attention.Stats) error {
	if err := attention.CheckForward(m.Name(), c, q, out, m.cfg.UseNoPE); err != nil {
		return err
	}
	cl := newCall(c, q, out)
	sc := newScorer(cl, m.cfg)
	if q.M >= superTok/2 && blockMajor {
		runBlockMajor(cl, m.threads, m.cfg.BlockSize, sc, transposedFor(c), st)
		return nil
	}
	runSparse(cl, m.threads, m.cfg.BlockSize, st, func(w *worker, g, i0, i1 int, sel [][]int32, info []selInfo) {
		sc.choose(w, g, i0, i1, sel, info)
	})
	return nil
}

// selInfo is what choosing one token's blocks cost: kernels and coarse
// kernels scored.
type selInfo struct{ nk, nc int }

// chooser fills sel[ti] (sorted block ids) and info[ti] for the tokens
// [i0, i1) of a tile and KV head g.
type chooser func(w *worker, g, i0, i1 int, sel [][]int32, info []selInfo)

// runSparse computes the attention of each tile's tokens over their selected
// blocks, and adds the statistics. A tile whose tokens mostly share blocks
// (as a local window does) attends to the union of its tokens' blocks, each
// token masked to its own, in full-width tile products; otherwise (and for
// a single token, a decode step) each token attends alone with its G query
// heads as the rows of small products against the transposed keys.
func runSparse(cl *call, threads, blockSize int, st *attention.Stats, choose chooser) {
	tiles := cl.tiles()
	type tileSel struct {
		sel  [][]int32
		info []selInfo
	}
	var record []tileSel // per task, when statistics are wanted
	if st != nil {
		record = make([]tileSel, cl.hkv*tiles)
	}
	kt := transposedFor(cl.c)
	parallel(cl, threads, cl.hkv*tiles, func(w *worker, k int) {
		g, tile := k%cl.hkv, k/cl.hkv
		i0, i1 := cl.tile(tile)
		T := i1 - i0
		sel := w.sel.lists(T)
		info := w.sel.infos(T)
		choose(w, g, i0, i1, sel, info)
		// skip[j]: tokens that did not select block j.
		last := cl.base + i1 - 1
		nb := last/blockSize + 1
		use := w.sel.useMask(nb)
		for ti, s := range sel {
			for _, j := range s {
				use[j] |= 1 << ti
			}
		}
		union, total := 0, 0
		for j := 0; j < nb; j++ {
			if use[j] != 0 {
				union++
			}
		}
		for _, s := range sel {
			total += len(s)
		}
		perToken := T == 1 || 2*union*T > 3*total
		switch forcePath {
		case pathUnion:
			perToken = false
		case pathPerToken:
			perToken = true
		}
		if perToken {
			for ti := range sel {
				w.attendToken(cl, kt, g, i0+ti, sel[ti], blockSize)
			}
		} else {
			all := uint64(1)<<T - 1
			if T == 64 {
				all = ^uint64(0)
			}
			w.packQ(cl, cl.q, w.qt, g, i0, i1)
			w.reset()
			for j := 0; j < nb; j++ {
				if use[j] == 0 {
					continue
				}
				j0 := j * blockSize
				bc := min(blockSize, last+1-j0)
				for off := 0; off < bc; off += kvTile {
					w.attendKeys(cl, g, j0+off, min(kvTile, bc-off), i0, i1, all&^use[j])
				}
			}
			w.writeOut(cl, g, i0, i1)
		}
		if record != nil {
			cp := make([][]int32, T)
			for ti := range sel {
				cp[ti] = append([]int32(nil), sel[ti]...)
			}
			record[k] = tileSel{cp, append([]selInfo(nil), info...)}
		}
	})
	if st == nil {
		return
	}
	sel := make([][]int32, cl.m*cl.hkv)
	info := make([]selInfo, cl.m*cl.hkv)
	for i := 0; i < cl.m; i++ {
		tile, ti := i/cl.tileTok, i%cl.tileTok
		for kv := 0; kv < cl.hkv; kv++ {
			ts := record[tile*cl.hkv+kv]
			sel[i*cl.hkv+kv], info[i*cl.hkv+kv] = ts.sel[ti], ts.info[ti]
		}
	}
	addSparseStats(cl, blockSize, st, sel, info)
}

// forcePath overrides the choice between the union and per-token paths,
// for tests; blockMajor turns the block-major prefill on.
var (
	forcePath  int
	blockMajor = true
)

const (
	pathAuto = iota
	pathUnion
	pathPerToken
)

// selScratch is a worker's reusable selection space.
type selScratch struct {
	sel    [][]int32
	info   []selInfo
	use    []uint64
	s1     []float32 // kernel scores tile
	s2     []float32 // coarse scores tile
	m1     []float32
	l1     []float32
	m2     []float32
	l2     []float32
	inv    []float32 // per column: normaliser of the kernel probabilities
	sg     []float32 // group-summed kernel probabilities, per kernel x token
	cand   []int32   // one token's candidate blocks
	bs     []float32 // block scores, block x token
	vals   []float32 // one token's candidate scores
	tmp    []float32
	picked []int32
	qs     []float32 // packed scoring queries
}

// grow returns s resized to n, reallocating with a quarter to spare so that
// a buffer that grows a little per tile is reallocated O(log n) times, not
// per tile.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, cap(s)+cap(s)/4))
	}
	return s[:n]
}

// growTo is grow, except that a reallocation makes room for limit
// elements at once: the call's largest need, known up front, so buffers
// that grow along a prefill are allocated once per call, not repeatedly.
func growTo[T any](s []T, n, limit int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, limit))
	}
	return s[:n]
}

func (s *selScratch) lists(n int) [][]int32 {
	for len(s.sel) < n {
		s.sel = append(s.sel, nil)
	}
	for i := range s.sel[:n] {
		s.sel[i] = s.sel[i][:0]
	}
	return s.sel[:n]
}

func (s *selScratch) infos(n int) []selInfo {
	s.info = grow(s.info, n)
	clear(s.info)
	return s.info
}

func (s *selScratch) useMask(nb int) []uint64 {
	s.use = grow(s.use, nb)
	clear(s.use)
	return s.use
}

// scorer implements InfLLM-V2 block selection for whole tiles.
type scorer struct {
	cl               *call
	cfg              attention.SparseConfig
	kc, kcc          [][]float32 // compressed and coarse keys per KV head
	kcT, kccT        *transposed // the same, transposed
	nKernels, nCoars int
}

func newScorer(cl *call, cfg attention.SparseConfig) *scorer {
	sc := &scorer{cl: cl, cfg: cfg}
	// Everything that touches the cache's Aux state happens here, before
	// the workers start: the cache is not safe for concurrent mutation.
	sc.kc, sc.nKernels = attention.CompressedKeys(cl.c, cfg.KernelSize, cfg.KernelStride, cfg.UseNoPE)
	sc.kcT, _ = transposedKernels(cl.c, cfg.KernelSize, cfg.KernelStride, cfg.UseNoPE)
	if cfg.LSE == "approx" {
		sc.kcc, sc.nCoars = attention.CompressedKeys(cl.c, cfg.ApproxKernelSize, cfg.ApproxKernelStride, cfg.UseNoPE)
		sc.kccT, _ = transposedKernels(cl.c, cfg.ApproxKernelSize, cfg.ApproxKernelStride, cfg.UseNoPE)
	}
	return sc
}

// scores computes the masked base-2 logits of the first nv(t) rows of keys
// (count x d, contiguous) for every column of the tile, then folds them
// into (m, l); s ends holding 2^(logit - m).
func scoreTile(cl *call, qt []float32, keys []float32, count, size, stride, i0, i1 int, s, m, l []float32) {
	cols := cl.cols
	for i := range m {
		m[i] = masked
	}
	clear(l)
	if count == 0 {
		return
	}
	kernels.GemmNN(count, cols, cl.d, keys, cl.d, qt, cols, s, cols, false)
	T := i1 - i0
	for ti := 0; ti < T; ti++ {
		nv := attention.VisibleCount(cl.base+i0+ti+1, size, stride)
		for i := nv; i < count; i++ {
			for a := 0; a < cl.g; a++ {
				s[i*cols+a*T+ti] = masked // columns are head-major
			}
		}
	}
	// Padding columns: keep them out of the statistics.
	for i := 0; i < count; i++ {
		row := s[i*cols+(i1-i0)*cl.g : (i+1)*cols]
		for x := range row {
			row[x] = masked
		}
	}
	kernels.OnlineSoftmax(s, count, cols, cols, m, l, nil, 0, cols)
}

// choose selects the blocks of tokens [i0, i1) for KV head g, following
// steps 1-5 of the spec for each token; the stage-1 products of the whole
// tile are one matrix product and one online softmax.
func (sc *scorer) choose(w *worker, g, i0, i1 int, sel [][]int32, info []selInfo) {
	cl, cfg := sc.cl, sc.cfg
	T := i1 - i0
	ss := &w.sel
	last := cl.base + i1 - 1
	nkMax := attention.VisibleCount(last+1, cfg.KernelSize, cfg.KernelStride)
	ncMax := 0
	if sc.kcc != nil {
		ncMax = attention.VisibleCount(last+1, cfg.ApproxKernelSize, cfg.ApproxKernelStride)
	}
	if T == 1 {
		// One token (a decode step): its G heads as rows against the
		// transposed compressed keys, so no vector lane is wasted.
		sc.groupScoresToken(w, g, i0, nkMax, ncMax)
	} else {
		sc.groupScoresTile(w, g, i0, i1, nkMax, ncMax)
	}

	// Step 3 for the whole tile: block scores bs[j][ti] = max of the group
	// sums over the block's pool window, rows of T tokens at a time.
	// Kernels a token cannot see have probability 0 and never raise a
	// maximum of probabilities; a block none of whose kernels is visible is
	// dropped per token below.
	r := cfg.BlockSize / cfg.KernelStride
	nbMax := last/cfg.BlockSize + 1
	ss.bs = growTo(ss.bs, nbMax*T, (cl.n/cfg.BlockSize+1)*cl.tileTok)
	for j := 0; j < nbMax; j++ {
		dst := ss.bs[j*T : (j+1)*T]
		lo, hi := max(j*r-1, 0), min(j*r+r-1, nkMax-1)
		if lo > hi {
			for x := range dst {
				dst[x] = float32(math.Inf(-1))
			}
			continue
		}
		kernels.MaxRows(dst, ss.sg[lo*T:(hi+1)*T], hi-lo+1, T)
	}
	// Steps 4-5 per token: forced blocks, then the best scored ones.
	for ti := 0; ti < T; ti++ {
		t := cl.base + i0 + ti
		nk := attention.VisibleCount(t+1, cfg.KernelSize, cfg.KernelStride)
		nc := 0
		if nk > 0 && sc.kcc != nil {
			nc = attention.VisibleCount(t+1, cfg.ApproxKernelSize, cfg.ApproxKernelStride)
		}
		info[ti] = selInfo{nk, nc}
		bq := t / cfg.BlockSize
		ss.vals, ss.cand = ss.vals[:0], ss.cand[:0]
		forced := 0
		for j := 0; j <= bq; j++ {
			if j < cfg.InitBlocks || j >= bq-cfg.LocalBlocks {
				forced++
				continue
			}
			if max(j*r-1, 0) >= nk { // no visible kernel: score -inf, dropped
				continue
			}
			ss.cand = append(ss.cand, int32(j))
			ss.vals = append(ss.vals, ss.bs[j*T+ti])
		}
		ss.picked = selectTop(ss.picked[:0], ss.vals, ss.cand, cfg.TopK-forced, &ss.tmp)
		// Merge the forced blocks and the picked ones, both ascending.
		out := sel[ti][:0]
		p := 0
		for j := 0; j <= bq; j++ {
			if j < cfg.InitBlocks || j >= bq-cfg.LocalBlocks {
				out = append(out, int32(j))
			} else if p < len(ss.picked) && ss.picked[p] == int32(j) {
				out = append(out, int32(j))
				p++
			}
		}
		sel[ti] = out
	}
}

// groupScoresTile fills w.sel.sg (nkMax x T) with the group-summed
// stage-1 probabilities of tokens [i0, i1), as one tile product.
func (sc *scorer) groupScoresTile(w *worker, g, i0, i1, nkMax, ncMax int) {
	cl, cfg, ss := sc.cl, sc.cfg, &w.sel
	cols, G, T := cl.cols, cl.g, i1-i0
	src := cl.q
	if cfg.UseNoPE {
		src = cl.qs
	}
	ss.qs = grow(ss.qs, cl.d*cols)
	packQHeadMajor(cl, src, ss.qs, g, i0, i1)
	ss.s1 = growTo(ss.s1, nkMax*cols, sc.nKernels*cols)
	ss.m1, ss.l1 = grow(ss.m1, cols), grow(ss.l1, cols)
	scoreTile(cl, ss.qs, sc.kc[g], nkMax, cfg.KernelSize, cfg.KernelStride, i0, i1, ss.s1, ss.m1, ss.l1)
	ss.inv = grow(ss.inv, cols)
	for r := range ss.inv {
		ss.inv[r] = 0
		if ss.l1[r] > 0 {
			ss.inv[r] = 1 / ss.l1[r]
		}
	}
	if ncMax > 0 {
		ss.s2 = growTo(ss.s2, ncMax*cols, sc.nCoars*cols)
		ss.m2, ss.l2 = grow(ss.m2, cols), grow(ss.l2, cols)
		scoreTile(cl, ss.qs, sc.kcc[g], ncMax, cfg.ApproxKernelSize, cfg.ApproxKernelStride, i0, i1, ss.s2, ss.m2, ss.l2)
		for r := range ss.inv {
			// Normalise by the coarse kernels' sum where one is visible:
			// p = 2^(s - m1) * 2^(m1 - m2) / l2.
			if ss.l2[r] > 0 && ss.l1[r] > 0 {
				ss.inv[r] = kernels.Exp2Generic(ss.m1[r]-ss.m2[r]) / ss.l2[r]
			}
		}
	}
	ss.sg = growTo(ss.sg, nkMax*T, sc.nKernels*cl.tileTok)
	kernels.GroupSum(ss.sg, ss.s1, ss.inv, nkMax, T, G, cols)

}

// groupScoresToken fills w.sel.sg (nkMax x 1) for the one token i0.
func (sc *scorer) groupScoresToken(w *worker, g, i0, nkMax, ncMax int) {
	cl, cfg, ss := sc.cl, sc.cfg, &w.sel
	d, G := cl.d, cl.g
	src := cl.q
	if cfg.UseNoPE {
		src = cl.qs
	}
	ss.qs = grow(ss.qs, G*d)
	for a := 0; a < G; a++ {
		row := src[(i0*cl.h+g*G+a)*d : (i0*cl.h+g*G+a+1)*d]
		for x, v := range row {
			ss.qs[a*d+x] = v * cl.scale
		}
	}
	ss.sg = grow(ss.sg, nkMax)
	clear(ss.sg)
	if nkMax == 0 {
		return
	}
	ld := (nkMax + 15) / 16 * 16
	ss.s1 = grow(ss.s1, G*ld)
	rowScores(sc.kcT, g, ss.qs, G, d, nkMax, ss.s1, ld)
	var ldc int
	if ncMax > 0 {
		ldc = (ncMax + 15) / 16 * 16
		ss.s2 = grow(ss.s2, G*ldc)
		rowScores(sc.kccT, g, ss.qs, G, d, ncMax, ss.s2, ldc)
	}
	for a := 0; a < G; a++ {
		m1, l1 := kernels.RowSoftmax(ss.s1[a*ld : (a+1)*ld])
		if l1 == 0 {
			continue
		}
		inv := 1 / l1
		if ncMax > 0 {
			if m2, l2 := kernels.RowSoftmax(ss.s2[a*ldc : (a+1)*ldc]); l2 > 0 {
				inv = kernels.Exp2Generic(m1-m2) / l2
			}
		}
		row := ss.s1[a*ld : a*ld+nkMax]
		for i, p := range row {
			ss.sg[i] += p * inv
		}
	}
}

// packQHeadMajor fills qt with the scaled queries of tokens [i0, i1) and KV
// head g, columns ordered head-major (column a*T + ti for head a of the
// group and token i0+ti), for the scoring tile whose group sum then reads
// contiguous columns; padding columns are zero.
func packQHeadMajor(cl *call, src, qt []float32, g, i0, i1 int) {
	clear(qt)
	d, cols, T := cl.d, cl.cols, i1-i0
	for i := i0; i < i1; i++ {
		for a := 0; a < cl.g; a++ {
			r := a*T + i - i0
			row := src[(i*cl.h+g*cl.g+a)*d : (i*cl.h+g*cl.g+a+1)*d]
			for x, v := range row {
				qt[x*cols+r] = v * cl.scale
			}
		}
	}
}
