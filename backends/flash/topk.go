package flash

// topK reorders idx so that its first k entries are the k best by score
// (higher first, ties to the lower index), in no particular order: a
// quickselect, O(len) on average, no full sort.
func topK(idx []int32, score []float32, k int) {
	better := func(a, b int32) bool {
		sa, sb := score[a], score[b]
		if sa != sb {
			return sa > sb
		}
		return a < b
	}
	lo, hi := 0, len(idx)-1
	for lo < hi {
		// Median of three as the pivot, moved to hi.
		mid := lo + (hi-lo)/2
		if better(idx[mid], idx[lo]) {
			idx[mid], idx[lo] = idx[lo], idx[mid]
		}
		if better(idx[hi], idx[lo]) {
			idx[hi], idx[lo] = idx[lo], idx[hi]
		}
		if better(idx[mid], idx[hi]) {
			idx[mid], idx[hi] = idx[hi], idx[mid]
		}
		pivot := idx[hi]
		p := lo
		for i := lo; i < hi; i++ {
			if better(idx[i], pivot) {
				idx[i], idx[p] = idx[p], idx[i]
				p++
			}
		}
		idx[p], idx[hi] = idx[hi], idx[p]
		switch {
		case p == k || p == k-1:
			return
		case p < k:
			lo = p + 1
		default:
			hi = p - 1
		}
	}
}
