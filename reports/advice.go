package reports

import (
	"bufio"
	"fmt"
	"io"
	"math"
)

// EffectiveLength returns, for each backend of task, the longest tested
// length up to which the mean of score stays at or above threshold at every
// tested length (RULER's "effective length"; its paper uses 85.6 on a 0-100
// scale). A backend that fails at the shortest length gets 0.
func (s *Summary) EffectiveLength(task, score string, threshold float64) map[string]int {
	out := map[string]int{}
	for _, b := range s.Backends(task) {
		eff := 0
		for _, n := range s.Lengths(task) {
			st, ok := s.Cell(task, score, b, n)
			if !ok {
				continue // not measured at this length: neither extends nor breaks the run
			}
			if st.Mean < threshold {
				break
			}
			eff = n
		}
		out[b] = eff
	}
	return out
}

// AdviceRow is the evidence at one length.
type AdviceRow struct {
	Length                  int
	DenseTime, SparseTime   float64 // means of the timing
	Speedup                 float64 // DenseTime / SparseTime
	DenseScore, SparseScore float64 // means of the score
	Faster, Accurate        bool
}

// Advice recommends a dense_len for switching attention: the smallest
// tested length from which the sparse configuration is faster than dense at
// every longer tested length, while its score stays within Tolerance of
// dense's at that length. InfLLM-V2 fixes 8192; this measures it for one
// model, machine and task.
type Advice struct {
	Task, Dense, Sparse, Timing, Score string
	Tolerance                          float64
	Rows                               []AdviceRow
	DenseLen                           int    // 0: sparse never pays off in this run
	Reason                             string // one sentence
}

// SwitchAdvice builds the advice from the summary's cells. dense and
// sparse are backend labels; timing names a timing (lower is better) and
// score a score of task.
func (s *Summary) SwitchAdvice(task, dense, sparse, timing, score string, tolerance float64) (*Advice, error) {
	a := &Advice{Task: task, Dense: dense, Sparse: sparse, Timing: timing, Score: score, Tolerance: tolerance}
	for _, n := range s.Lengths(task) {
		dt, ok1 := s.Cell(task, timing, dense, n)
		st, ok2 := s.Cell(task, timing, sparse, n)
		ds, ok3 := s.Cell(task, score, dense, n)
		ss, ok4 := s.Cell(task, score, sparse, n)
		if !(ok1 && ok2 && ok3 && ok4) || st.Mean <= 0 {
			continue
		}
		r := AdviceRow{Length: n, DenseTime: dt.Mean, SparseTime: st.Mean, Speedup: dt.Mean / st.Mean, DenseScore: ds.Mean, SparseScore: ss.Mean}
		r.Faster = r.Speedup > 1
		r.Accurate = ds.Mean-ss.Mean <= tolerance
		a.Rows = append(a.Rows, r)
	}
	if len(a.Rows) == 0 {
		return nil, fmt.Errorf("advice: no length of task %q has %s and %s for both %q and %q", task, timing, score, dense, sparse)
	}
	// From the longest length down: the run of lengths where sparse is faster.
	from := -1
	for i := len(a.Rows) - 1; i >= 0 && a.Rows[i].Faster; i-- {
		from = i
	}
	switch {
	case from < 0:
		a.Reason = fmt.Sprintf("%s is not faster than %s at the longest tested length (%s): keep dense attention over the tested range", sparse, dense, FormatLength(a.Rows[len(a.Rows)-1].Length))
	default:
		for i := from; i < len(a.Rows); i++ {
			if a.Rows[i].Accurate {
				a.DenseLen = a.Rows[i].Length
				break
			}
		}
		if a.DenseLen == 0 {
			a.Reason = fmt.Sprintf("%s is faster from %s on but loses more than %g of %s at every such length", sparse, FormatLength(a.Rows[from].Length), tolerance, score)
		} else {
			a.Reason = fmt.Sprintf("from %s on, %s is faster than %s at every tested length and its %s stays within %g", FormatLength(a.DenseLen), sparse, dense, score, tolerance)
		}
	}
	return a, nil
}

// Markdown writes the recommendation and its evidence.
func (a *Advice) Markdown(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "## Switch-threshold advice: %s vs %s (%s)\n\n", a.Sparse, a.Dense, a.Task)
	if a.DenseLen > 0 {
		fmt.Fprintf(bw, "Recommended dense_len: **%d** (%s): %s.\n\n", a.DenseLen, FormatLength(a.DenseLen), a.Reason)
	} else {
		fmt.Fprintf(bw, "No dense_len recommended: %s.\n\n", a.Reason)
	}
	fmt.Fprintf(bw, "| length | %s %s | %s %s | speedup | %s %s | %s %s | faster | within %g |\n",
		escapeCell(a.Dense), escapeCell(a.Timing), escapeCell(a.Sparse), escapeCell(a.Timing),
		escapeCell(a.Dense), escapeCell(a.Score), escapeCell(a.Sparse), escapeCell(a.Score), a.Tolerance)
	fmt.Fprintln(bw, "|--:|--:|--:|--:|--:|--:|:-:|:-:|")
	yes := map[bool]string{true: "yes", false: "no"}
	for _, r := range a.Rows {
		sp := "—"
		if !math.IsInf(r.Speedup, 0) && !math.IsNaN(r.Speedup) {
			sp = formatValue(r.Speedup) + "x"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", FormatLength(r.Length),
			formatValue(r.DenseTime), formatValue(r.SparseTime), sp, formatValue(r.DenseScore), formatValue(r.SparseScore),
			yes[r.Faster], yes[r.Accurate])
	}
	return bw.Flush()
}
