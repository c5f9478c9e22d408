package flash

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
)

func randSlice(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

// input draws keys with some structure (a few strong directions) so that
// attention is peaked and selections are well separated.
func input(seed uint64, s attention.Shape, n, m int) (*attention.Cache, attention.Query) {
	rng := rand.New(rand.NewPCG(seed, 7))
	k := randSlice(rng, s.KVSize(n), 1)
	v := randSlice(rng, s.KVSize(n), 1)
	// Plant a few heavy keys (each at most once: compounding them would
	// make logits of thousands, where float32 itself cannot hold 1e-5).
	heavy := map[int]bool{}
	for p := 0; p < 8 && n > 0; p++ {
		t := rng.IntN(n)
		if heavy[t] {
			continue
		}
		heavy[t] = true
		for x := 0; x < s.KVHeads*s.HeadDim; x++ {
			k[t*s.KVHeads*s.HeadDim+x] *= 3
		}
	}
	c := attention.NewCache(s, n)
	if err := c.Append(k, v, k); err != nil {
		panic(err)
	}
	q := randSlice(rng, s.QSize(m), 1)
	return c, attention.Query{M: m, Q: q, QNoPE: q}
}

// relErr is the largest relative L2 error over output rows.
func relErr(got, want []float32, d int) float64 {
	worst := 0.0
	for r := 0; r+d <= len(want); r += d {
		var num, den float64
		for x := r; x < r+d; x++ {
			e := float64(got[x]) - float64(want[x])
			num += e * e
			den += float64(want[x]) * float64(want[x])
		}
		if den > 0 {
			worst = max(worst, math.Sqrt(num/den))
		} else {
			worst = max(worst, math.Sqrt(num))
		}
	}
	return worst
}

type pair struct {
	name      string
	ref, fast attention.Mode
}

func modes(t testing.TB, cfg attention.SparseConfig, threads int) []pair {
	t.Helper()
	must := func(m attention.Mode, err error) attention.Mode {
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	fd, _ := NewDense(cfg.BlockSize, threads)
	fs, err := NewSparse(cfg, threads)
	if err != nil {
		t.Fatal(err)
	}
	fsw, _ := NewSwitching(300, cfg, threads)
	fst, _ := NewStreaming(cfg.BlockSize, cfg.InitBlocks, 2, threads)
	return []pair{
		{"dense", must(attention.NewDenseBlockSize(cfg.BlockSize)), fd},
		{"sparse", must(attention.NewSparse(cfg)), fs},
		{"switching", must(attention.NewSwitching(300, cfg)), fsw},
		{"streaming", must(attention.NewStreaming(cfg.BlockSize, cfg.InitBlocks, 2)), fst},
	}
}

func smallCfg() attention.SparseConfig {
	cfg := attention.DefaultSparse()
	cfg.LocalBlocks, cfg.TopK = 2, 6
	return cfg
}

// check runs ref and fast on the same input and compares outputs, the
// selections and the statistics.
func check(t *testing.T, p pair, c *attention.Cache, q attention.Query, d int) {
	t.Helper()
	want := make([]float32, len(q.Q))
	got := make([]float32, len(q.Q))
	for i := range got {
		got[i] = float32(math.NaN()) // every element must be written
	}
	rs := &attention.Stats{RecordSelection: true}
	fs := &attention.Stats{RecordSelection: true}
	if err := p.ref.Forward(c, q, want, rs); err != nil {
		t.Fatal(err)
	}
	if err := p.fast.Forward(c, q, got, fs); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rs.Selected, fs.Selected) {
		// Different selections are only acceptable at near-ties; with these
		// inputs there are none, so any difference is a bug.
		for i := range rs.Selected {
			if !reflect.DeepEqual(rs.Selected[i], fs.Selected[i]) {
				t.Fatalf("%s: selection %d differs: ref %v fast %v", p.name, i, rs.Selected[i], fs.Selected[i])
			}
		}
		t.Fatalf("%s: %d vs %d selections", p.name, len(rs.Selected), len(fs.Selected))
	}
	if e := relErr(got, want, d); !(e <= 1e-5) {
		t.Fatalf("%s: relative error %.3g > 1e-5", p.name, e)
	}
	rs.Selected, fs.Selected = nil, nil
	if math.Abs(rs.FLOPs-fs.FLOPs) > 1e-9*rs.FLOPs {
		t.Errorf("%s: FLOPs %v vs %v", p.name, fs.FLOPs, rs.FLOPs)
	}
	fs.FLOPs = rs.FLOPs
	if !reflect.DeepEqual(*rs, *fs) {
		t.Errorf("%s: stats differ:\nref  %+v\nfast %+v", p.name, *rs, *fs)
	}
}

func TestFastMatchesReference(t *testing.T) {
	levels := []kernels.Level{kernels.Best}
	if kernels.Best > kernels.Generic && !raceEnabled {
		levels = append(levels, kernels.Generic)
	}
	shapes := []attention.Shape{
		{Heads: 1, KVHeads: 1, HeadDim: 32},
		{Heads: 4, KVHeads: 2, HeadDim: 64},
		{Heads: 8, KVHeads: 2, HeadDim: 64},
		{Heads: 16, KVHeads: 1, HeadDim: 128},
		{Heads: 3, KVHeads: 3, HeadDim: 48},
		{Heads: 4, KVHeads: 1, HeadDim: 256},
	}
	lengths := []int{1, 17, 63, 65, 200, 517}
	threads := []int{1, 2}
	if raceEnabled {
		shapes, lengths, threads = shapes[1:4], []int{17, 65, 300}, []int{2}
	}
	for _, lv := range levels {
		prev := kernels.SetLevel(lv)
		for si, s := range shapes {
			for _, n := range lengths {
				for _, m := range []int{1, 5, n} {
					if m > n {
						continue
					}
					name := fmt.Sprintf("%v/H%d-Hkv%d-d%d/n%d/m%d", lv, s.Heads, s.KVHeads, s.HeadDim, n, m)
					t.Run(name, func(t *testing.T) {
						c, q := input(uint64(si*1000+n*10+m), s, n, m)
						for _, th := range threads {
							for _, p := range modes(t, smallCfg(), th) {
								check(t, p, c, q, s.HeadDim)
							}
						}
					})
				}
			}
		}
		kernels.SetLevel(prev)
	}
}

// Both ways of computing sparse attention (tile union with masks, and per
// token) agree with the reference.
func TestSparsePaths(t *testing.T) {
	defer func() { forcePath = pathAuto }()
	for _, path := range []int{pathUnion, pathPerToken} {
		forcePath = path
		lengths := []int{70, 1000, 4500}
		if raceEnabled {
			lengths = []int{70, 1000}
		}
		for _, s := range []attention.Shape{{Heads: 8, KVHeads: 2, HeadDim: 64}, {Heads: 3, KVHeads: 1, HeadDim: 40}, {Heads: 16, KVHeads: 16, HeadDim: 32}} {
			for _, n := range lengths {
				c, q := input(uint64(n+path), s, n, min(n, 90))
				for _, p := range modes(t, smallCfg(), 2)[1:3] {
					check(t, p, c, q, s.HeadDim)
				}
			}
		}
	}
}

func TestFastSparseVariants(t *testing.T) {
	s := attention.Shape{Heads: 8, KVHeads: 2, HeadDim: 64}
	c, q := input(9, s, 1500, 70)
	for _, cfg := range []attention.SparseConfig{
		func() attention.SparseConfig { c := smallCfg(); c.LSE = "approx"; return c }(),
		func() attention.SparseConfig { c := smallCfg(); c.UseNoPE = true; return c }(),
		func() attention.SparseConfig {
			c := smallCfg()
			c.BlockSize, c.KernelSize, c.KernelStride, c.TopK, c.InitBlocks = 32, 16, 8, 9, 2
			return c
		}(),
		attention.DefaultSparse(),
	} {
		for _, p := range modes(t, cfg, 2)[1:2] {
			check(t, p, c, q, s.HeadDim)
		}
	}
}

// Decode step by step equals the reference at every position.
func TestFastDecode(t *testing.T) {
	s := attention.Shape{Heads: 4, KVHeads: 1, HeadDim: 64}
	full, _ := input(3, s, 700, 1)
	for _, p := range modes(t, smallCfg(), 2) {
		c := attention.NewCache(s, 700)
		rng := rand.New(rand.NewPCG(5, 5))
		row := s.KVHeads * s.HeadDim
		for t0 := 0; t0 < 700; t0++ {
			c.Append(full.K[t0*row:(t0+1)*row], full.V[t0*row:(t0+1)*row], full.KNoPE[t0*row:(t0+1)*row])
			if t0%37 != 36 && t0 != 699 {
				continue
			}
			q := randSlice(rng, s.QSize(1), 1)
			check(t, p, c, attention.Query{M: 1, Q: q, QNoPE: q}, s.HeadDim)
		}
	}
}

func TestSelectTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var tmp []float32
	for trial := 0; trial < 300; trial++ {
		n := rng.IntN(300)
		idx := make([]int32, 0, n)
		vals := make([]float32, 0, n)
		for j := 0; j < n; j++ {
			if rng.IntN(4) == 0 {
				continue // ids need not be dense
			}
			idx = append(idx, int32(j))
			vals = append(vals, float32(rng.IntN(20))) // many ties
		}
		k := rng.IntN(len(idx)+2) - 1
		got := selectTop(nil, vals, idx, k, &tmp)
		// Brute force: rank by (score desc, index asc), keep k, sort by index.
		order := make([]int, len(idx))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
		var want []int32
		for _, i := range order[:max(0, min(k, len(order)))] {
			want = append(want, idx[i])
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("n=%d k=%d: got %v want %v", len(idx), k, got, want)
		}
	}
}

// The block-major prefill (long prefills) agrees with the reference, for
// several kernel geometries, G and LSE modes.
func TestBlockMajorPrefill(t *testing.T) {
	cfgs := []attention.SparseConfig{smallCfg(), attention.DefaultSparse(),
		func() attention.SparseConfig { c := smallCfg(); c.LSE = "approx"; return c }(),
		func() attention.SparseConfig {
			c := smallCfg()
			c.BlockSize, c.KernelSize, c.KernelStride, c.TopK, c.InitBlocks = 32, 16, 8, 9, 2
			return c
		}(),
		func() attention.SparseConfig {
			c := smallCfg()
			c.BlockSize, c.KernelSize, c.KernelStride, c.TopK = 48, 24, 8, 5
			return c
		}(),
	}
	for ci, cfg := range cfgs {
		for _, s := range []attention.Shape{{Heads: 8, KVHeads: 2, HeadDim: 64}, {Heads: 2, KVHeads: 2, HeadDim: 32}} {
			n := 1300 + 97*ci
			if raceEnabled {
				n = 300 + 31*ci
			}
			c, q := input(uint64(n), s, n, n-5)
			fs, err := NewSparse(cfg, 2)
			if err != nil {
				t.Fatal(err)
			}
			rs, _ := attention.NewSparse(cfg)
			check(t, pair{fmt.Sprintf("blockmajor/cfg%d", ci), rs, fs}, c, q, s.HeadDim)
		}
	}
}
