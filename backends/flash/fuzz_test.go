package flash

import (
	"testing"

	"github.com/evalctl/evalctl/backends/attention"
)

// FuzzFastVsReference draws a shape, a length, a chunk and a sparse
// configuration, and checks every fast mode against the reference (outputs,
// selections, statistics), or that both reject the configuration.
func FuzzFastVsReference(f *testing.F) {
	f.Add(uint8(4), uint8(1), uint8(2), uint16(300), uint16(40), uint8(6), uint8(2), uint8(0), false)
	f.Add(uint8(16), uint8(16), uint8(2), uint16(1), uint16(1), uint8(1), uint8(0), uint8(1), true)
	f.Add(uint8(3), uint8(1), uint8(5), uint16(700), uint16(700), uint8(9), uint8(3), uint8(2), false)
	f.Fuzz(func(t *testing.T, heads, group, dimUnits uint8, n, m uint16, topk, local, geom uint8, approx bool) {
		g := int(group%16) + 1
		hkv := int(heads%3) + 1
		s := attention.Shape{Heads: hkv * g, KVHeads: hkv, HeadDim: 16 * (int(dimUnits%8) + 1)}
		length := int(n%900) + 1
		chunk := int(m)%length + 1
		cfg := smallCfg()
		cfg.TopK, cfg.LocalBlocks = int(topk%12)+1, int(local%4)
		if geom%3 == 1 {
			cfg.BlockSize, cfg.KernelSize, cfg.KernelStride = 32, 16, 8
		} else if geom%3 == 2 {
			cfg.BlockSize, cfg.KernelSize, cfg.KernelStride = 48, 24, 8
		}
		if approx {
			cfg.LSE = "approx"
		}
		if cfg.Validate() != nil {
			if _, err := NewSparse(cfg, 2); err == nil {
				t.Fatalf("fast sparse accepted an invalid config %+v", cfg)
			}
			return
		}
		c, q := input(uint64(length)*31+uint64(chunk), s, length, chunk)
		for _, p := range modes(t, cfg, 2) {
			check(t, p, c, q, s.HeadDim)
		}
	})
}
