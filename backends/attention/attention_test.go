package attention

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
)

// smallSparse is a sparse configuration with small blocks, so that short
// test inputs have many blocks and selection matters.
func smallSparse() SparseConfig {
	c := DefaultSparse()
	c.BlockSize, c.KernelSize, c.KernelStride = 16, 16, 8
	c.InitBlocks, c.LocalBlocks, c.TopK = 1, 2, 6
	c.ApproxKernelSize, c.ApproxKernelStride = 32, 16
	return c
}

func TestSparseAllBlocksEqualsDense(t *testing.T) {
	t.Parallel()
	big := smallSparse()
	big.TopK = 1000
	bigApprox := big
	bigApprox.LSE = "approx"
	bigNoPE := big
	bigNoPE.UseNoPE = true
	cases := []struct {
		s   Shape
		cfg SparseConfig
		n   int
	}{
		{Shape{2, 1, 4}, DefaultSparse(), 1000},
		{Shape{16, 1, 4}, DefaultSparse(), 333},
		{Shape{6, 3, 5}, DefaultSparse(), 130},
		{Shape{2, 2, 16}, big, 400},
		{Shape{8, 2, 4}, bigApprox, 501},
		{Shape{4, 4, 3}, bigNoPE, 257},
		{Shape{1, 1, 1}, big, 40},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprintf("%v/n=%d/topk=%d/%s", tc.s, tc.n, tc.cfg.TopK, tc.cfg.LSE), func(t *testing.T) {
			c, q := randomInput(uint64(i), tc.s, tc.n, tc.n, tc.cfg.UseNoPE)
			want := run(t, NewDense(), c, q, nil)
			got := run(t, mustMode(NewSparse(tc.cfg)), c, q, nil)
			if e := maxRelErr(got, want); e > 1e-5 {
				t.Fatalf("sparse vs dense: max relative error %g", e)
			}
		})
	}
}

// checkSelection checks the invariants of a sparse selection for query
// position p: sorted, at most topk blocks, none after the query's own, and
// every forced block present.
func checkSelection(t *testing.T, sel []int32, p int, cfg SparseConfig) {
	t.Helper()
	bq := p / cfg.BlockSize
	if !slices.IsSorted(sel) || len(slices.Compact(slices.Clone(sel))) != len(sel) {
		t.Fatalf("t=%d: selection %v not strictly increasing", p, sel)
	}
	if len(sel) > cfg.TopK {
		t.Fatalf("t=%d: %d blocks selected, topk %d", p, len(sel), cfg.TopK)
	}
	for _, j := range sel {
		if int(j) > bq || j < 0 {
			t.Fatalf("t=%d: block %d selected, own block %d", p, j, bq)
		}
	}
	for j := 0; j <= bq; j++ {
		if (j < cfg.InitBlocks || j >= bq-cfg.LocalBlocks) && !slices.Contains(sel, int32(j)) {
			t.Fatalf("t=%d: forced block %d missing from %v", p, j, sel)
		}
	}
}

func TestSparseForcedAndCausal(t *testing.T) {
	t.Parallel()
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 4}
	n := 1100
	for _, lse := range []string{"exact", "approx"} {
		for _, cfg := range []SparseConfig{smallSparse(), func() SparseConfig {
			c := DefaultSparse()
			c.InitBlocks, c.LocalBlocks, c.TopK = 2, 3, 8
			return c
		}()} {
			cfg.LSE = lse
			t.Run(fmt.Sprintf("B=%d/%s", cfg.BlockSize, lse), func(t *testing.T) {
				c, q := randomInput(5, s, n, n, false)
				st := &Stats{RecordSelection: true}
				run(t, mustMode(NewSparse(cfg)), c, q, st)
				if len(st.Selected) != n*s.KVHeads {
					t.Fatalf("%d selections recorded, want %d", len(st.Selected), n*s.KVHeads)
				}
				for p := 0; p < n; p++ {
					for g := 0; g < s.KVHeads; g++ {
						sel := st.Selected[p*s.KVHeads+g]
						checkSelection(t, sel, p, cfg)
						// KernelSize <= BlockSize: every block has a score,
						// so the budget is always used in full.
						if want := min(cfg.TopK, p/cfg.BlockSize+1); len(sel) != want {
							t.Fatalf("t=%d: %d blocks selected, want %d", p, len(sel), want)
						}
					}
				}
			})
		}
	}
}

// allModes returns one mode of each kind, with small blocks, for the
// equivalence tests.
func allModes(t *testing.T) []Mode {
	t.Helper()
	cfg := smallSparse()
	approx := cfg
	approx.LSE = "approx"
	nope := cfg
	nope.UseNoPE = true
	dense16 := mustMode(NewDenseBlockSize(16))
	return []Mode{
		NewDense(),
		&named{dense16, "dense-b16"},
		mustMode(NewSparse(cfg)),
		&named{mustMode(NewSparse(approx)), "sparse-approx"},
		&named{mustMode(NewSparse(nope)), "sparse-nope"},
		// Switching decides per call on the total length, so a prefill and
		// a decode that crosses dense_len legitimately differ (that case is
		// TestSwitching's); here each stays on one side.
		&named{mustMode(NewSwitching(1000, cfg)), "switching-dense"},
		&named{mustMode(NewSwitching(-1, approx)), "switching-always"},
		mustMode(NewStreaming(16, 1, 2)),
		mustMode(NewOracle(16, 6)),
	}
}

// TestDecodeEqualsPrefill checks, for every mode, that a token's output and
// selection are the same whether it is computed in one prefill, in chunks
// of 37 tokens or by decoding one token at a time on a growing cache. The
// modes compute every token alone with the same loops, so the results must
// be bit-identical.
func TestDecodeEqualsPrefill(t *testing.T) {
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 8}
	n := 260
	full, q := randomInput(11, s, n, n, true)
	row, qs := s.KVHeads*s.HeadDim, s.Heads*s.HeadDim
	for _, m := range allModes(t) {
		t.Run(m.Name(), func(t *testing.T) {
			stP := &Stats{RecordSelection: true}
			want := run(t, m, full, q, stP)
			for _, chunk := range []int{1, 37} {
				c := NewCache(s, 0)
				st := &Stats{RecordSelection: true}
				for lo := 0; lo < n; lo += chunk {
					hi := min(lo+chunk, n)
					if err := c.Append(full.K[lo*row:hi*row], full.V[lo*row:hi*row], full.KNoPE[lo*row:hi*row]); err != nil {
						t.Fatal(err)
					}
					got := run(t, m, c, subQuery(s, q, lo, hi), st)
					if !slices.Equal(got, want[lo*qs:hi*qs]) {
						t.Fatalf("chunk %d, tokens [%d,%d): output differs from prefill by %g", chunk, lo, hi, maxRelErr(got, want[lo*qs:hi*qs]))
					}
				}
				if len(st.Selected) != len(stP.Selected) {
					t.Fatalf("chunk %d: %d selections, prefill %d", chunk, len(st.Selected), len(stP.Selected))
				}
				for i := range st.Selected {
					if !equalSel(st.Selected[i], stP.Selected[i]) {
						t.Fatalf("chunk %d: selection %d = %v, prefill %v", chunk, i, st.Selected[i], stP.Selected[i])
					}
				}
				if st.Tokens != stP.Tokens || st.Blocks != stP.Blocks || st.VisibleTokens != stP.VisibleTokens || st.FLOPs != stP.FLOPs || st.KVBytes != stP.KVBytes {
					t.Fatalf("chunk %d: stats %+v, prefill %+v", chunk, st, stP)
				}
			}
		})
	}
}

func TestSwitching(t *testing.T) {
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 8}
	cfg := smallSparse()
	const denseLen = 200
	n := 240
	full, q := randomInput(21, s, n, n, false)
	sw := mustMode(NewSwitching(denseLen, cfg))
	sp := mustMode(NewSparse(cfg))

	// Prefill of a whole prompt: the total length decides.
	for _, L := range []int{1, 150, denseLen - 1, denseLen, denseLen + 1, n} {
		c := prefix(full, L)
		ql := subQuery(s, q, 0, L)
		st := &Stats{}
		got := run(t, sw, c, ql, st)
		var want []float32
		if L < denseLen {
			want = run(t, NewDense(), c, ql, nil)
			if st.DenseCalls != 1 || st.SparseCalls != 0 {
				t.Errorf("L=%d: dense calls %d, sparse calls %d, want 1, 0", L, st.DenseCalls, st.SparseCalls)
			}
		} else {
			want = run(t, sp, c, ql, nil)
			if st.DenseCalls != 0 || st.SparseCalls != 1 {
				t.Errorf("L=%d: dense calls %d, sparse calls %d, want 0, 1", L, st.DenseCalls, st.SparseCalls)
			}
			if d := run(t, NewDense(), c, ql, nil); slices.Equal(d, want) {
				t.Fatalf("L=%d: sparse equals dense: the test input does not tell them apart", L)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("L=%d: switching differs from the expected mode by %g", L, maxRelErr(got, want))
		}
	}

	// Decoding (and chunked prefill) across the threshold: each call
	// follows its own total length, from an empty cache and from a prompt
	// of 190 tokens prefilled densely.
	row := s.KVHeads * s.HeadDim
	for _, tc := range []struct{ start, chunk int }{{0, 1}, {190, 1}, {0, 37}} {
		c := prefix(full, tc.start)
		st := &Stats{}
		var wantD, wantS int
		if tc.start > 0 {
			run(t, sw, c, subQuery(s, q, 0, tc.start), st)
			wantD++
		}
		for lo := tc.start; lo < n; lo += tc.chunk {
			hi := min(lo+tc.chunk, n)
			if err := c.Append(full.K[lo*row:hi*row], full.V[lo*row:hi*row], nil); err != nil {
				t.Fatal(err)
			}
			ql := subQuery(s, q, lo, hi)
			got := run(t, sw, c, ql, st)
			ref := sp
			if hi < denseLen {
				ref = NewDense()
				wantD++
			} else {
				wantS++
			}
			want := run(t, ref, prefix(full, hi), ql, nil)
			if !slices.Equal(got, want) {
				t.Fatalf("%+v: call on tokens [%d,%d): switching differs from %s by %g", tc, lo, hi, ref.Name(), maxRelErr(got, want))
			}
		}
		if st.DenseCalls != wantD || st.SparseCalls != wantS || st.Calls != wantD+wantS {
			t.Errorf("%+v: dense calls %d, sparse calls %d, want %d, %d", tc, st.DenseCalls, st.SparseCalls, wantD, wantS)
		}
		if tc.start == 190 && (wantD != 10 || wantS != n-denseLen+1) {
			t.Errorf("bad test: %d dense and %d sparse calls", wantD, wantS)
		}
	}

	// dense_len = -1: always sparse, even for one token.
	always := mustMode(NewSwitching(-1, cfg))
	for _, L := range []int{1, 50, n} {
		c := prefix(full, L)
		ql := subQuery(s, q, 0, L)
		st := &Stats{}
		got := run(t, always, c, ql, st)
		if want := run(t, sp, c, ql, nil); !slices.Equal(got, want) || st.SparseCalls != 1 || st.DenseCalls != 0 {
			t.Errorf("dense_len=-1, L=%d: not sparse (calls %+v)", L, st)
		}
	}
}

func TestOracleMassDominates(t *testing.T) {
	t.Parallel()
	s := Shape{Heads: 4, KVHeads: 1, HeadDim: 8}
	n := 800
	c, q := randomInput(31, s, n, n, false)
	for _, cfg := range []SparseConfig{smallSparse(), func() SparseConfig {
		c := DefaultSparse()
		c.LocalBlocks, c.TopK, c.LSE = 2, 6, "approx"
		return c
	}()} {
		t.Run(fmt.Sprintf("B=%d/%s", cfg.BlockSize, cfg.LSE), func(t *testing.T) {
			mass := BlockMass(c, q, cfg.BlockSize)
			stS := &Stats{RecordSelection: true}
			run(t, mustMode(NewSparse(cfg)), c, q, stS)
			stO := &Stats{RecordSelection: true}
			run(t, mustMode(NewOracle(cfg.BlockSize, cfg.TopK)), c, q, stO)
			stL := &Stats{RecordSelection: true}
			run(t, mustMode(NewStreaming(cfg.BlockSize, cfg.InitBlocks, cfg.LocalBlocks)), c, q, stL)
			sum := func(row []float64, sel []int32) float64 {
				var m float64
				for _, j := range sel {
					m += row[j]
				}
				return m
			}
			var totS, totO, totL float64
			for i, row := range mass {
				o, sp, l := sum(row, stO.Selected[i]), sum(row, stS.Selected[i]), sum(row, stL.Selected[i])
				if o < sp-1e-12 || o < l-1e-12 {
					t.Fatalf("pair %d: oracle mass %g < sparse %g or streaming %g", i, o, sp, l)
				}
				if len(stO.Selected[i]) != min(cfg.TopK, len(row)) {
					t.Fatalf("pair %d: oracle selected %d blocks, want %d", i, len(stO.Selected[i]), min(cfg.TopK, len(row)))
				}
				totS, totO, totL = totS+sp, totO+o, totL+l
			}
			g := float64(s.Group() * len(mass))
			t.Logf("mean captured mass: oracle %.3f, sparse %.3f, streaming %.3f", totO/g, totS/g, totL/g)
		})
	}
}

func TestBlockMass(t *testing.T) {
	s := Shape{Heads: 6, KVHeads: 2, HeadDim: 8}
	c, q := randomInput(41, s, 300, 70, false)
	mass := BlockMass(c, q, 32)
	if len(mass) != 70*2 {
		t.Fatalf("%d rows, want 140", len(mass))
	}
	for i, row := range mass {
		p := 300 - 70 + i/2
		if len(row) != p/32+1 {
			t.Fatalf("row %d: %d blocks, want %d", i, len(row), p/32+1)
		}
		var sum float64
		for _, m := range row {
			if m < 0 {
				t.Fatalf("row %d: negative mass %g", i, m)
			}
			sum += m
		}
		if math.Abs(sum-3) > 1e-9 {
			t.Fatalf("row %d sums to %g, want G = 3", i, sum)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "block_size = 0") {
			t.Fatalf("BlockMass with block size 0: recovered %v", r)
		}
	}()
	BlockMass(c, q, 0)
}

func TestStreamingSelection(t *testing.T) {
	s := Shape{Heads: 2, KVHeads: 1, HeadDim: 8}
	n := 400
	c, q := randomInput(51, s, n, n, false)
	for _, tc := range []struct{ b, init, local int }{{16, 1, 2}, {16, 0, 0}, {32, 3, 1}, {7, 2, 5}} {
		st := &Stats{RecordSelection: true}
		run(t, mustMode(NewStreaming(tc.b, tc.init, tc.local)), c, q, st)
		var tokens int64
		for p := 0; p < n; p++ {
			bq := p / tc.b
			var want []int32
			for j := 0; j <= bq; j++ {
				if j < tc.init || j >= bq-tc.local {
					want = append(want, int32(j))
					tokens += int64(min(tc.b, p+1-j*tc.b))
				}
			}
			if got := st.Selected[p]; !equalSel(got, want) {
				t.Fatalf("%+v t=%d: selected %v, want %v", tc, p, got, want)
			}
		}
		if st.Tokens != tokens {
			t.Fatalf("%+v: %d tokens attended, want %d", tc, st.Tokens, tokens)
		}
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 4}
	H, Hkv, d, G := int64(4), int64(2), int64(4), int64(2)
	n := 600
	c, q := randomInput(61, s, n, n, false)
	N := int64(n)

	t.Run("dense", func(t *testing.T) {
		st := &Stats{}
		run(t, NewDense(), c, q, st)
		// Per query token t and query head: 2*d*(t+1) multiply-adds (QK and
		// PV), 2 FLOPs each; summed over t: 2*H*d*n*(n+1).
		if want := float64(2 * H * d * N * (N + 1)); st.FLOPs != want {
			t.Errorf("FLOPs %g, want 2*H*d*n*(n+1) = %g", st.FLOPs, want)
		}
		if want := 4 * d * Hkv * N * (N + 1); st.KVBytes != want {
			t.Errorf("KVBytes %d, want 4*d*Hkv*n*(n+1) = %d", st.KVBytes, want)
		}
		vis := Hkv * N * (N + 1) / 2
		if st.VisibleTokens != vis || st.Tokens != vis {
			t.Errorf("tokens %d, visible %d, want %d", st.Tokens, st.VisibleTokens, vis)
		}
		var blocks int64
		for p := 0; p < n; p++ {
			blocks += Hkv * int64(p/64+1)
		}
		if st.Blocks != blocks || st.Calls != 1 || st.DenseCalls != 1 || st.SparseCalls != 0 || st.QueryTokens != N {
			t.Errorf("stats %+v", st)
		}
		if st.Selected != nil {
			t.Errorf("selections recorded without RecordSelection")
		}
	})

	for _, lse := range []string{"exact", "approx"} {
		t.Run("sparse-"+lse, func(t *testing.T) {
			cfg := smallSparse()
			cfg.LSE = lse
			st := &Stats{RecordSelection: true}
			run(t, mustMode(NewSparse(cfg)), c, q, st)
			var flops float64
			var bytes, tokens, blocks int64
			for p := 0; p < n; p++ {
				nk := int64(visibleCount(p+1, cfg.KernelSize, cfg.KernelStride))
				var nc int64
				if lse == "approx" && nk > 0 {
					nc = int64(visibleCount(p+1, cfg.ApproxKernelSize, cfg.ApproxKernelStride))
				}
				for g := 0; g < 2; g++ {
					var T int64
					for _, j := range st.Selected[p*2+g] {
						T += int64(min(cfg.BlockSize, p+1-int(j)*cfg.BlockSize))
					}
					flops += float64(2 * G * (d*(nk+nc) + 2*d*T))
					bytes += 4 * d * (2*T + nk + nc)
					tokens += T
					blocks += int64(len(st.Selected[p*2+g]))
				}
			}
			if st.FLOPs != flops || st.KVBytes != bytes || st.Tokens != tokens || st.Blocks != blocks {
				t.Errorf("stats %+v; want FLOPs %g KVBytes %d Tokens %d Blocks %d", st, flops, bytes, tokens, blocks)
			}
			if st.SparseCalls != 1 || st.DenseCalls != 0 || st.Calls != 1 {
				t.Errorf("calls %+v", st)
			}
			frac := float64(st.Tokens) / float64(st.VisibleTokens)
			if frac >= 0.5 {
				t.Errorf("attended fraction %g with topk %d blocks of %d at n=%d, want < 0.5", frac, cfg.TopK, cfg.BlockSize, n)
			}
		})
	}

	t.Run("oracle", func(t *testing.T) {
		st := &Stats{RecordSelection: true}
		run(t, mustMode(NewOracle(16, 6)), c, q, st)
		var flops float64
		for p := 0; p < n; p++ {
			for g := 0; g < 2; g++ {
				var T int64
				for _, j := range st.Selected[p*2+g] {
					T += int64(min(16, p+1-int(j)*16))
				}
				flops += float64(2 * G * (d*int64(p+1) + 2*d*T))
			}
		}
		if st.FLOPs != flops || st.SparseCalls != 1 {
			t.Errorf("FLOPs %g, want %g; calls %d", st.FLOPs, flops, st.SparseCalls)
		}
	})

	t.Run("accumulates", func(t *testing.T) {
		st := &Stats{}
		m := NewDense()
		run(t, m, c, q, st)
		run(t, m, c, subQuery(s, q, n-1, n), st)
		if st.Calls != 2 || st.QueryTokens != N+1 || st.FLOPs != float64(2*H*d*N*(N+1)+4*H*d*N) {
			t.Errorf("stats after two calls %+v", st)
		}
	})
}

func TestForwardErrors(t *testing.T) {
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 8}
	c, q := randomInput(71, s, 20, 5, false)
	qs := s.Heads * s.HeadDim
	cfg := smallSparse()
	cfg.UseNoPE = true
	nopeModes := []Mode{mustMode(NewSparse(cfg)), mustMode(NewSwitching(1000, cfg))}
	cases := []struct {
		name string
		c    *Cache
		q    Query
		out  int
		want string
	}{
		{"m=0", c, Query{M: 0, Q: nil}, 0, "q.M = 0"},
		{"m>len", c, Query{M: 21, Q: make([]float32, 21*qs)}, 21 * qs, "q.M = 21"},
		{"short q", c, Query{M: 5, Q: q.Q[:4*qs]}, 5 * qs, "len(q.Q) = 128"},
		{"short out", c, q, 5*qs - 1, "len(out) = 159"},
		{"nil cache", nil, q, 5 * qs, "nil cache"},
		{"bad shape", &Cache{Shape: Shape{3, 2, 8}}, q, 5 * qs, "not a multiple"},
	}
	for _, m := range allModes(t) {
		for _, tc := range cases {
			err := m.Forward(tc.c, tc.q, make([]float32, tc.out), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %s: err %v, want it to mention %q", m.Name(), tc.name, err, tc.want)
			}
		}
	}
	for _, m := range nopeModes {
		err := m.Forward(c, q, make([]float32, 5*qs), nil)
		if err == nil || !strings.Contains(err.Error(), "len(q.QNoPE) = 0") {
			t.Errorf("%s without QNoPE: err %v", m.Name(), err)
		}
		q2 := q
		q2.QNoPE = q.Q
		err = m.Forward(c, q2, make([]float32, 5*qs), nil)
		if err == nil || !strings.Contains(err.Error(), "len(KNoPE) = 0") {
			t.Errorf("%s without KNoPE: err %v", m.Name(), err)
		}
	}
	// A failed call leaves the stats alone.
	st := &Stats{}
	if err := NewDense().Forward(c, Query{}, nil, st); err == nil || st.Calls != 0 {
		t.Errorf("failed call: err %v, stats %+v", err, st)
	}
}

func TestConstructorErrors(t *testing.T) {
	bad := func(f func(*SparseConfig)) SparseConfig {
		c := DefaultSparse()
		f(&c)
		return c
	}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"sparse block", second(NewSparse(bad(func(c *SparseConfig) { c.BlockSize = 0 }))), "block_size = 0"},
		{"sparse stride", second(NewSparse(bad(func(c *SparseConfig) { c.KernelStride = 24 }))), "multiple of kernel_stride 24"},
		{"sparse lse", second(NewSparse(bad(func(c *SparseConfig) { c.LSE = "fast" }))), `lse = "fast"`},
		{"sparse topk", second(NewSparse(bad(func(c *SparseConfig) { c.TopK = 10 }))), "topk = 10"},
		{"sparse overflow", second(NewSparse(bad(func(c *SparseConfig) { c.InitBlocks = math.MaxInt }))), "topk = 96"},
		{"sparse approx", second(NewSparse(bad(func(c *SparseConfig) { c.LSE, c.ApproxKernelStride = "approx", 0 }))), "approx_kernel_stride = 0"},
		{"switching", second(NewSwitching(-2, DefaultSparse())), "dense_len = -2"},
		{"switching cfg", second(NewSwitching(10, bad(func(c *SparseConfig) { c.KernelSize = 8 }))), "kernel_size 8"},
		{"streaming block", second(NewStreaming(0, 1, 1)), "block_size = 0"},
		{"streaming local", second(NewStreaming(64, 1, -1)), "local_blocks = -1"},
		{"oracle topk", second(NewOracle(64, 0)), "topk = 0"},
		{"oracle block", second(NewOracle(-1, 5)), "block_size = -1"},
		{"dense block", second(NewDenseBlockSize(0)), "block_size = 0"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: err %v, want it to mention %q", tc.name, tc.err, tc.want)
		}
	}
}

func second(_ Mode, err error) error { return err }

// TestCompressedState checks the compressed keys kept in the cache: built
// incrementally they equal those built at once, Truncate drops them, and
// Cache.Bytes counts them.
func TestCompressedState(t *testing.T) {
	s := Shape{Heads: 4, KVHeads: 2, HeadDim: 8}
	n := 300
	full, q := randomInput(81, s, n, n, false)
	cfg := smallSparse()
	m := mustMode(NewSparse(cfg))
	key := compKey{cfg.KernelSize, cfg.KernelStride, false}

	once := prefix(full, n)
	run(t, m, once, q, nil)
	a := once.Aux(key, nil).(*compressed)
	if a.n != visibleCount(n, 16, 8) {
		t.Fatalf("%d kernels, want %d", a.n, visibleCount(n, 16, 8))
	}
	if once.Bytes() <= int64(len(once.K)+len(once.V))*4 {
		t.Errorf("Cache.Bytes %d does not count the compressed keys", once.Bytes())
	}

	inc := prefix(full, 1)
	row := s.KVHeads * s.HeadDim
	for p := 1; p <= n; p++ {
		if p > 1 {
			if err := inc.Append(full.K[(p-1)*row:p*row], full.V[(p-1)*row:p*row], nil); err != nil {
				t.Fatal(err)
			}
		}
		run(t, m, inc, subQuery(s, q, p-1, p), nil)
	}
	b := inc.Aux(key, nil).(*compressed)
	for g := range a.kc {
		if !slices.Equal(a.kc[g], b.kc[g]) {
			t.Fatalf("head %d: incremental kernels differ from the ones computed at once", g)
		}
	}

	// Truncate, then grow with other keys: the kernels must follow.
	other, _ := randomInput(82, s, n, 1, false)
	inc.Truncate(100)
	if err := inc.Append(other.K[100*row:], other.V[100*row:], nil); err != nil {
		t.Fatal(err)
	}
	ref := prefix(full, 100)
	if err := ref.Append(other.K[100*row:], other.V[100*row:], nil); err != nil {
		t.Fatal(err)
	}
	got := run(t, m, inc, q, nil)
	want := run(t, m, ref, q, nil)
	if !slices.Equal(got, want) {
		t.Fatalf("after Truncate and Append: output differs by %g", maxRelErr(got, want))
	}
}

func TestModeNames(t *testing.T) {
	for _, tc := range []struct {
		m          Mode
		name, desc string
	}{
		{NewDense(), "dense", "block_size=64"},
		{mustMode(NewSparse(DefaultSparse())), "sparse", "topk=96 lse=exact use_nope=false"},
		{mustMode(NewSwitching(8192, DefaultSparse())), "switching", "dense_len=8192 block_size=64"},
		{mustMode(NewStreaming(64, 1, 32)), "streaming", "local_blocks=32"},
		{mustMode(NewOracle(64, 96)), "oracle", "topk=96"},
	} {
		if tc.m.Name() != tc.name || !strings.Contains(fmt.Sprint(tc.m), tc.desc) {
			t.Errorf("Name %q, String %q; want %q and %q", tc.m.Name(), fmt.Sprint(tc.m), tc.name, tc.desc)
		}
	}
}

func FuzzSparse(f *testing.F) {
	f.Add(uint64(1), uint16(100), uint8(2), uint8(2), uint8(8), uint8(16), uint8(8), uint8(16), uint8(1), uint8(2), uint16(6), false, false, uint8(32), uint8(16))
	f.Add(uint64(2), uint16(65), uint8(1), uint8(16), uint8(3), uint8(64), uint8(16), uint8(32), uint8(1), uint8(32), uint16(96), true, true, uint8(128), uint8(64))
	f.Add(uint64(3), uint16(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(1), uint8(0), uint8(0), uint16(1), true, false, uint8(1), uint8(1))
	f.Add(uint64(4), uint16(299), uint8(3), uint8(3), uint8(5), uint8(12), uint8(4), uint8(30), uint8(0), uint8(1), uint16(3), false, true, uint8(0), uint8(7))
	f.Add(uint64(5), uint16(50), uint8(2), uint8(1), uint8(4), uint8(0), uint8(0), uint8(0), uint8(200), uint8(200), uint16(0), true, false, uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, seed uint64, n16 uint16, hkv8, g8, d8, block, stride, size, init, local uint8, topk uint16, approx, nope bool, asize, astride uint8) {
		n := 1 + int(n16)%300
		s := Shape{KVHeads: 1 + int(hkv8)%3, HeadDim: 1 + int(d8)%9}
		s.Heads = s.KVHeads * (1 + int(g8)%4)
		cfg := SparseConfig{
			BlockSize: int(block), KernelSize: int(size), KernelStride: int(stride),
			InitBlocks: int(init), LocalBlocks: int(local), TopK: int(topk), LSE: "exact",
			ApproxKernelSize: int(asize), ApproxKernelStride: int(astride), UseNoPE: nope,
		}
		if approx {
			cfg.LSE = "approx"
		}
		m, err := NewSparse(cfg)
		if err != nil {
			if cfg.Validate() == nil {
				t.Fatalf("NewSparse failed on a valid config: %v", err)
			}
			return
		}
		c, q := randomInput(seed, s, n, n, nope)
		st := &Stats{RecordSelection: true}
		got := run(t, m, c, q, st)
		for p := 0; p < n; p++ {
			for g := 0; g < s.KVHeads; g++ {
				checkSelection(t, st.Selected[p*s.KVHeads+g], p, cfg)
			}
		}
		for i, v := range got {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("out[%d] = %g", i, v)
			}
		}
		if cfg.KernelSize <= cfg.BlockSize && cfg.TopK >= (n-1)/cfg.BlockSize+1 {
			if e := maxRelErr(got, run(t, NewDense(), c, q, nil)); e > 1e-5 {
				t.Fatalf("topk covers every block but sparse differs from dense by %g", e)
			}
		}
		// The last token decoded alone gives the same output.
		last := run(t, m, c, subQuery(s, q, n-1, n), nil)
		qs := s.Heads * s.HeadDim
		if !slices.Equal(last, got[(n-1)*qs:]) {
			t.Fatalf("decode of the last token differs from prefill by %g", maxRelErr(last, got[(n-1)*qs:]))
		}
	})
}

// TestSparseOddConfigs runs valid but extreme configurations: huge blocks,
// kernels or coarse kernels longer than the input, stride 1, everything
// forced. None may panic, and every forced block is selected.
func TestSparseOddConfigs(t *testing.T) {
	s := Shape{Heads: 3, KVHeads: 1, HeadDim: 3}
	c, q := randomInput(91, s, 150, 150, true)
	for _, cfg := range []SparseConfig{
		{BlockSize: 1 << 40, KernelSize: 1 << 40, KernelStride: 1 << 40, TopK: 1, LSE: "exact"},
		{BlockSize: 1 << 20, KernelSize: 3, KernelStride: 1, TopK: 2, InitBlocks: 1, LSE: "approx", ApproxKernelSize: 1 << 30, ApproxKernelStride: 1},
		{BlockSize: 1, KernelSize: 1, KernelStride: 1, TopK: 3, LocalBlocks: 1, LSE: "approx", ApproxKernelSize: 1, ApproxKernelStride: 1 << 30},
		{BlockSize: 2, KernelSize: 500, KernelStride: 2, TopK: 50, InitBlocks: 20, LocalBlocks: 29, LSE: "exact", UseNoPE: true},
		{BlockSize: 5, KernelSize: 7, KernelStride: 5, TopK: math.MaxInt, InitBlocks: math.MaxInt / 2, LocalBlocks: math.MaxInt / 4, LSE: "exact"},
	} {
		m, err := NewSparse(cfg)
		if err != nil {
			t.Fatalf("%+v: %v", cfg, err)
		}
		st := &Stats{RecordSelection: true}
		run(t, m, c, q, st)
		for p := 0; p < 150; p++ {
			checkSelection(t, st.Selected[p], p, cfg)
		}
	}
}
