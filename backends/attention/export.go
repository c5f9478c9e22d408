package attention

// Exported pieces shared with the fast implementations (package flash),
// so that both compute the same compressed keys and validate the same way.

// CheckForward validates the inputs of a Forward call exactly as the
// reference modes do; needNoPE also asks for pre-rotary queries and keys.
func CheckForward(name string, c *Cache, q Query, out []float32, needNoPE bool) error {
	return checkForward(name, c, q, out, needNoPE)
}

// VisibleCount is the number of full windows of size tokens, stride apart,
// within the first n tokens: floor((n-size)/stride)+1, or 0 when n < size.
func VisibleCount(n, size, stride int) int { return visibleCount(n, size, stride) }

// CompressedKeys returns the compressed keys of c (means of size keys,
// stride apart, from c.KNoPE when nope is set), extended to the cache's
// length and shared through the cache's Aux state with every mode that
// uses the same kernels: per KV head, count*HeadDim floats, kernel-major.
// The slices are owned by the cache; do not modify them.
func CompressedKeys(c *Cache, size, stride int, nope bool) (perHead [][]float32, count int) {
	cp := compressedFor(c, compKey{size, stride, nope})
	return cp.kc, cp.n
}
