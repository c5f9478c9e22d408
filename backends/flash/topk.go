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

// selectTop appends to dst the k candidates of largest score (ties to the
// lower block index), in ascending order: vals[i] is the score of idx[i],
// idx ascending. It finds the k-th largest score by a quickselect over a
// copy of the scores, then takes every candidate above it and as many
// equal to it as needed, in index order.
func selectTop(dst []int32, vals []float32, idx []int32, k int, tmp *[]float32) []int32 {
	if k <= 0 {
		return dst
	}
	if k >= len(vals) {
		return append(dst, idx...)
	}
	*tmp = append((*tmp)[:0], vals...)
	thr := kthLargest(*tmp, k)
	need := k
	for _, v := range vals {
		if v > thr {
			need--
		}
	}
	for i, v := range vals {
		if v > thr {
			dst = append(dst, idx[i])
		} else if v == thr && need > 0 {
			dst = append(dst, idx[i])
			need--
		}
	}
	return dst
}

// kthLargest returns the k-th largest value of x (1 <= k <= len(x)),
// reordering x.
func kthLargest(x []float32, k int) float32 {
	lo, hi := 0, len(x)-1
	want := k - 1 // index in descending order
	for lo < hi {
		pivot := x[lo+(hi-lo)/2]
		i, j := lo, hi
		for i <= j {
			for x[i] > pivot {
				i++
			}
			for x[j] < pivot {
				j--
			}
			if i <= j {
				x[i], x[j] = x[j], x[i]
				i++
				j--
			}
		}
		switch {
		case want <= j:
			hi = j
		case want >= i:
			lo = i
		default:
			return x[want]
		}
	}
	return x[want]
}
