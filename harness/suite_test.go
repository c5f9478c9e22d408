package harness_test

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/evalctl/evalctl/backends/model"
	_ "github.com/evalctl/evalctl/backends/modes"
	_ "github.com/evalctl/evalctl/backends/torch"
	"github.com/evalctl/evalctl/harness"
	_ "github.com/evalctl/evalctl/tasks/attention"
	_ "github.com/evalctl/evalctl/tasks/needle"
	_ "github.com/evalctl/evalctl/tasks/qa"
	_ "github.com/evalctl/evalctl/tasks/retrieval"
)

const base = `
name: t
seed: 3
samples: 2
lengths: [1K, 2048]
depths: [0.1, 0.9]
backends:
  - name: dense
  - name: sparse
    label: sparse-32
    params: {topk: 32, local_blocks: 8}
  - sparse
tasks:
  - name: attention
    params: {heads: 4, kv_heads: 2}
`

func TestParseSuiteResolves(t *testing.T) {
	s, err := harness.ParseSuite("s.yaml", []byte(base), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "t" || s.Seed != 3 || s.Samples != 2 || s.Timeout != harness.Duration(10*time.Minute) {
		t.Errorf("top-level fields: %+v", s)
	}
	if got := []int{1024, 2048}; !reflect.DeepEqual(s.Tasks[0].Lengths, got) {
		t.Errorf("lengths %v, want %v", s.Tasks[0].Lengths, got)
	}
	if len(s.Backends) != 3 || s.Backends[1].Label != "sparse-32" || s.Backends[2].Label != "sparse" {
		t.Fatalf("backends %+v", s.Backends)
	}
	if s.Backends[1].Params.Int("topk") != 32 || s.Backends[2].Params.Int("topk") != 96 {
		t.Errorf("topk params: %v / %v", s.Backends[1].Params, s.Backends[2].Params)
	}
	if s.Tasks[0].Params.Int("heads") != 4 || s.Tasks[0].Params.Int("head_dim") != 64 {
		t.Errorf("task params %v", s.Tasks[0].Params)
	}
}

func TestLengthSweep(t *testing.T) {
	s, err := harness.ParseSuite("s.yaml", []byte(strings.Replace(base, "lengths: [1K, 2048]", "lengths: {from: 1K, to: 128K, factor: 2}", 1)), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1 << 10, 1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 17}
	if !reflect.DeepEqual(s.Lengths, want) {
		t.Errorf("sweep %v, want %v", s.Lengths, want)
	}
}

func TestSuiteErrorsNameFileLineFieldAndValue(t *testing.T) {
	cases := []struct {
		name, from, to string
		want           []string // substrings of the error
	}{
		{"unknown top field", "seed: 3", "sed: 3", []string{"s.yaml:3", "sed", "unknown field", "accepted"}},
		{"bad samples", "samples: 2", "samples: 0", []string{"s.yaml:4", "samples", "bad value 0"}},
		{"bad length", "[1K, 2048]", "[1K, 2x]", []string{"s.yaml:5", "lengths[1]", `"2x"`}},
		{"bad depth", "[0.1, 0.9]", "[0.1, 1.5]", []string{"s.yaml:6", "depths[1]", "1.5", "[0, 1]"}},
		{"unknown backend", "- name: dense", "- name: densse", []string{"s.yaml:8", "backends[0].name", "densse", "registered"}},
		{"bad param value", "topk: 32", "topk: many", []string{"s.yaml:11", "backends[1].params.topk", "many", "accepted"}},
		{"unknown param", "topk: 32", "top_k: 32", []string{"backends[1].params.top_k", "unknown parameter", "topk"}},
		{"topk below forced", "topk: 32, local_blocks: 8", "topk: 4", []string{"backends[1]", "topk = 4", "local_blocks"}},
		{"duplicate label", "  - sparse\n", "  - name: sparse\n    label: sparse-32\n", []string{"backends[2].label", "already used"}},
		{"unknown task", "- name: attention", "- name: atention", []string{"tasks[0].name", "atention"}},
		{"bad task param", "heads: 4,", "heads: -1,", []string{"tasks[0].params.heads", "-1"}},
		{"bad shape", "kv_heads: 2", "kv_heads: 3", []string{"tasks[0]", "multiple"}},
		{"bad timeout", "samples: 2", "timeout: soon", []string{"timeout", "soon", "duration"}},
		{"bad sweep", "[1K, 2048]", "{from: 4K, to: 1K}", []string{"lengths", "to 1024 < from 4096"}},
		{"not yaml", "name: t", "name: [t", []string{"s.yaml", "not valid YAML"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(base, c.from, c.to, 1)
			if src == base {
				t.Fatalf("test case did not change the suite")
			}
			_, err := harness.ParseSuite("s.yaml", []byte(src), nil)
			if err == nil {
				t.Fatalf("no error for\n%s", src)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigErrorType(t *testing.T) {
	_, err := harness.ParseSuite("s.yaml", []byte("name: x\n"), nil)
	var ce *harness.ConfigError
	if !errors.As(err, &ce) || ce.File != "s.yaml" || ce.Field != "backends" {
		t.Fatalf("got %#v", err)
	}
}

func TestSetOverrides(t *testing.T) {
	s, err := harness.ParseSuite("s.yaml", []byte(base), []string{
		"seed=9",
		"lengths=[4K]",
		"backends.sparse-32.params.topk=48",
		"backends.2.params.lse=approx",
		"tasks.attention.params.queries=16",
		"backends.0.params.block_size=32",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Seed != 9 || !reflect.DeepEqual(s.Tasks[0].Lengths, []int{4096}) {
		t.Errorf("seed %d lengths %v", s.Seed, s.Tasks[0].Lengths)
	}
	if s.Backends[1].Params.Int("topk") != 48 || s.Backends[2].Params.String("lse") != "approx" || s.Backends[0].Params.Int("block_size") != 32 {
		t.Errorf("backend params %v %v %v", s.Backends[0].Params, s.Backends[1].Params, s.Backends[2].Params)
	}
	if s.Tasks[0].Params.Int("queries") != 16 {
		t.Errorf("task params %v", s.Tasks[0].Params)
	}
	for _, bad := range []string{"seed", "backends.nope.params.topk=1", "backends.9.label=x", "seed.x=1", "backends.1.params.topk=0"} {
		if _, err := harness.ParseSuite("s.yaml", []byte(base), []string{bad}); err == nil || !strings.Contains(err.Error(), bad) && !strings.Contains(err.Error(), "topk") {
			t.Errorf("--set %s: error %v", bad, err)
		}
	}
}

func TestBuiltinSuitesValidate(t *testing.T) {
	names := harness.BuiltinSuites()
	if !sort.StringsAreSorted(names) || len(names) < 2 {
		t.Fatalf("builtin suites %v", names)
	}
	for _, n := range names {
		data, ok := harness.BuiltinSuite(n)
		if !ok {
			t.Fatalf("%s missing", n)
		}
		if _, err := harness.ParseSuite("builtin:"+n, data, nil); err != nil {
			t.Errorf("builtin %s: %v", n, err)
		}
	}
}

func FuzzParseSuite(f *testing.F) {
	f.Add([]byte(base), "seed=2")
	f.Add([]byte("name: x\nbackends: [dense]\ntasks: [attention]\nlengths: [1K]\n"), "lengths=[2K]")
	f.Add([]byte("name: &a x\nbackends: *a\n"), "tasks.0=1")
	f.Add([]byte("lengths: {from: 1, to: 16M, factor: 1.0001}"), "")
	f.Fuzz(func(t *testing.T, data []byte, set string) {
		var sets []string
		if set != "" {
			sets = []string{set}
		}
		s, err := harness.ParseSuite("f.yaml", data, sets)
		if err != nil {
			var ce *harness.ConfigError
			if !errors.As(err, &ce) || ce.File != "f.yaml" {
				t.Fatalf("error of wrong type: %T %v", err, err)
			}
			return
		}
		// A suite that parses plans, and its keys are unique.
		seen := map[string]bool{}
		cells := harness.Plan(s)
		if len(cells) > 100000 {
			return
		}
		for _, c := range cells {
			if seen[c.Key] {
				t.Fatalf("duplicate cell key %s", c.Key)
			}
			seen[c.Key] = true
		}
	})
}
