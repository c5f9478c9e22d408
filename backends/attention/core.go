package attention

import (
	"fmt"
	"math"
)

// This file holds what every mode shares: input validation, the per-call
// scratch space, the one attention kernel (softmax over a list of key spans)
// and the statistics bookkeeping.
//
// Every mode computes each (query token, KV group) pair on its own, from the
// cache and the query alone, with the same loops in the same order. That is
// what makes a token's output independent of how it is reached: one prefill,
// chunked prefill and decode give bit-identical results.

// span is a half-open range [lo, hi) of key positions.
type span struct{ lo, hi int }

// checkForward validates the inputs of a Forward call. needNoPE asks for
// pre-rotary queries and keys as well.
func checkForward(name string, c *Cache, q Query, out []float32, needNoPE bool) error {
	if c == nil {
		return fmt.Errorf("attention: %s: nil cache", name)
	}
	s := c.Shape
	if err := s.Validate(); err != nil {
		return fmt.Errorf("attention: %s: %w", name, err)
	}
	row := s.KVHeads * s.HeadDim
	if len(c.K)%row != 0 || len(c.V) != len(c.K) {
		return fmt.Errorf("attention: %s: cache len(K) = %d, len(V) = %d: want equal multiples of kv_heads*head_dim = %d", name, len(c.K), len(c.V), row)
	}
	n := c.Len()
	if q.M < 1 {
		return fmt.Errorf("attention: %s: q.M = %d: must be >= 1", name, q.M)
	}
	if q.M > n {
		return fmt.Errorf("attention: %s: q.M = %d: exceeds the cache length %d (append the new tokens' keys and values first)", name, q.M, n)
	}
	if want := s.QSize(q.M); len(q.Q) != want {
		return fmt.Errorf("attention: %s: len(q.Q) = %d: want q.M*heads*head_dim = %d", name, len(q.Q), want)
	}
	if want := s.QSize(q.M); len(out) != want {
		return fmt.Errorf("attention: %s: len(out) = %d: want q.M*heads*head_dim = %d", name, len(out), want)
	}
	if needNoPE {
		if want := s.QSize(q.M); len(q.QNoPE) != want {
			return fmt.Errorf("attention: %s: use_nope: len(q.QNoPE) = %d: want q.M*heads*head_dim = %d", name, len(q.QNoPE), want)
		}
		if len(c.KNoPE) != len(c.K) {
			return fmt.Errorf("attention: %s: use_nope: cache len(KNoPE) = %d: want len(K) = %d", name, len(c.KNoPE), len(c.K))
		}
	}
	return nil
}

// visibleCount is the number of full windows of size tokens, stride apart,
// that lie within the first n tokens: floor((n-size)/stride)+1, or 0 when
// n < size. Kernel i covers [stride*i, stride*i+size).
func visibleCount(n, size, stride int) int {
	if n < size {
		return 0
	}
	return (n-size)/stride + 1
}

// dot returns a·b accumulated in float64. The four partial sums give the
// CPU independent chains; the order is fixed, so results are reproducible.
func dot(a []float64, b []float32) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * float64(b[i])
		s1 += a[i+1] * float64(b[i+1])
		s2 += a[i+2] * float64(b[i+2])
		s3 += a[i+3] * float64(b[i+3])
	}
	for ; i < len(a); i++ {
		s0 += a[i] * float64(b[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// axpy does y += p*x.
func axpy(y []float64, p float64, x []float32) {
	x = x[:len(y)]
	i := 0
	for ; i+4 <= len(y); i += 4 {
		y[i] += p * float64(x[i])
		y[i+1] += p * float64(x[i+1])
		y[i+2] += p * float64(x[i+2])
		y[i+3] += p * float64(x[i+3])
	}
	for ; i < len(y); i++ {
		y[i] += p * float64(x[i])
	}
}

// worker holds the scratch space of one Forward call.
type worker struct {
	s     Shape
	g     int     // query heads per KV head
	scale float64 // 1/sqrt(d)
	qd    []float64
	buf   []float64 // G * tokens: logits, then unnormalised probabilities
	acc   []float64 // G * d
	sums  []float64 // G
	spans []span
}

func newWorker(s Shape) *worker {
	g := s.Group()
	return &worker{
		s:     s,
		g:     g,
		scale: 1 / math.Sqrt(float64(s.HeadDim)),
		qd:    make([]float64, g*s.HeadDim),
		acc:   make([]float64, g*s.HeadDim),
		sums:  make([]float64, g),
	}
}

// loadQ converts the G query heads of group g of one query token (q holds
// that token's Heads*HeadDim floats) to float64 in w.qd.
func (w *worker) loadQ(q []float32, g int) {
	d := w.s.HeadDim
	src := q[g*w.g*d : (g+1)*w.g*d]
	for i, v := range src {
		w.qd[i] = float64(v)
	}
}

// logits fills w.buf[a*T+k] with q_a·k_s/sqrt(d) for the T keys s of spans
// (in span order) and the G heads a of group g, whose queries are in w.qd.
// It returns T.
func (w *worker) logits(keys []float32, g int, spans []span) int {
	d, hkv := w.s.HeadDim, w.s.KVHeads
	T := 0
	for _, sp := range spans {
		T += sp.hi - sp.lo
	}
	if cap(w.buf) < w.g*T {
		w.buf = make([]float64, w.g*T)
	}
	w.buf = w.buf[:w.g*T]
	k := 0
	for _, sp := range spans {
		for s := sp.lo; s < sp.hi; s++ {
			row := keys[(s*hkv+g)*d : (s*hkv+g+1)*d]
			for a := 0; a < w.g; a++ {
				w.buf[a*T+k] = dot(w.qd[a*d:(a+1)*d], row) * w.scale
			}
			k++
		}
	}
	return T
}

// softmaxRows turns each of the G rows of w.buf (T logits each) into
// unnormalised probabilities exp(l - max) and stores the row sums in w.sums.
func (w *worker) softmaxRows(T int) {
	for a := 0; a < w.g; a++ {
		row := w.buf[a*T : (a+1)*T]
		m := math.Inf(-1)
		for _, l := range row {
			m = max(m, l)
		}
		var sum float64
		for k, l := range row {
			e := math.Exp(l - m)
			row[k] = e
			sum += e
		}
		w.sums[a] = sum
	}
}

// attend computes, for the G query heads of group g of one query token (q:
// that token's Heads*HeadDim floats), one softmax over the keys of spans and
// writes the weighted sum of their values to out (that token's output,
// Heads*HeadDim floats). It returns the number of keys attended.
func (w *worker) attend(c *Cache, q []float32, g int, spans []span, out []float32) int {
	d, hkv := w.s.HeadDim, w.s.KVHeads
	w.loadQ(q, g)
	T := w.logits(c.K, g, spans)
	w.softmaxRows(T)
	clear(w.acc)
	k := 0
	for _, sp := range spans {
		for s := sp.lo; s < sp.hi; s++ {
			row := c.V[(s*hkv+g)*d : (s*hkv+g+1)*d]
			for a := 0; a < w.g; a++ {
				axpy(w.acc[a*d:(a+1)*d], w.buf[a*T+k], row)
			}
			k++
		}
	}
	for a := 0; a < w.g; a++ {
		h := g*w.g + a
		inv := 1 / w.sums[a]
		for x := 0; x < d; x++ {
			out[h*d+x] = float32(w.acc[a*d+x] * inv)
		}
	}
	return T
}

// blockSpans turns sorted block indices into merged key spans, clipped to
// the causal limit: keys < limit.
func blockSpans(dst []span, blocks []int32, blockSize, limit int) []span {
	dst = dst[:0]
	for _, j := range blocks {
		lo := int(j) * blockSize
		hi := min(lo+blockSize, limit)
		if lo >= hi {
			continue
		}
		if n := len(dst); n > 0 && dst[n-1].hi == lo {
			dst[n-1].hi = hi
			continue
		}
		dst = append(dst, span{lo, hi})
	}
	return dst
}

// tally accumulates the statistics of one call and adds them to its Stats
// when the call is done. (Calls fail only in validation, before any work,
// so a failed call adds nothing.)
type tally struct {
	st   *Stats
	d, g int64 // head dim, query heads per KV head

	flops                         float64
	kvBytes                       int64
	blocks, tokens, visibleTokens int64
}

func newTally(st *Stats, s Shape) *tally {
	return &tally{st: st, d: int64(s.HeadDim), g: int64(s.Group())}
}

// pair records one (query token, KV head) pair: it attended tokens keys out
// of visible, in blocks blocks; extraMACs multiply-adds per query head were
// spent choosing them, reading extraKeys key rows (compressed keys, or keys
// of an oracle's true-attention pass).
func (t *tally) pair(blocks, tokens, visible, extraMACs, extraKeys int64) {
	if t.st == nil {
		return
	}
	t.flops += float64(2 * t.g * (extraMACs + 2*t.d*tokens))
	t.kvBytes += 4 * t.d * (2*tokens + extraKeys)
	t.blocks += blocks
	t.tokens += tokens
	t.visibleTokens += visible
}

// record appends a selection when the Stats asks for it.
func (t *tally) record(sel []int32) {
	if t.st == nil || !t.st.RecordSelection {
		return
	}
	t.st.Selected = append(t.st.Selected, append([]int32(nil), sel...))
}

// done adds the call's totals to the Stats.
func (t *tally) done(m int, dense bool) {
	st := t.st
	if st == nil {
		return
	}
	st.Calls++
	if dense {
		st.DenseCalls++
	} else {
		st.SparseCalls++
	}
	st.QueryTokens += int64(m)
	st.FLOPs += t.flops
	st.KVBytes += t.kvBytes
	st.Blocks += t.blocks
	st.Tokens += t.tokens
	st.VisibleTokens += t.visibleTokens
}
