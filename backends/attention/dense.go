package attention

import "fmt"

// dense is full causal softmax attention.
type dense struct {
	blockSize int // for the Blocks and Selected statistics only
}

// NewDense returns full causal softmax attention with grouped-query heads:
// query head h attends with KV head h/G over every key position <= its own.
// Scores and softmax sums are accumulated in float64.
//
// Its statistics count, per query token at position t and KV head, t+1
// tokens and blocks 0..t/64 (the default sparse block size; see
// NewDenseBlockSize), 2*G*2*d*(t+1) FLOPs (QK and PV, 2 FLOPs per
// multiply-add) and 2*(t+1)*d*4 bytes of keys and values. A prefill of n
// tokens thus counts 2*H*d*n*(n+1) FLOPs.
func NewDense() Mode { return &dense{blockSize: DefaultSparse().BlockSize} }

// NewDenseBlockSize is NewDense whose Blocks and Selected statistics use
// blocks of blockSize tokens, to compare with sparse modes of that size.
func NewDenseBlockSize(blockSize int) (Mode, error) {
	if blockSize < 1 {
		return nil, fmt.Errorf("attention: dense: block_size = %d: must be >= 1", blockSize)
	}
	return &dense{blockSize: blockSize}, nil
}

func (m *dense) Name() string { return "dense" }

func (m *dense) String() string { return fmt.Sprintf("dense(block_size=%d)", m.blockSize) }

func (m *dense) Forward(c *Cache, q Query, out []float32, st *Stats) error {
	if err := checkForward(m.Name(), c, q, out, false); err != nil {
		return err
	}
	m.forward(c, q, out, st)
	return nil
}

// forward runs a validated call.
func (m *dense) forward(c *Cache, q Query, out []float32, st *Stats) {
	s := c.Shape
	w := newWorker(s)
	ty := newTally(st, s)
	n, qs := c.Len(), s.Heads*s.HeadDim
	var sel []int32
	for i := 0; i < q.M; i++ {
		t := n - q.M + i
		bq := t / m.blockSize
		if ty.st != nil && ty.st.RecordSelection {
			sel = sel[:0]
			for j := 0; j <= bq; j++ {
				sel = append(sel, int32(j))
			}
		}
		w.spans = append(w.spans[:0], span{0, t + 1})
		for g := 0; g < s.KVHeads; g++ {
			T := w.attend(c, q.Q[i*qs:(i+1)*qs], g, w.spans, out[i*qs:(i+1)*qs])
			ty.pair(int64(bq+1), int64(T), int64(t+1), 0, 0)
			ty.record(sel)
		}
	}
	ty.done(q.M, true)
}
