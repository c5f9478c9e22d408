package flash

import (
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/kernels"
)

// superTok is the number of query tokens of one block-major task. Their
// softmax state (G heads x (d+2) floats each) stays in the L2 cache.
const superTok = 512

// Block-major sparse prefill. Per token, InfLLM-V2 reads about topk blocks
// of keys and values (3 MiB with the defaults and d = 64): token by token,
// a long prefill is bound by that traffic whenever neighbouring tokens
// select different blocks. Here a task takes superTok consecutive tokens of
// one KV head, selects their blocks, inverts the selections into, for each
// key block, the list of tokens that chose it, and then walks the blocks
// once: each block is read once per task and multiplied with the gathered
// query heads of all its tokens in one product, and every token's running
// max, sum and output are updated from the block's partial softmax.

// superScratch is a worker's space for one block-major task.
type superScratch struct {
	sel    [][]int32
	info   []selInfo
	count  []int32   // per block: tokens that chose it; then offsets
	tokens []int32   // tokens per block, concatenated
	qsc    []float32 // the task's scaled query heads, token-major
	a      []float32
	s      []float32
	tmp    []float32
	m, l   []float32 // per (token, head)
	o      []float32 // per (token, head): d floats
	rowM   []float32
	rowL   []float32
}

// runBlockMajor computes the sparse prefill of tokens [0, cl.m) over the
// blocks chosen by sc, and adds the statistics to st (when not nil). The
// selections themselves are kept only when st asks for them.
func runBlockMajor(cl *call, threads, blockSize int, sc *scorer, kt *transposed, st *attention.Stats) {
	tasksPerHead := (cl.m + superTok - 1) / superTok
	var allSel [][]int32
	var parts []attention.Stats // per task, summed in order afterwards
	if st != nil {
		parts = make([]attention.Stats, cl.hkv*tasksPerHead)
		if st.RecordSelection {
			allSel = make([][]int32, cl.m*cl.hkv)
		}
	}
	parallel(cl, threads, cl.hkv*tasksPerHead, func(w *worker, k int) {
		g, task := k%cl.hkv, k/cl.hkv
		t0, t1 := task*superTok, min((task+1)*superTok, cl.m)
		ss := &w.super
		T := t1 - t0
		for len(ss.sel) < T {
			ss.sel = append(ss.sel, nil)
		}
		ss.info = grow(ss.info, T)
		// Selection, a scoring tile at a time.
		for i0 := t0; i0 < t1; i0 += cl.tileTok {
			i1 := min(i0+cl.tileTok, t1)
			sel := w.sel.lists(i1 - i0)
			info := w.sel.infos(i1 - i0)
			sc.choose(w, g, i0, i1, sel, info)
			for ti := range sel {
				ss.sel[i0-t0+ti] = append(ss.sel[i0-t0+ti][:0], sel[ti]...)
				ss.info[i0-t0+ti] = info[ti]
			}
		}
		if st != nil {
			for ti := 0; ti < T; ti++ {
				tallyToken(cl, &parts[k], cl.base+t0+ti, blockSize, ss.sel[ti], ss.info[ti])
				if allSel != nil {
					allSel[(t0+ti)*cl.hkv+g] = append([]int32(nil), ss.sel[ti]...)
				}
			}
		}
		w.blockMajor(cl, kt, g, t0, t1, blockSize)
	})
	if st == nil {
		return
	}
	for _, p := range parts {
		st.FLOPs += p.FLOPs
		st.KVBytes += p.KVBytes
		st.Blocks += p.Blocks
		st.Tokens += p.Tokens
		st.VisibleTokens += p.VisibleTokens
	}
	if allSel != nil {
		st.Selected = append(st.Selected, allSel...)
	}
	st.Calls++
	st.SparseCalls++
	st.QueryTokens += int64(cl.m)
}

// tallyToken adds one (token at position t, KV head) pair's cost-model
// statistics, as the reference sparse mode counts them.
func tallyToken(cl *call, st *attention.Stats, t, blockSize int, sel []int32, inf selInfo) {
	d, g := int64(cl.d), int64(cl.g)
	var tokens int64
	for _, j := range sel {
		lo := int(j) * blockSize
		tokens += int64(min(lo+blockSize, t+1) - lo)
	}
	extra := int64(inf.nk + inf.nc)
	st.FLOPs += float64(2 * g * (d*extra + 2*d*tokens))
	st.KVBytes += 4 * d * (2*tokens + extra)
	st.Blocks += int64(len(sel))
	st.Tokens += tokens
	st.VisibleTokens += int64(t + 1)
}

// blockMajor attends tokens [t0, t1) of KV head g to their selections in
// w.super.sel, block by block.
func (w *worker) blockMajor(cl *call, kt *transposed, g, t0, t1, blockSize int) {
	ss := &w.super
	d, G, T := cl.d, cl.g, t1-t0
	nb := (cl.base+t1-1)/blockSize + 1
	// Invert: tokens per block (counting sort).
	ss.count = grow(ss.count, nb+1)
	clear(ss.count)
	total := 0
	for ti := 0; ti < T; ti++ {
		for _, j := range ss.sel[ti] {
			ss.count[j+1]++
		}
		total += len(ss.sel[ti])
	}
	for j := 1; j <= nb; j++ {
		ss.count[j] += ss.count[j-1]
	}
	ss.tokens = grow(ss.tokens, total)
	fill := append([]int32(nil), ss.count[:nb]...)
	for ti := 0; ti < T; ti++ {
		for _, j := range ss.sel[ti] {
			ss.tokens[fill[j]] = int32(ti)
			fill[j]++
		}
	}
	// Running state per (token, head).
	ss.m, ss.l = grow(ss.m, T*G), grow(ss.l, T*G)
	ss.o = grow(ss.o, T*G*d)
	for i := range ss.m {
		ss.m[i] = masked
	}
	clear(ss.l)
	clear(ss.o)
	hkvd := cl.hkv * d
	// The task's scaled query heads, once; blocks gather from here.
	ss.qsc = grow(ss.qsc, T*G*d)
	for ti := 0; ti < T; ti++ {
		i := t0 + ti
		src := cl.q[(i*cl.h+g*G)*d : (i*cl.h+g*G+G)*d]
		dst := ss.qsc[ti*G*d : (ti+1)*G*d]
		for x, v := range src {
			dst[x] = v * cl.scale
		}
	}
	for j := 0; j < nb; j++ {
		toks := ss.tokens[ss.count[j]:ss.count[j+1]]
		if len(toks) == 0 {
			continue
		}
		R := len(toks) * G
		lo := j * blockSize
		// Gather the scaled query heads of the block's tokens.
		ss.a = grow(ss.a, R*d)
		for r, ti := range toks {
			copy(ss.a[r*G*d:(r+1)*G*d], ss.qsc[int(ti)*G*d:(int(ti)+1)*G*d])
		}
		// Scores against the block's keys (transposed, zero padded), in
		// pieces that stay inside a chunk.
		bw := (blockSize + 15) / 16 * 16
		ss.s = grow(ss.s, R*bw)
		for off := 0; off < blockSize; {
			p := lo + off
			end := min(lo+blockSize, (p/ktChunk+1)*ktChunk)
			wdt := (end - p + 15) / 16 * 16
			if off+wdt > bw {
				wdt = end - p // an odd block size: the generic path takes the tail
			}
			kernels.GemmNN(R, wdt, d, ss.a, d, kt.chunks[g][p/ktChunk][p%ktChunk:], ktStride, ss.s[off:], bw, false)
			off = end - lo
		}
		// Mask keys after each token: only tokens whose own block this is,
		// the first ones of the ascending list (all rows when the block
		// width is padded).
		for r := 0; r < len(toks); r++ {
			t := cl.base + t0 + int(toks[r])
			if t+1 >= lo+blockSize && bw == blockSize {
				break
			}
			from := min(blockSize, max(0, t+1-lo))
			for a := 0; a < G; a++ {
				row := ss.s[(r*G+a)*bw : (r*G+a+1)*bw]
				for x := from; x < bw; x++ {
					row[x] = masked
				}
			}
		}
		// Partial softmax per row, then P·V for all rows at once.
		ss.rowM, ss.rowL = grow(ss.rowM, R), grow(ss.rowL, R)
		for r := 0; r < R; r++ {
			ss.rowM[r], ss.rowL[r] = kernels.RowSoftmax(ss.s[r*bw : (r+1)*bw])
		}
		kEff := min(blockSize, cl.n-lo)
		ss.tmp = grow(ss.tmp, R*d)
		kernels.GemmNN(R, d, kEff, ss.s, bw, cl.c.V[(lo*cl.hkv+g)*d:], hkvd, ss.tmp, d, false)
		// Fold into each row's running state.
		for r, ti := range toks {
			for a := 0; a < G; a++ {
				row := r*G + a
				if ss.rowL[row] == 0 {
					continue
				}
				st := int(ti)*G + a
				o := ss.o[st*d : (st+1)*d]
				// One exponential: the larger maximum's factor is 1.
				mNew, a1, a2 := ss.rowM[row], float32(0), float32(1)
				switch {
				case ss.l[st] == 0: // first block with a visible key
				case ss.m[st] >= ss.rowM[row]:
					mNew, a1, a2 = ss.m[st], 1, kernels.Exp2Generic(ss.rowM[row]-ss.m[st])
				default:
					a1 = kernels.Exp2Generic(ss.m[st] - ss.rowM[row])
				}
				if a1 != 1 {
					kernels.Axpy(a1-1, o, o) // o *= a1
				}
				kernels.Axpy(a2, ss.tmp[row*d:(row+1)*d], o)
				ss.l[st] = ss.l[st]*a1 + ss.rowL[row]*a2
				ss.m[st] = mNew
			}
		}
	}
	// Normalise and store.
	for ti := 0; ti < T; ti++ {
		i := t0 + ti
		for a := 0; a < G; a++ {
			st := ti*G + a
			inv := float32(0)
			if ss.l[st] > 0 {
				inv = 1 / ss.l[st]
			}
			dst := cl.out[(i*cl.h+g*G+a)*d : (i*cl.h+g*G+a+1)*d]
			src := ss.o[st*d : (st+1)*d]
			for x := range dst {
				dst[x] = src[x] * inv
			}
		}
	}
}

// addSparseStats adds the statistics of a sparse call from every token's
// selection and cost ([token*hkv + g]).
func addSparseStats(cl *call, blockSize int, st *attention.Stats, sel [][]int32, info []selInfo) {
	for i := 0; i < cl.m; i++ {
		for kv := 0; kv < cl.hkv; kv++ {
			s := sel[i*cl.hkv+kv]
			tallyToken(cl, st, cl.base+i, blockSize, s, info[i*cl.hkv+kv])
			if st.RecordSelection {
				st.Selected = append(st.Selected, append([]int32(nil), s...))
			}
		}
	}
	st.Calls++
	st.SparseCalls++
	st.QueryTokens += int64(cl.m)
}
