package harness

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Cell is one unit of work: a backend configuration, a task configuration,
// a length, a depth and a sample index.
type Cell struct {
	Index   int            // position in the full plan
	Key     string         // stable hash of everything that defines the cell
	Backend *BackendConfig // points into the suite
	Task    *TaskConfig    // points into the suite
	TaskIdx int            // index of Task in the suite
	Length  int
	Depth   float64
	Sample  int
	Seed    int64 // sample seed: the same for every backend
}

// Plan expands a suite into cells. The order is task, length, depth,
// sample, backend: all backends of one sample run next to each other, so a
// task's per-sample references stay warm in its cache.
func Plan(s *Suite) []Cell {
	var cells []Cell
	for ti := range s.Tasks {
		t := &s.Tasks[ti]
		for _, n := range t.Lengths {
			for _, d := range t.Depths {
				for i := 0; i < t.Samples; i++ {
					seed := SampleSeed(s.Seed, t, n, d, i)
					for bi := range s.Backends {
						b := &s.Backends[bi]
						if !t.Runs(b.Label) {
							continue
						}
						cells = append(cells, Cell{
							Index: len(cells), Key: CellKey(s.Seed, b, t, n, d, i),
							Backend: b, Task: t, TaskIdx: ti, Length: n, Depth: d, Sample: i, Seed: seed,
						})
					}
				}
			}
		}
	}
	return cells
}

// canonical returns the canonical JSON of v (maps sort their keys).
func canonical(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("harness: canonical encoding: %v", err))
	}
	return b
}

// CellKey hashes everything that defines a cell: the suite seed, the backend
// label, name and resolved parameters, the task name and resolved
// parameters, the length, the depth and the sample index.
func CellKey(seed int64, b *BackendConfig, t *TaskConfig, length int, depth float64, sample int) string {
	h := sha256.Sum256(canonical(map[string]any{
		"seed":    seed,
		"backend": map[string]any{"label": b.Label, "name": b.Name, "params": b.Params},
		"task":    map[string]any{"name": t.Name, "params": t.Params},
		"length":  length, "depth": depth, "sample": sample,
	}))
	return hex.EncodeToString(h[:12])
}

// SampleSeed derives the seed of one sample from the suite seed and the
// task's identity: every backend sees the same sample, and adding a backend
// or a length never changes the samples of the others.
func SampleSeed(seed int64, t *TaskConfig, length int, depth float64, sample int) int64 {
	h := sha256.Sum256(canonical(map[string]any{
		"seed": seed, "task": t.Name, "params": t.Params,
		"length": length, "depth": depth, "sample": sample,
	}))
	return int64(binary.LittleEndian.Uint64(h[:8]) >> 1)
}

// Shard selects part i (1-based) of n of a plan.
type Shard struct{ I, N int }

// ParseShard parses "i/n" with 1 <= i <= n.
func ParseShard(s string) (Shard, error) {
	a, b, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n {
		return Shard{}, fmt.Errorf("bad shard %q: want i/n with 1 <= i <= n, e.g. 2/4", s)
	}
	return Shard{i, n}, nil
}

func (s Shard) String() string {
	if s.N <= 1 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.I, s.N)
}

// Select applies a shard and a limit to a plan: the shard takes every n-th
// cell (round robin, so shards are balanced over lengths), then the limit
// keeps the first limit cells (0: all).
func Select(cells []Cell, sh Shard, limit int) []Cell {
	var out []Cell
	for _, c := range cells {
		if sh.N > 1 && c.Index%sh.N != sh.I-1 {
			continue
		}
		out = append(out, c)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// Runs says whether the task configuration runs on the backend of that
// label: every backend unless the task lists some.
func (t *TaskConfig) Runs(label string) bool {
	if len(t.Backends) == 0 {
		return true
	}
	for _, l := range t.Backends {
		if l == label {
			return true
		}
	}
	return false
}
