package attention

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randomInput returns a cache of n random tokens and random queries for its
// m newest, from a fixed seed. Queries have twice the spread of keys so that
// attention is far from uniform. With nope, pre-rotary keys and queries are
// filled too (independent random values: the tests only need them to
// differ from K and Q).
func randomInput(seed uint64, s Shape, n, m int, nope bool) (*Cache, Query) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	fill := func(x []float32, scale float64) []float32 {
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale)
		}
		return x
	}
	c := NewCache(s, n)
	k := fill(make([]float32, s.KVSize(n)), 1)
	v := fill(make([]float32, s.KVSize(n)), 1)
	var kn []float32
	if nope {
		kn = fill(make([]float32, s.KVSize(n)), 1)
	}
	if err := c.Append(k, v, kn); err != nil {
		panic(err)
	}
	q := Query{M: m, Q: fill(make([]float32, s.QSize(m)), 2)}
	if nope {
		q.QNoPE = fill(make([]float32, s.QSize(m)), 2)
	}
	return c, q
}

// prefix returns a fresh cache holding the first n tokens of c.
func prefix(c *Cache, n int) *Cache {
	row := c.Shape.KVHeads * c.Shape.HeadDim
	p := NewCache(c.Shape, n)
	var kn []float32
	if len(c.KNoPE) > 0 {
		kn = c.KNoPE[:n*row]
	}
	if err := p.Append(c.K[:n*row], c.V[:n*row], kn); err != nil {
		panic(err)
	}
	return p
}

// subQuery returns the queries of tokens [lo, hi) of q.
func subQuery(s Shape, q Query, lo, hi int) Query {
	qs := s.Heads * s.HeadDim
	sq := Query{M: hi - lo, Q: q.Q[lo*qs : hi*qs]}
	if q.QNoPE != nil {
		sq.QNoPE = q.QNoPE[lo*qs : hi*qs]
	}
	return sq
}

// run calls Forward and fails the test on error.
func run(t testing.TB, m Mode, c *Cache, q Query, st *Stats) []float32 {
	t.Helper()
	out := make([]float32, len(q.Q))
	if err := m.Forward(c, q, out, st); err != nil {
		t.Fatalf("%s: Forward: %v", m.Name(), err)
	}
	return out
}

// maxRelErr is max |a-b| / max(|b|, 1) over the elements, so that it is a
// relative error for large values and an absolute one near zero.
func maxRelErr(a, b []float32) float64 {
	var e float64
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		e = max(e, d/max(math.Abs(float64(b[i])), 1))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
	}
	return e
}

// equalSel reports whether two selections are equal.
func equalSel(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
