package flash

import (
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
)

// ktChunk is the number of tokens per tile of the transposed keys: a tile
// (d x 64 floats, 16 KiB at d = 64) is contiguous, so reading one key block
// streams one run of memory, and a block's product walks rows 256 bytes
// apart.
const (
	ktChunk  = 64
	ktStride = ktChunk
	ktSlab   = 256 // tiles allocated at once
)

// transposed holds a cache's keys transposed per KV head, in chunks of
// ktChunk tokens: chunk[x*ktChunk + t'] is dimension x of token
// chunkStart+t'. Sparse attention of one query token reads its selected
// blocks from it as ordinary row-major matrices (d x block), so that the
// token's G query heads are the rows of a small matrix product with the
// keys along vector lanes. Chunks are allocated whole (zero padded), so a
// block that runs past the cache end can be read in full.
type transposed struct {
	d, hkv int
	n      int           // tokens transposed
	chunks [][][]float32 // [g][chunk]
}

type ktKey struct{}

// kcKey names the transposed compressed keys of one kernel geometry.
type kcKey struct {
	size, stride int
	nope         bool
}

// Bytes is the memory held, for Cache.Bytes.
func (kt *transposed) Bytes() int64 {
	var b int64
	for _, g := range kt.chunks {
		for _, c := range g {
			b += int64(cap(c)) * 4
		}
	}
	return b
}

// transposedFor returns the transposed keys of c, extended to its length.
func transposedFor(c *attention.Cache) *transposed {
	kt := c.Aux(ktKey{}, func() any { return newTransposed(c.Shape) }).(*transposed)
	kt.extend(c.Len(), func(g int) ([]float32, int) { return c.K[g*c.Shape.HeadDim:], c.Shape.KVHeads * c.Shape.HeadDim })
	return kt
}

// transposedKernels returns the compressed keys of c transposed like the
// keys (per KV head, chunks of ktChunk kernels), and their count.
func transposedKernels(c *attention.Cache, size, stride int, nope bool) (*transposed, int) {
	kc, n := attention.CompressedKeys(c, size, stride, nope)
	kt := c.Aux(kcKey{size, stride, nope}, func() any { return newTransposed(c.Shape) }).(*transposed)
	kt.extend(n, func(g int) ([]float32, int) { return kc[g], c.Shape.HeadDim })
	return kt, n
}

func newTransposed(s attention.Shape) *transposed {
	return &transposed{d: s.HeadDim, hkv: s.KVHeads, chunks: make([][][]float32, s.KVHeads)}
}

// extend transposes rows [kt.n, n) of each head's source matrix: row t of
// head g is src(g)[t*stride : t*stride+d].
func (kt *transposed) extend(n int, src func(g int) ([]float32, int)) {
	if n < kt.n { // the source was cut: start over
		for g := range kt.chunks {
			kt.chunks[g] = nil
		}
		kt.n = 0
	}
	d := kt.d
	for g := 0; g < kt.hkv; g++ {
		base, stride := src(g)
		for len(kt.chunks[g])*ktChunk < n {
			slab := make([]float32, ktSlab*d*ktStride)
			for i := 0; i < ktSlab; i++ {
				kt.chunks[g] = append(kt.chunks[g], slab[i*d*ktStride:(i+1)*d*ktStride:(i+1)*d*ktStride])
			}
		}
		for t := kt.n; t < n; {
			ch := kt.chunks[g][t/ktChunk]
			end := min(n, (t/ktChunk+1)*ktChunk)
			for x := 0; x < d; x++ {
				row := ch[x*ktStride : x*ktStride+ktChunk]
				for s := t; s < end; s++ {
					row[s%ktChunk] = base[s*stride+x]
				}
			}
			t = end
		}
	}
	kt.n = n
}

// rowScores computes s[a][i] = qg[a] . kt_g[i] for the rows a < rows of qg
// (rows x d) and columns i < count, into s (row stride ld >= count rounded
// to 16; the padding is masked).
func rowScores(kt *transposed, g int, qg []float32, rows, d, count int, s []float32, ld int) {
	for lo := 0; lo < count; lo += ktChunk {
		hi := min(count, lo+ktChunk)
		w := (hi - lo + 15) / 16 * 16 // the chunk is zero padded
		kernels.GemmNN(rows, w, d, qg, d, kt.chunks[g][lo/ktChunk], ktStride, s[lo:], ld, false)
	}
	for a := 0; a < rows; a++ {
		row := s[a*ld+count : (a+1)*ld]
		for x := range row {
			row[x] = masked
		}
	}
}

// tokenScratch is a worker's space for one token's sparse attention.
type tokenScratch struct {
	qg, o, s, inv []float32
	spans         []span
}

type span struct{ lo, hi int }

// attendToken computes the sparse attention of query token i (position t)
// and KV head g over the sorted blocks sel, writing the G heads' outputs.
func (w *worker) attendToken(cl *call, kt *transposed, g, i int, sel []int32, blockSize int) {
	ts := &w.tok
	d, G, t := cl.d, cl.g, cl.base+i
	ts.qg = grow(ts.qg, G*d)
	for a := 0; a < G; a++ {
		src := cl.q[(i*cl.h+g*G+a)*d : (i*cl.h+g*G+a+1)*d]
		dst := ts.qg[a*d : (a+1)*d]
		for x, v := range src {
			dst[x] = v * cl.scale
		}
	}
	// Spans of consecutive blocks, cut at chunk boundaries.
	ts.spans = ts.spans[:0]
	L := 0
	for _, j := range sel {
		lo := int(j) * blockSize
		hi := lo + blockSize
		for lo < hi {
			end := min(hi, (lo/ktChunk+1)*ktChunk)
			if k := len(ts.spans) - 1; k >= 0 && ts.spans[k].hi == lo && lo%ktChunk != 0 {
				ts.spans[k].hi = end
			} else {
				ts.spans = append(ts.spans, span{lo, end})
			}
			L += end - lo
			lo = end
		}
	}
	ld := (L + 15) / 16 * 16
	ts.s = grow(ts.s, G*ld)
	off := 0
	for _, sp := range ts.spans {
		ch := kt.chunks[g][sp.lo/ktChunk]
		kernels.GemmNN(G, sp.hi-sp.lo, d, ts.qg, d, ch[sp.lo%ktChunk:], ktStride, ts.s[off:], ld, false)
		// Keys after the token are hidden (only in its own block).
		if sp.hi > t+1 {
			for a := 0; a < G; a++ {
				row := ts.s[a*ld+off+max(0, t+1-sp.lo) : a*ld+off+sp.hi-sp.lo]
				for x := range row {
					row[x] = masked
				}
			}
		}
		off += sp.hi - sp.lo
	}
	for a := 0; a < G; a++ {
		row := ts.s[a*ld : a*ld+ld]
		for x := L; x < ld; x++ {
			row[x] = masked
		}
	}
	ts.o = grow(ts.o, G*d)
	clear(ts.o)
	ts.inv = grow(ts.inv, G)
	for a := 0; a < G; a++ {
		ts.inv[a] = 0
		if _, l := kernels.RowSoftmax(ts.s[a*ld : (a+1)*ld]); l > 0 {
			ts.inv[a] = 1 / l
		}
	}
	off = 0
	hkvd := cl.hkv * d
	for _, sp := range ts.spans {
		if k := min(sp.hi, t+1) - sp.lo; k > 0 {
			kernels.GemmNN(G, d, k, ts.s[off:], ld, cl.c.V[(sp.lo*cl.hkv+g)*d:], hkvd, ts.o, d, true)
		}
		off += sp.hi - sp.lo
	}
	for a := 0; a < G; a++ {
		dst := cl.out[(i*cl.h+g*G+a)*d : (i*cl.h+g*G+a+1)*d]
		f := ts.inv[a]
		for x := range dst {
			dst[x] = ts.o[a*d+x] * f
		}
	}
}
