package flash

import (
	"fmt"

	"github.com/evalctl/evalctl/backends/attention"
)

// Switching is fast dense-sparse switching: dense below denseLen total
// keys, sparse at or above (denseLen -1: always sparse), per Forward call.
type Switching struct {
	denseLen int
	dense    *Dense
	sparse   *Sparse
}

// NewSwitching returns fast switching attention.
func NewSwitching(denseLen int, cfg attention.SparseConfig, threads int) (*Switching, error) {
	if denseLen < -1 {
		return nil, fmt.Errorf("flash: switching: dense_len = %d: must be >= -1", denseLen)
	}
	sp, err := NewSparse(cfg, threads)
	if err != nil {
		return nil, err
	}
	dn, err := NewDense(cfg.BlockSize, threads)
	if err != nil {
		return nil, err
	}
	return &Switching{denseLen: denseLen, dense: dn, sparse: sp}, nil
}

// Name implements attention.Mode.
func (m *Switching) Name() string { return "switching" }

// Forward implements attention.Mode.
func (m *Switching) Forward(c *attention.Cache, q attention.Query, out []float32, st *attention.Stats) error {
	if m.denseLen >= 0 && c != nil && c.Len() < m.denseLen {
		return m.dense.Forward(c, q, out, st)
	}
	return m.sparse.Forward(c, q, out, st)
}

// Streaming is the fast StreamingLLM-style baseline: init blocks plus the
// local window.
type Streaming struct {
	blockSize, initBlocks, localBlocks, threads int
}

// NewStreaming returns the fast streaming baseline.
func NewStreaming(blockSize, initBlocks, localBlocks, threads int) (*Streaming, error) {
	if blockSize < 1 || initBlocks < 0 || localBlocks < 0 {
		return nil, fmt.Errorf("flash: streaming: block_size %d, init_blocks %d, local_blocks %d: want >= 1, >= 0, >= 0", blockSize, initBlocks, localBlocks)
	}
	return &Streaming{blockSize, initBlocks, localBlocks, threads}, nil
}

// Name implements attention.Mode.
func (m *Streaming) Name() string { return "streaming" }

// Forward implements attention.Mode.
func (m *Streaming) Forward(c *attention.Cache, q attention.Query, out []float32, st *attention.Stats) error {
	if err := attention.CheckForward(m.Name(), c, q, out, false); err != nil {
		return err
	}
	cl := newCall(c, q, out)
	runSparse(cl, m.threads, m.blockSize, st, func(w *worker, g, i0, i1 int, sel [][]int32, info []selInfo) {
		for ti := range sel {
			bq := (cl.base + i0 + ti) / m.blockSize
			for j := 0; j <= bq; j++ {
				if j < m.initBlocks || j >= bq-m.localBlocks {
					sel[ti] = append(sel[ti], int32(j))
				}
			}
		}
	})
	return nil
}
