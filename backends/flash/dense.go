package flash

import (
	"fmt"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
)

// Dense is fast dense causal attention.
type Dense struct {
	blockSize int // for the Blocks and Selected statistics only
	threads   int
}

// NewDense returns fast dense attention; blockSize is the block size of its
// Blocks/Selected statistics, threads the number of goroutines (0: all).
func NewDense(blockSize, threads int) (*Dense, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("flash: dense: block_size = %d: must be >= 1", blockSize)
	}
	return &Dense{blockSize: blockSize, threads: threads}, nil
}

// Name implements attention.Mode.
func (m *Dense) Name() string { return "dense" }

// Forward implements attention.Mode.
func (m *Dense) Forward(c *attention.Cache, q attention.Query, out []float32, st *attention.Stats) error {
	if err := attention.CheckForward(m.Name(), c, q, out, false); err != nil {
		return err
	}
	cl := newCall(c, q, out)
	if q.M == 1 && decodePerToken {
		kt := transposedFor(c)
		bq := (cl.n - 1) / kvTile
		sel := make([]int32, bq+1)
		for j := range sel {
			sel[j] = int32(j)
		}
		parallel(cl, m.threads, cl.hkv, func(w *worker, g int) {
			w.attendToken(cl, kt, g, 0, sel, kvTile)
		})
	} else if q.M == 1 && cl.hkv < max(2, m.threadCount()) {
		m.decode(cl)
	} else {
		if decodePerToken {
			// Keep the transposed keys that decode steps read current:
			// O(n*d) next to the prefill's O(n^2*d).
			transposedFor(c)
		}
		tiles := cl.tiles()
		parallel(cl, m.threads, cl.hkv*tiles, func(w *worker, k int) {
			g, tile := k%cl.hkv, k/cl.hkv
			i0, i1 := cl.tile(tile)
			w.packQ(cl, cl.q, w.qt, g, i0, i1)
			w.reset()
			last := cl.base + i1 - 1
			for j0 := 0; j0 <= last; j0 += kvTile {
				w.attendKeys(cl, g, j0, min(kvTile, last+1-j0), i0, i1, 0)
			}
			w.writeOut(cl, g, i0, i1)
		})
	}
	denseStats(cl, m.blockSize, st)
	return nil
}

func (m *Dense) threadCount() int {
	if m.threads > 0 {
		return m.threads
	}
	return runtimeThreads()
}

var decodePerToken = true

// decode answers one query token with the keys split across threads: each
// part keeps its own running max, sum and output, merged at the end
// (flash-decoding), so a single KV head still uses every core.
func (m *Dense) decode(cl *call) {
	threads := m.threadCount()
	parts := max(1, threads/cl.hkv)
	span := (cl.n + parts - 1) / parts
	span = (span + kvTile - 1) / kvTile * kvTile
	parts = (cl.n + span - 1) / span
	type partial struct {
		mx, l, ot []float32
	}
	res := make([]partial, cl.hkv*parts)
	parallel(cl, m.threads, cl.hkv*parts, func(w *worker, k int) {
		g, p := k%cl.hkv, k/cl.hkv
		w.packQ(cl, cl.q, w.qt, g, 0, 1)
		w.reset()
		lo, hi := p*span, min((p+1)*span, cl.n)
		for j0 := lo; j0 < hi; j0 += kvTile {
			w.attendKeys(cl, g, j0, min(kvTile, hi-j0), 0, 1, 0)
		}
		res[k] = partial{append([]float32(nil), w.mx[:cl.g]...), append([]float32(nil), w.l[:cl.g]...), extractCols(w.ot, cl.d, cl.cols, cl.g)}
	})
	for g := 0; g < cl.hkv; g++ {
		for a := 0; a < cl.g; a++ {
			mx := masked
			for p := 0; p < parts; p++ {
				mx = max(mx, res[p*cl.hkv+g].mx[a])
			}
			var l float32
			dst := cl.out[(g*cl.g+a)*cl.d : (g*cl.g+a+1)*cl.d]
			clear(dst)
			for p := 0; p < parts; p++ {
				r := res[p*cl.hkv+g]
				f := kernels.Exp2Generic(r.mx[a] - mx)
				if r.l[a] == 0 {
					continue
				}
				l += r.l[a] * f
				for x := range dst {
					dst[x] += r.ot[x*cl.g+a] * f
				}
			}
			if l > 0 {
				for x := range dst {
					dst[x] /= l
				}
			}
		}
	}
}

// extractCols copies the first k columns of a d x cols tile into a d x k one.
func extractCols(t []float32, d, cols, k int) []float32 {
	out := make([]float32, d*k)
	for x := 0; x < d; x++ {
		copy(out[x*k:(x+1)*k], t[x*cols:x*cols+k])
	}
	return out
}

// denseStats adds a dense call's cost-model statistics, as the reference
// dense mode counts them.
func denseStats(cl *call, blockSize int, st *attention.Stats) {
	if st == nil {
		return
	}
	d, g := int64(cl.d), int64(cl.g)
	var sel []int32
	for i := 0; i < cl.m; i++ {
		t := int64(cl.base + i)
		bq := int32(t / int64(blockSize))
		if st.RecordSelection {
			sel = sel[:0]
			for j := int32(0); j <= bq; j++ {
				sel = append(sel, j)
			}
		}
		for k := 0; k < cl.hkv; k++ {
			st.FLOPs += float64(2 * g * 2 * d * (t + 1))
			st.KVBytes += 4 * d * 2 * (t + 1)
			st.Blocks += int64(bq) + 1
			st.Tokens += t + 1
			st.VisibleTokens += t + 1
			if st.RecordSelection {
				st.Selected = append(st.Selected, append([]int32(nil), sel...))
			}
		}
	}
	st.Calls++
	st.DenseCalls++
	st.QueryTokens += int64(cl.m)
}
