package qa

import (
	"math/bits"
	"math/rand/v2"
)

// rng draws everything the synthetic generator needs from the raw 64-bit
// outputs of a PCG source. Bounded integers and shuffles are computed here
// rather than with rand.Rand's methods, so that the output depends on the PCG
// algorithm alone and not on how a Go release implements IntN or Shuffle.
// No floating point is involved.
type rng struct {
	src *rand.PCG
}

// Stream selectors: the second PCG seed word, one per independent stream of
// draws made from one user seed.
const (
	streamItemWorld   = 0x71612d776f726c64 // "qa-world"
	streamItems       = 0x71612d6974656d73 // "qa-items"
	streamDistractors = 0x71612d6e6f697365 // "qa-noise"
)

func newRNG(seed, stream uint64) *rng {
	return &rng{src: rand.NewPCG(seed, stream)}
}

// intn returns a uniform integer in [0, n); n must be positive. It is
// Lemire's multiply-and-reject method on 64-bit words.
func (r *rng) intn(n int) int {
	un := uint64(n)
	hi, lo := bits.Mul64(r.src.Uint64(), un)
	if lo < un {
		thresh := -un % un
		for lo < thresh {
			hi, lo = bits.Mul64(r.src.Uint64(), un)
		}
	}
	return int(hi)
}

// between returns a uniform integer in [lo, hi].
func (r *rng) between(lo, hi int) int {
	return lo + r.intn(hi-lo+1)
}

// oneIn reports true with probability 1/n.
func (r *rng) oneIn(n int) bool {
	return r.intn(n) == 0
}

// shuffle permutes n elements with the Fisher-Yates method.
func (r *rng) shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.intn(i+1))
	}
}

func pick[T any](r *rng, xs []T) T {
	return xs[r.intn(len(xs))]
}
