package attention

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// streaming attends a fixed set of blocks: the first ones and a local window.
type streaming struct {
	blockSize, initBlocks, localBlocks int
}

// NewStreaming returns a StreamingLLM-style baseline: query token t attends,
// with the causal mask, exactly the blocks j (of blockSize tokens) with
// j < initBlocks or t/blockSize-localBlocks <= j <= t/blockSize. Nothing is
// scored. Statistics per (query token, KV head), T keys attended in b
// blocks: FLOPs 2*G*2*d*T, KVBytes 4*d*2*T, Blocks b, Tokens T; each call
// counts as a SparseCall.
func NewStreaming(blockSize, initBlocks, localBlocks int) (Mode, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("attention: streaming: block_size = %d: must be >= 1", blockSize)
	}
	if initBlocks < 0 || localBlocks < 0 {
		return nil, fmt.Errorf("attention: streaming: init_blocks = %d, local_blocks = %d: must be >= 0", initBlocks, localBlocks)
	}
	return &streaming{blockSize, initBlocks, localBlocks}, nil
}

func (m *streaming) Name() string { return "streaming" }

func (m *streaming) String() string {
	return fmt.Sprintf("streaming(block_size=%d init_blocks=%d local_blocks=%d)", m.blockSize, m.initBlocks, m.localBlocks)
}

func (m *streaming) Forward(c *Cache, q Query, out []float32, st *Stats) error {
	if err := checkForward(m.Name(), c, q, out, false); err != nil {
		return err
	}
	s := c.Shape
	w := newWorker(s)
	ty := newTally(st, s)
	n, qs := c.Len(), s.Heads*s.HeadDim
	var sel []int32
	for i := 0; i < q.M; i++ {
		t := n - q.M + i
		bq := t / m.blockSize
		sel = sel[:0]
		for j := 0; j <= bq; j++ {
			if j < m.initBlocks || j >= bq-m.localBlocks {
				sel = append(sel, int32(j))
			}
		}
		w.spans = blockSpans(w.spans, sel, m.blockSize, t+1)
		for g := 0; g < s.KVHeads; g++ {
			T := w.attend(c, q.Q[i*qs:(i+1)*qs], g, w.spans, out[i*qs:(i+1)*qs])
			ty.pair(int64(len(sel)), int64(T), int64(t+1), 0, 0)
			ty.record(sel)
		}
	}
	ty.done(q.M, false)
	return nil
}

// oracle selects the blocks that carry the most true attention mass.
type oracle struct {
	blockSize, topk int
}

// NewOracle returns the oracle block selection, the upper bound of any
// selection of topk blocks of blockSize tokens: for each query token t and
// KV head it computes the true dense attention probabilities of the group's
// G query heads, the mass of each block 0..t/blockSize (see BlockMass),
// selects the topk blocks of largest mass (ties: lower block index first; a
// NaN mass ranks lowest) and outputs one softmax over the selected blocks'
// keys, causally masked. No block is forced.
//
// Statistics per (query token, KV head), T keys attended in b blocks: the
// true-attention pass needs only the scores, d*(t+1) multiply-adds per
// query head, so FLOPs are 2*G*(d*(t+1) + 2*d*T) and KVBytes
// 4*d*((t+1) + 2*T); Blocks b, Tokens T, VisibleTokens t+1. Each call
// counts as a SparseCall.
func NewOracle(blockSize, topk int) (Mode, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("attention: oracle: block_size = %d: must be >= 1", blockSize)
	}
	if topk < 1 {
		return nil, fmt.Errorf("attention: oracle: topk = %d: must be >= 1", topk)
	}
	return &oracle{blockSize, topk}, nil
}

func (m *oracle) Name() string { return "oracle" }

func (m *oracle) String() string {
	return fmt.Sprintf("oracle(block_size=%d topk=%d)", m.blockSize, m.topk)
}

// blockMass writes to dst[j], j = 0..t/blockSize, the true attention mass of
// block j for query token t (q: its Heads*HeadDim floats) summed over the G
// heads of group g, and returns dst.
func (w *worker) blockMass(c *Cache, q []float32, g, t, blockSize int, dst []float64) []float64 {
	w.loadQ(q, g)
	w.spans = append(w.spans[:0], span{0, t + 1})
	T := w.logits(c.K, g, w.spans)
	w.softmaxRows(T)
	nb := t/blockSize + 1
	dst = slices.Grow(dst[:0], nb)[:nb]
	clear(dst)
	for a := 0; a < w.g; a++ {
		row := w.buf[a*T : (a+1)*T]
		inv := 1 / w.sums[a]
		for j := range dst {
			var sum float64
			for _, p := range row[j*blockSize : min((j+1)*blockSize, T)] {
				sum += p
			}
			dst[j] += sum * inv
		}
	}
	return dst
}

// BlockMass returns the true dense attention mass of every key block for
// the q.M newest tokens of c: row i*KVHeads+g holds, for query token i
// (position c.Len()-q.M+i) and KV head g, the mass of blocks
// 0..position/blockSize, each the sum over the group's G query heads of the
// softmax probabilities of the block's keys, so a row sums to G. It panics
// on inputs Forward would reject.
func BlockMass(c *Cache, q Query, blockSize int) [][]float64 {
	if blockSize < 1 {
		panic(fmt.Sprintf("attention: BlockMass: block_size = %d: must be >= 1", blockSize))
	}
	if err := checkForward("BlockMass", c, q, make([]float32, len(q.Q)), false); err != nil {
		panic(err.Error())
	}
	s := c.Shape
	w := newWorker(s)
	n, qs := c.Len(), s.Heads*s.HeadDim
	rows := make([][]float64, 0, q.M*s.KVHeads)
	for i := 0; i < q.M; i++ {
		t := n - q.M + i
		for g := 0; g < s.KVHeads; g++ {
			rows = append(rows, w.blockMass(c, q.Q[i*qs:(i+1)*qs], g, t, blockSize, nil))
		}
	}
	return rows
}

func (m *oracle) Forward(c *Cache, q Query, out []float32, st *Stats) error {
	if err := checkForward(m.Name(), c, q, out, false); err != nil {
		return err
	}
	s := c.Shape
	w := newWorker(s)
	ty := newTally(st, s)
	d := s.HeadDim
	n, qs := c.Len(), s.Heads*d
	var mass []float64
	var sel []int32
	for i := 0; i < q.M; i++ {
		t := n - q.M + i
		for g := 0; g < s.KVHeads; g++ {
			qi := q.Q[i*qs : (i+1)*qs]
			mass = w.blockMass(c, qi, g, t, m.blockSize, mass)
			sel = sel[:0]
			for j, v := range mass {
				if math.IsNaN(v) {
					mass[j] = math.Inf(-1)
				}
				sel = append(sel, int32(j))
			}
			if len(sel) > m.topk {
				slices.SortFunc(sel, func(a, b int32) int {
					if ma, mb := mass[a], mass[b]; ma != mb {
						if ma > mb {
							return -1
						}
						return 1
					}
					return cmp.Compare(a, b)
				})
				sel = sel[:m.topk]
				slices.Sort(sel)
			}
			w.spans = blockSpans(w.spans, sel, m.blockSize, t+1)
			T := w.attend(c, qi, g, w.spans, out[i*qs:(i+1)*qs])
			ty.pair(int64(len(sel)), int64(T), int64(t+1), int64(d*(t+1)), int64(t+1))
			ty.record(sel)
		}
	}
	ty.done(q.M, false)
	return nil
}
