package flash

import (
	"fmt"

	"github.com/evalctl/evalctl/backends/attention"
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
	if q.M == 1 {
		// A decode step: the token's G heads as the rows of products
		// against the transposed keys, one task per KV head.
		kt := transposedFor(c)
		sel := make([]int32, (cl.n-1)/kvTile+1)
		for j := range sel {
			sel[j] = int32(j)
		}
		parallel(cl, m.threads, cl.hkv, func(w *worker, g int) {
			w.attendToken(cl, kt, g, 0, sel, kvTile)
		})
	} else {
		// Keep the transposed keys that decode steps read current: O(n*d)
		// next to the prefill's O(n^2*d).
		transposedFor(c)
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
