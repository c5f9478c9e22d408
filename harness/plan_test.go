package harness_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/params"
)

func mustSuite(t testing.TB, src string, sets ...string) *harness.Suite {
	t.Helper()
	s, err := harness.ParseSuite("s.yaml", []byte(src), sets)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPlanSize(t *testing.T) {
	s := mustSuite(t, base)
	// 3 backends x 1 task x 2 lengths x 2 depths x 2 samples
	if got := len(harness.Plan(s)); got != 24 {
		t.Errorf("plan has %d cells, want 24", got)
	}
}

// Keys are a function of what defines the cell: stable across parses,
// independent of the order of other suite entries, different for any
// change of backend parameters.
func TestPlanKeysStable(t *testing.T) {
	a := harness.Plan(mustSuite(t, base))
	b := harness.Plan(mustSuite(t, base))
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Seed != b[i].Seed {
			t.Fatalf("cell %d differs between parses: %s vs %s", i, a[i].Key, b[i].Key)
		}
	}
	// Known value: a change in the hashing (which would orphan every stored
	// record on resume) must be deliberate. Built by hand, so that new
	// plugin parameters do not move it.
	b0 := &harness.BackendConfig{Label: "sparse-32", Name: "sparse", Params: params.Set{"topk": int64(32), "lse": "exact"}}
	t0 := &harness.TaskConfig{Name: "attention", Params: params.Set{"heads": int64(4), "needle_logit": 10.0}}
	if got := harness.CellKey(3, b0, t0, 1024, 0.5, 1); got != goldenKey {
		t.Errorf("key %s, want %s (did the key definition change?)", got, goldenKey)
	}
	// Removing a backend leaves the keys of the others alone.
	c := harness.Plan(mustSuite(t, strings.Replace(base, "  - name: dense\n", "", 1)))
	keys := map[string]bool{}
	for _, x := range a {
		keys[x.Key] = true
	}
	for _, x := range c {
		if !keys[x.Key] {
			t.Fatalf("key %s (%s) changed when another backend was removed", x.Key, x.Backend.Label)
		}
	}
	// A parameter change changes the key.
	d := harness.Plan(mustSuite(t, base, "backends.sparse-32.params.topk=40"))
	for i := range a {
		if a[i].Backend.Label == "sparse-32" && a[i].Key == d[i].Key {
			t.Fatalf("key did not change with topk")
		}
		if a[i].Backend.Label != "sparse-32" && a[i].Key != d[i].Key {
			t.Fatalf("key of %s changed with another backend's topk", a[i].Backend.Label)
		}
	}
}

const goldenKey = "c515ea16bc523c7cb5340d59"

func TestSampleSeedSharedByBackends(t *testing.T) {
	cells := harness.Plan(mustSuite(t, base))
	seeds := map[[3]float64]int64{}
	for _, c := range cells {
		k := [3]float64{float64(c.Length), c.Depth, float64(c.Sample)}
		if s, ok := seeds[k]; ok && s != c.Seed {
			t.Fatalf("backends see different seeds for %v", k)
		}
		seeds[k] = c.Seed
	}
	distinct := map[int64]bool{}
	for _, s := range seeds {
		distinct[s] = true
	}
	if len(distinct) != len(seeds) {
		t.Errorf("%d samples share %d seeds", len(seeds), len(distinct))
	}
}

func TestShardUnionIsPlan(t *testing.T) {
	s := mustSuite(t, base)
	all := harness.Plan(s)
	for _, n := range []int{1, 2, 3, 5, 24, 30} {
		var keys []string
		for i := 1; i <= n; i++ {
			for _, c := range harness.Select(all, harness.Shard{I: i, N: n}, 0) {
				keys = append(keys, c.Key)
			}
		}
		if len(keys) != len(all) {
			t.Fatalf("n=%d: shards hold %d cells, plan %d", n, len(keys), len(all))
		}
		sort.Strings(keys)
		var want []string
		for _, c := range all {
			want = append(want, c.Key)
		}
		sort.Strings(want)
		for i := range keys {
			if keys[i] != want[i] {
				t.Fatalf("n=%d: shard union differs from plan", n)
			}
		}
	}
	if got := harness.Select(all, harness.Shard{}, 5); len(got) != 5 || got[4].Key != all[4].Key {
		t.Errorf("limit 5 gave %d cells", len(got))
	}
}

func TestParseShard(t *testing.T) {
	for _, ok := range []string{"1/1", "2/4", "4/4"} {
		if _, err := harness.ParseShard(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"0/4", "5/4", "x", "1/0", "1/", "/2", "-1/2"} {
		if _, err := harness.ParseShard(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestTaskBackends: a task limited to some backend labels plans only those
// cells, keys unchanged; an unknown label is an error naming the field.
func TestTaskBackends(t *testing.T) {
	src := `name: t
seed: 1
samples: 1
lengths: [1K]
depths: [0.5]
backends:
  - name: dense
  - name: sparse
tasks:
  - name: attention
    params: {heads: 2, kv_heads: 1, head_dim: 16, queries: 4}
  - name: attention
    params: {heads: 2, kv_heads: 1, head_dim: 16, queries: 8}
    backends: [sparse]
`
	s, err := harness.ParseSuite("t.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	cells := harness.Plan(s)
	if len(cells) != 3 {
		t.Fatalf("%d cells, want 3", len(cells))
	}
	if c := cells[2]; c.Backend.Label != "sparse" || c.TaskIdx != 1 {
		t.Fatalf("last cell %s task %d", c.Backend.Label, c.TaskIdx)
	}
	all, _ := harness.ParseSuite("t.yaml", []byte(strings.Replace(src, "    backends: [sparse]\n", "", 1)), nil)
	if k := harness.Plan(all)[3].Key; k != cells[2].Key {
		t.Fatal("a backend filter changed the cell key")
	}
	_, err = harness.ParseSuite("t.yaml", []byte(strings.Replace(src, "[sparse]", "[nope]", 1)), nil)
	if err == nil || !strings.Contains(err.Error(), `t.yaml:14`) || !strings.Contains(err.Error(), `tasks[1].backends[0]`) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown label: %v", err)
	}
}

// TestDepthGrid: linear and sigmoid grids, and their errors.
func TestDepthGrid(t *testing.T) {
	lin := harness.DepthGrid(5, "linear", 0, 1)
	if len(lin) != 5 || lin[0] != 0 || lin[2] != 0.5 || lin[4] != 1 {
		t.Fatalf("linear: %v", lin)
	}
	sig := harness.DepthGrid(5, "sigmoid", 0, 1)
	if len(sig) != 5 || sig[0] != 0 || sig[2] != 0.5 || sig[4] != 1 || !(sig[1] < lin[1]) || !(sig[3] > lin[3]) {
		t.Fatalf("sigmoid: %v (should crowd the ends)", sig)
	}
	src := "name: t\nseed: 1\nsamples: 1\nlengths: [1K]\ndepths: {count: 3, spacing: sigmoid, from: 0.2, to: 0.8}\nbackends: [dense]\ntasks: [attention]\n"
	s, err := harness.ParseSuite("t.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := s.Tasks[0].Depths; len(d) != 3 || d[0] != 0.2 || d[1] != 0.5 || d[2] != 0.8 {
		t.Fatalf("suite depths %v", d)
	}
	for _, bad := range []string{"{count: 0}", "{spacing: log, count: 3}", "{count: 3, from: 0.9, to: 0.1}", "{count: 3, to: 2}", "{}"} {
		if _, err := harness.ParseSuite("t.yaml", []byte(strings.Replace(src, "{count: 3, spacing: sigmoid, from: 0.2, to: 0.8}", bad, 1)), nil); err == nil || !strings.Contains(err.Error(), "t.yaml:5") {
			t.Errorf("depths %s: %v", bad, err)
		}
	}
}
