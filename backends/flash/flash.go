// Package flash holds the fast implementations of the attention modes of
// package attention: the same functions (the reference implementations
// there are the test oracle), computed with tiled kernels and online softmax
// in the style of FlashAttention, on all cores.
//
// The engine works on one KV head g and one query tile at a time: the G
// query heads of g for a run of consecutive query tokens, packed as the
// columns of a transposed tile (so the per-query softmax statistics run
// along vector lanes). For each key block it computes S^T = K_blk · Q_t
// (kernels.GemmNN), masks what the query may not see (causal order, and in
// sparse modes the blocks a token did not select), folds the tile into the
// running max/sum/output (kernels.OnlineSoftmax) and accumulates
// O^T += V_blk^T · P^T (kernels.GemmTN). No n x n matrix exists: memory is
// O(tile) per worker besides the inputs and outputs.
//
// Sparse modes select blocks per query token and KV group exactly as
// InfLLM-V2 specifies (see package attention): stage-1 scores of a whole
// tile are one matrix product with the compressed keys plus one online
// softmax; the group sum, max-pool and partial top-k follow. The tile then
// attends to the union of its tokens' blocks, each token masked to its own.
package flash

import (
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
)

// kvTile is the number of keys per step of the dense kernel.
const kvTile = 128

// masked is the score of a masked entry.
const masked = kernels.Masked

// call holds the geometry of one Forward call.
type call struct {
	c       *attention.Cache
	d, h    int // head dim, query heads
	hkv, g  int // KV heads, query heads per KV head
	n, m    int // cache length, query tokens
	base    int // position of the first query token: n - m
	q, qs   []float32
	out     []float32
	tileTok int // query tokens per tile
	cols    int // tile columns: tileTok*g rounded up to a multiple of 16
	scale   float32
}

func newCall(c *attention.Cache, q attention.Query, out []float32) *call {
	s := c.Shape
	g := s.Group()
	tt := max(1, 64/g)
	tt = min(tt, q.M)
	cols := (tt*g + 15) / 16 * 16
	return &call{
		c: c, d: s.HeadDim, h: s.Heads, hkv: s.KVHeads, g: g,
		n: c.Len(), m: q.M, base: c.Len() - q.M, q: q.Q, qs: q.QNoPE, out: out,
		tileTok: tt, cols: cols,
		scale: float32(math.Log2E / math.Sqrt(float64(s.HeadDim))),
	}
}

// tiles returns the number of query tiles.
func (cl *call) tiles() int { return (cl.m + cl.tileTok - 1) / cl.tileTok }

// tile returns the query token range [i0, i1) of tile k (0-based in q).
func (cl *call) tile(k int) (i0, i1 int) {
	i0 = k * cl.tileTok
	return i0, min(i0+cl.tileTok, cl.m)
}

// worker holds one goroutine's scratch space.
type worker struct {
	d, cols int       // the tile geometry its buffers were made for
	qt, ot  []float32 // d x cols: packed scaled queries, unnormalised outputs
	st      []float32 // score tile
	mx, l   []float32 // cols
	sel     selScratch
	tok     tokenScratch
	super   superScratch
}

// workers keeps scratch space between calls: a decode step is short
// enough that allocating and clearing fresh buffers would show.
var workers sync.Pool

// getWorker returns a worker whose tile buffers fit cl.
func getWorker(cl *call) *worker {
	if w, ok := workers.Get().(*worker); ok && w.d == cl.d && w.cols == cl.cols {
		return w
	}
	return newWorker(cl)
}

func newWorker(cl *call) *worker {
	w := &worker{
		d: cl.d, cols: cl.cols,
		qt: make([]float32, cl.d*cl.cols),
		ot: make([]float32, cl.d*cl.cols),
		st: make([]float32, kvTile*cl.cols),
		mx: make([]float32, cl.cols),
		l:  make([]float32, cl.cols),
	}
	return w
}

// packQ fills w.qt with the scaled queries of tokens [i0, i1) and KV head
// g from src (q or qNoPE): qt[x][r] with r = (i-i0)*G + head-in-group;
// padding columns are zero.
func (w *worker) packQ(cl *call, src []float32, qt []float32, g, i0, i1 int) {
	clear(qt)
	d, cols := cl.d, cl.cols
	for i := i0; i < i1; i++ {
		for a := 0; a < cl.g; a++ {
			r := (i-i0)*cl.g + a
			row := src[(i*cl.h+g*cl.g+a)*d : (i*cl.h+g*cl.g+a+1)*d]
			for x, v := range row {
				qt[x*cols+r] = v * cl.scale
			}
		}
	}
}

// reset starts the online softmax of a tile.
func (w *worker) reset() {
	for i := range w.mx {
		w.mx[i] = masked
	}
	clear(w.l)
	clear(w.ot)
}

// attendKeys folds keys [j0, j0+bc) of KV head g into the tile state. The
// causal mask is applied for tile tokens [i0, i1); skip, if non-nil, masks
// whole tokens (bit ti set: token i0+ti does not attend these keys).
func (w *worker) attendKeys(cl *call, g, j0, bc, i0, i1 int, skip uint64) {
	d, cols, ld := cl.d, cl.cols, cl.hkv*cl.d
	st := w.st[:bc*cols]
	kernels.GemmNN(bc, cols, d, cl.c.K[(j0*cl.hkv+g)*d:], ld, w.qt, cols, st, cols, false)
	tFirst := cl.base + i0
	if j0+bc-1 > tFirst {
		// Key j is hidden from tokens before it: the first (j-tFirst)*G columns.
		for c := max(0, tFirst+1-j0); c < bc; c++ {
			lim := min((j0+c-tFirst)*cl.g, cols)
			row := st[c*cols : c*cols+lim]
			for i := range row {
				row[i] = masked
			}
		}
	}
	if skip != 0 {
		for ti := 0; ti < i1-i0; ti++ {
			if skip&(1<<ti) == 0 {
				continue
			}
			lo, hi := ti*cl.g, (ti+1)*cl.g
			for c := 0; c < bc; c++ {
				row := st[c*cols+lo : c*cols+hi]
				for i := range row {
					row[i] = masked
				}
			}
		}
	}
	kernels.OnlineSoftmax(st, bc, cols, cols, w.mx, w.l, w.ot, d, cols)
	kernels.GemmTN(d, cols, bc, cl.c.V[(j0*cl.hkv+g)*d:], ld, st, cols, w.ot, cols, true)
}

// writeOut normalises the tile and stores it in the output.
func (w *worker) writeOut(cl *call, g, i0, i1 int) {
	d, cols := cl.d, cl.cols
	for i := i0; i < i1; i++ {
		for a := 0; a < cl.g; a++ {
			r := (i-i0)*cl.g + a
			inv := float32(0)
			if w.l[r] > 0 {
				inv = 1 / w.l[r]
			}
			dst := cl.out[(i*cl.h+g*cl.g+a)*d : (i*cl.h+g*cl.g+a+1)*d]
			for x := range dst {
				dst[x] = w.ot[x*cols+r] * inv
			}
		}
	}
}

// parallel runs task(w, k) for k in [0, tasks) on up to threads goroutines,
// each with its own worker, largest k first (later query tiles see more
// keys, so they go first for balance).
func parallel(cl *call, threads, tasks int, task func(w *worker, k int)) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	threads = min(threads, tasks)
	if threads <= 1 {
		w := getWorker(cl)
		for k := tasks - 1; k >= 0; k-- {
			task(w, k)
		}
		workers.Put(w)
		return
	}
	var next atomic.Int64
	next.Store(int64(tasks))
	var wg sync.WaitGroup
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := getWorker(cl)
			defer workers.Put(w)
			for {
				k := int(next.Add(-1))
				if k < 0 {
					return
				}
				task(w, k)
			}
		}()
	}
	wg.Wait()
}
