package attention

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// naiveSparse restates ../shared/docs/infllm-v2.md, "Sparse attention for
// query token t", as plainly as possible and independently of sparse.go:
// everything is recomputed from the cache for this one query token and KV
// group, in float64, with the simplest loops. It returns the selected blocks
// (sorted), the score of every block 0..t/B (+Inf forced, -Inf no visible
// kernel) and the output of the group's heads, G*d values.
//
// One deliberate match with the implementation: compressed keys are rounded
// to float32 after averaging, because evalctl stores them in float32 like
// the keys (the document does not fix their precision). Without it, near
// ties would differ by float32 rounding instead of float64 rounding.
func naiveSparse(c *Cache, qTok, qNoPETok []float32, t, g int, cfg SparseConfig) (sel []int32, score []float64, out []float64) {
	s := c.Shape
	d, hkv, G := s.HeadDim, s.KVHeads, s.Group()
	key := func(keys []float32, pos, x int) float64 { return float64(keys[(pos*hkv+g)*d+x]) }
	scoreKeys, scoreQ := c.K, qTok
	if cfg.UseNoPE {
		scoreKeys, scoreQ = c.KNoPE, qNoPETok
	}

	// Step 1: kernel i = mean(K[stride*i : stride*i+size]).
	kernel := func(i, size, stride int) []float64 {
		kc := make([]float64, d)
		for x := 0; x < d; x++ {
			var sum float64
			for pos := stride * i; pos < stride*i+size; pos++ {
				sum += key(scoreKeys, pos, x)
			}
			kc[x] = float64(float32(sum / float64(size)))
		}
		return kc
	}
	logit := func(h int, kc []float64) float64 {
		var z float64
		for x := 0; x < d; x++ {
			z += float64(scoreQ[h*d+x]) * kc[x]
		}
		return z / math.Sqrt(float64(d))
	}

	// Step 2: stage-1 scores over the visible kernels (last token <= t).
	var kernels [][]float64
	for i := 0; cfg.KernelStride*i+cfg.KernelSize-1 <= t; i++ {
		kernels = append(kernels, kernel(i, cfg.KernelSize, cfg.KernelStride))
	}
	var coarse [][]float64
	if cfg.LSE == "approx" {
		for j := 0; cfg.ApproxKernelStride*j+cfg.ApproxKernelSize-1 <= t; j++ {
			coarse = append(coarse, kernel(j, cfg.ApproxKernelSize, cfg.ApproxKernelStride))
		}
	}
	sc := make([]float64, len(kernels))
	for h := g * G; h < (g+1)*G && len(kernels) > 0; h++ {
		// The normaliser: log of the sum of exp over the visible kernels,
		// or over the visible coarse kernels with lse=approx (falling back
		// to the kernels while there is no coarse kernel yet).
		norm := kernels
		if len(coarse) > 0 {
			norm = coarse
		}
		zmax := math.Inf(-1)
		for _, kc := range norm {
			zmax = math.Max(zmax, logit(h, kc))
		}
		var sum float64
		for _, kc := range norm {
			sum += math.Exp(logit(h, kc) - zmax)
		}
		L := zmax + math.Log(sum)
		for i, kc := range kernels {
			sc[i] += math.Exp(logit(h, kc) - L)
		}
	}

	// Steps 3-4: max-pool over kernels j*r-1 .. j*r+r-1, forced blocks.
	B := cfg.BlockSize
	bq := t / B
	r := B / cfg.KernelStride
	score = make([]float64, bq+1)
	for j := 0; j <= bq; j++ {
		score[j] = math.Inf(-1)
		for i := j*r - 1; i <= j*r+r-1; i++ {
			if i >= 0 && i < len(kernels) && sc[i] > score[j] {
				score[j] = sc[i]
			}
		}
		if j < cfg.InitBlocks || (bq-cfg.LocalBlocks <= j && j <= bq) {
			score[j] = math.Inf(1)
		}
	}
	forced := func(j int) bool { return j < cfg.InitBlocks || bq-cfg.LocalBlocks <= j }

	// Step 5: pick the best remaining block topk times: forced first, then
	// the highest score, the lowest index among equals (scan upwards, keep
	// only a strictly better one); never a -Inf block.
	taken := make([]bool, bq+1)
	for range cfg.TopK {
		best := -1
		for j := 0; j <= bq; j++ {
			if taken[j] || math.IsInf(score[j], -1) {
				continue
			}
			if best < 0 || (forced(j) && !forced(best)) ||
				(forced(j) == forced(best) && score[j] > score[best]) {
				best = j
			}
		}
		if best < 0 {
			break
		}
		taken[best] = true
	}
	for j := 0; j <= bq; j++ {
		if taken[j] {
			sel = append(sel, int32(j))
		}
	}

	// Step 6: one softmax over the selected blocks' keys at positions <= t.
	out = make([]float64, G*d)
	for h := g * G; h < (g+1)*G; h++ {
		var pos []int
		for _, j := range sel {
			for p := int(j) * B; p < int(j)*B+B && p <= t; p++ {
				pos = append(pos, p)
			}
		}
		z := make([]float64, len(pos))
		zmax := math.Inf(-1)
		for k, p := range pos {
			for x := 0; x < d; x++ {
				z[k] += float64(qTok[h*d+x]) * key(c.K, p, x)
			}
			z[k] /= math.Sqrt(float64(d))
			zmax = math.Max(zmax, z[k])
		}
		var sum float64
		for k := range z {
			z[k] = math.Exp(z[k] - zmax)
			sum += z[k]
		}
		for k, p := range pos {
			for x := 0; x < d; x++ {
				out[(h-g*G)*d+x] += z[k] / sum * key(c.V, p, x)
			}
		}
	}
	return sel, score, out
}

// nearTie reports whether two selections differ only by blocks whose naive
// scores are within a relative 1e-9 of the lowest selected score, that is
// by float64 rounding in a near tie.
func nearTie(got, want []int32, score []float64) bool {
	if len(got) != len(want) {
		return false
	}
	kth := math.Inf(1)
	for _, j := range want {
		kth = min(kth, score[j])
	}
	if math.IsInf(kth, 0) {
		return false
	}
	for _, set := range [][]int32{got, want} {
		for _, j := range set {
			if slices.Contains(got, j) && slices.Contains(want, j) {
				continue
			}
			if math.Abs(score[j]-kth) > 1e-9*math.Abs(kth) {
				return false
			}
		}
	}
	return true
}

// checkPositions returns the query positions of an input of n tokens that
// TestSparseMatchesNaive checks one at a time, each on a cache cut after it
// (the last 64 are checked by a chunked call on the full cache): block
// boundaries' neighbours and a fixed random sample.
func checkPositions(n, blockSize int, seed uint64) []int {
	set := map[int]bool{0: true, 1: true}
	for b := blockSize; b < n; b += blockSize * 7 {
		set[b-1], set[b] = true, true
	}
	r := rand.New(rand.NewPCG(seed, 7))
	for range 24 {
		set[r.IntN(n)] = true
	}
	var ps []int
	for p := range set {
		if p < n-64 {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return ps
}

// TestSparseMatchesNaive checks the selection (and output) of the sparse
// mode against naiveSparse on random inputs whose lengths are not multiples
// of the block or kernel sizes.
func TestSparseMatchesNaive(t *testing.T) {
	t.Parallel()
	small := func(b, size, stride, init, local, topk int) SparseConfig {
		c := DefaultSparse()
		c.BlockSize, c.KernelSize, c.KernelStride = b, size, stride
		c.InitBlocks, c.LocalBlocks, c.TopK = init, local, topk
		return c
	}
	approx := func(c SparseConfig, size, stride int) SparseConfig {
		c.LSE, c.ApproxKernelSize, c.ApproxKernelStride = "approx", size, stride
		return c
	}
	nope := func(c SparseConfig) SparseConfig { c.UseNoPE = true; return c }
	def := small(64, 32, 16, 1, 2, 7)  // default kernels, few blocks
	b32 := small(32, 16, 8, 1, 1, 5)   // block 32, stride 8, size 16
	wide := small(16, 40, 8, 0, 1, 4)  // kernels longer than blocks: early blocks unscored
	flat := small(16, 16, 16, 0, 0, 3) // size = stride: pool of 2 kernels, own block only forced
	odd := small(48, 40, 8, 2, 1, 6)   // r = 6, pool of 7
	tiny := small(8, 8, 4, 0, 2, 4)    // many blocks
	lengths := []int{1, 17, 63, 65, 200, 1000, 2100}
	mid := []int{1, 17, 63, 65, 200, 1000}
	cases := []struct {
		name    string
		s       Shape
		cfg     SparseConfig
		lengths []int
	}{
		{"default/G1", Shape{2, 2, 8}, def, lengths},
		{"default/G2", Shape{4, 2, 8}, def, lengths},
		{"default/G4", Shape{8, 2, 8}, def, mid},
		{"default/G16", Shape{16, 1, 8}, def, mid},
		{"default-topk96/G2", Shape{4, 2, 8}, DefaultSparse(), []int{63, 65, 2100}},
		{"approx/G1", Shape{1, 1, 16}, approx(def, 128, 64), lengths},
		{"approx/G4", Shape{8, 2, 8}, approx(def, 128, 64), mid},
		{"approx/G16", Shape{16, 1, 8}, approx(def, 128, 64), []int{65, 200, 1000}},
		{"b32s8k16/G2", Shape{4, 2, 8}, b32, lengths},
		{"b32s8k16-approx/G4", Shape{8, 2, 8}, approx(b32, 64, 32), lengths},
		{"b32s8k16-approx-gappy/G2", Shape{4, 2, 8}, approx(b32, 20, 50), mid},
		{"nope/G2", Shape{4, 2, 8}, nope(def), lengths},
		{"nope-approx/G16", Shape{16, 1, 8}, nope(approx(b32, 64, 32)), mid},
		{"wide/G2", Shape{4, 2, 8}, wide, mid},
		{"flat/G4", Shape{8, 2, 8}, flat, mid},
		{"odd/G1", Shape{3, 3, 5}, odd, mid},
		{"tiny/G2", Shape{2, 1, 4}, tiny, []int{1, 17, 63, 65, 200}},
	}
	ties := 0
	for ci, tc := range cases {
		for _, n := range tc.lengths {
			t.Run(fmt.Sprintf("%s/n=%d", tc.name, n), func(t *testing.T) {
				seed := uint64(1000*ci + n)
				full, q := randomInput(seed, tc.s, n, n, tc.cfg.UseNoPE)
				m := mustMode(NewSparse(tc.cfg))
				hkv, qs, d, G := tc.s.KVHeads, tc.s.Heads*tc.s.HeadDim, tc.s.HeadDim, tc.s.Group()
				// check compares the call's results for query positions
				// [lo, hi) of cache c with naiveSparse.
				check := func(c *Cache, lo, hi int) {
					st := &Stats{RecordSelection: true}
					out := run(t, m, c, subQuery(tc.s, q, lo, hi), st)
					for p := lo; p < hi; p++ {
						var qn []float32
						if q.QNoPE != nil {
							qn = q.QNoPE[p*qs : (p+1)*qs]
						}
						for g := 0; g < hkv; g++ {
							sel, score, want := naiveSparse(c, q.Q[p*qs:(p+1)*qs], qn, p, g, tc.cfg)
							got := st.Selected[(p-lo)*hkv+g]
							if !equalSel(got, sel) {
								if !nearTie(got, sel, score) {
									t.Fatalf("t=%d g=%d: selected %v, naive %v (scores %v)", p, g, got, sel, score)
								}
								ties++
								continue
							}
							gotOut := out[(p-lo)*qs+g*G*d : (p-lo)*qs+(g+1)*G*d]
							for x := range want {
								if e := math.Abs(float64(gotOut[x])-want[x]) / max(math.Abs(want[x]), 1); e > 1e-5 {
									t.Fatalf("t=%d g=%d: out[%d] = %g, naive %g", p, g, x, gotOut[x], want[x])
								}
							}
						}
					}
				}
				if n <= 256 { // one prefill, every position
					check(full, 0, n)
					return
				}
				check(full, n-64, n) // the last chunk of a chunked prefill
				for _, p := range checkPositions(n, tc.cfg.BlockSize, seed) {
					check(prefix(full, p+1), p, p+1) // decode steps
				}
			})
		}
	}
	if ties > 0 {
		t.Logf("%d selections differed from the naive one only in a near tie", ties)
	}
}

// TestSparseTieBreak makes every kernel equal (all keys the same), so every
// scored block ties: the lowest block indices must win.
func TestSparseTieBreak(t *testing.T) {
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 8}
	n := 300
	c, q := randomInput(9, s, n, n, false)
	for i := range c.K {
		c.K[i] = float32(i%s.HeadDim) * 0.25
	}
	cfg := DefaultSparse()
	cfg.BlockSize, cfg.KernelSize, cfg.KernelStride = 16, 16, 8
	cfg.InitBlocks, cfg.LocalBlocks, cfg.TopK = 1, 2, 7
	st := &Stats{RecordSelection: true}
	run(t, mustMode(NewSparse(cfg)), c, q, st)
	for p := 0; p < n; p++ {
		bq := p / 16
		var want []int32
		free := cfg.TopK - 1 - min(cfg.LocalBlocks+1, bq) // init block 0, local blocks
		for j := 0; j <= bq; j++ {
			switch {
			case j < 1 || j >= bq-2:
				want = append(want, int32(j))
			case free > 0:
				want = append(want, int32(j))
				free--
			}
		}
		for g := 0; g < 2; g++ {
			if got := st.Selected[p*2+g]; !equalSel(got, want) {
				t.Fatalf("t=%d g=%d: selected %v, want %v", p, g, got, want)
			}
		}
	}

	// The oracle ties the same way: uniform attention gives every full
	// block the same mass, more than the query's partial own block.
	st = &Stats{RecordSelection: true}
	run(t, mustMode(NewOracle(16, 5)), c, q, st)
	for p := 0; p < n; p++ {
		bq := p / 16
		// Even when the own block is full (p%16 == 15) it only ties, and
		// loses on its index.
		want := []int32{0, 1, 2, 3, 4}
		if bq < 5 {
			want = want[:bq+1]
		}
		for g := 0; g < 2; g++ {
			if got := st.Selected[p*2+g]; !equalSel(got, want) {
				t.Fatalf("oracle t=%d g=%d: selected %v, want %v", p, g, got, want)
			}
		}
	}
}
