package attention

// compKey names the compressed keys of one (size, stride, key source) in a
// Cache's Aux state, so that modes with different kernels sharing a cache
// never mix them up, and modes with the same kernels share them.
type compKey struct {
	size, stride int
	nope         bool // compressed from Cache.KNoPE instead of Cache.K
}

// compressed holds the compressed keys ("semantic kernels") of a cache:
// kernel i of KV head g is the mean of that head's keys over positions
// [stride*i, stride*i+size), stored as float32 like the keys. Only full
// kernels exist. They are computed lazily, each one on its own from the
// keys it covers, so extending in many small steps gives exactly the same
// values as computing them all at once.
type compressed struct {
	key compKey
	d   int
	n   int         // kernels computed, per KV head
	kc  [][]float32 // per KV head: n*d floats, kernel-major
}

// compressedFor returns the compressed keys of c for k, extended to cover
// every full kernel of the cache's current length.
func compressedFor(c *Cache, k compKey) *compressed {
	cp := c.Aux(k, func() any {
		return &compressed{key: k, d: c.Shape.HeadDim, kc: make([][]float32, c.Shape.KVHeads)}
	}).(*compressed)
	cp.extend(c)
	return cp
}

// Bytes is the memory held by the compressed keys; Cache.Bytes counts it.
func (cp *compressed) Bytes() int64 {
	var b int64
	for _, h := range cp.kc {
		b += int64(cap(h)) * 4
	}
	return b
}

// extend computes the kernels that became full since the last call. The
// cache is only ever grown by Append and cut by Truncate (which drops this
// state); if it was cut some other way, kernels beyond the new length are
// dropped here.
func (cp *compressed) extend(c *Cache) {
	want := visibleCount(c.Len(), cp.key.size, cp.key.stride)
	d, hkv := cp.d, c.Shape.KVHeads
	if want < cp.n {
		for g := range cp.kc {
			cp.kc[g] = cp.kc[g][:want*d]
		}
		cp.n = want
	}
	if want == cp.n {
		return
	}
	keys := c.K
	if cp.key.nope {
		keys = c.KNoPE
	}
	sum := make([]float64, d)
	size := float64(cp.key.size)
	for g := 0; g < hkv; g++ {
		for i := cp.n; i < want; i++ {
			clear(sum)
			for s := cp.key.stride * i; s < cp.key.stride*i+cp.key.size; s++ {
				row := keys[(s*hkv+g)*d : (s*hkv+g+1)*d]
				for x, v := range row {
					sum[x] += float64(v)
				}
			}
			for _, v := range sum {
				cp.kc[g] = append(cp.kc[g], float32(v/size))
			}
		}
	}
	cp.n = want
}

// head returns the first n kernels of KV head g, n*d floats.
func (cp *compressed) head(g, n int) []float32 { return cp.kc[g][:n*cp.d] }
