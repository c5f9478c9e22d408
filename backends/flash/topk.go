package flash

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
