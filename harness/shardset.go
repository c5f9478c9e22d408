package harness

import (
	"errors"
	"fmt"
	"strings"
)

// ShardInput describes one input of a merge as far as shards go.
type ShardInput struct {
	Name     string    // as given: a run directory, a records file, "-"
	Manifest *Manifest // the run directory's manifest; nil for a records file
	Shard    string    // "i/n"; "" for an input that is not one shard
	Recorded int       // distinct cell keys recorded (checked against Manifest.Cells)
}

// CheckShardSet checks that the sharded inputs of a merge form one complete
// set: every shard 1/n .. n/n of one split present exactly once, of one
// suite (where manifests tell), and every run directory holding all the
// cells it planned. Inputs with no shard are not checked. The error lists
// every problem, one per line, naming the shard and the input.
func CheckShardSet(ins []ShardInput) error {
	var problems []error
	n, first := 0, -1
	var ref *ShardInput // the first sharded input with a manifest
	byIndex := map[int][]string{}
	for k := range ins {
		in := &ins[k]
		if in.Shard == "" {
			continue
		}
		sh, err := ParseShard(in.Shard)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: %w", in.Name, err))
			continue
		}
		if first < 0 {
			n, first = sh.N, k
		} else if sh.N != n {
			problems = append(problems, fmt.Errorf("%s is shard %s but %s is shard %s: the inputs mix two splits; merge each run's shards on its own", in.Name, in.Shard, ins[first].Name, ins[first].Shard))
			continue
		}
		byIndex[sh.I] = append(byIndex[sh.I], in.Name)
		if m := in.Manifest; m != nil {
			if ref == nil {
				ref = in
			} else if msg := sameSuite(ref.Manifest, m); msg != "" {
				problems = append(problems, fmt.Errorf("%s (shard %s) is a run of another suite than %s (shard %s): %s", in.Name, in.Shard, ref.Name, ref.Shard, msg))
			}
			if in.Recorded < m.Cells {
				problems = append(problems, fmt.Errorf("shard %s (%s) is incomplete: %d of %d cells recorded; finish it with: evalctl run --resume %s", in.Shard, in.Name, in.Recorded, m.Cells, in.Name))
			}
		}
	}
	if first < 0 {
		return errors.Join(problems...)
	}
	var have []string
	for i := 1; i <= n; i++ {
		if len(byIndex[i]) > 0 {
			have = append(have, fmt.Sprintf("%d/%d", i, n))
		}
	}
	for i := 1; i <= n; i++ {
		switch names := byIndex[i]; {
		case len(names) == 0:
			problems = append(problems, fmt.Errorf("shard %d/%d is missing (the inputs hold %s)", i, n, strings.Join(have, ", ")))
		case len(names) > 1:
			problems = append(problems, fmt.Errorf("shard %d/%d is given %d times: %s", i, n, len(names), strings.Join(names, ", ")))
		}
	}
	return errors.Join(problems...)
}

// sameSuite says how two runs' suites differ, or "" if they do not.
func sameSuite(a, b *Manifest) string {
	switch {
	case a.Seed != b.Seed:
		return fmt.Sprintf("seed %d vs %d", b.Seed, a.Seed)
	case a.Limit != b.Limit:
		return fmt.Sprintf("--limit %d vs %d", b.Limit, a.Limit)
	case string(compactJSON(a.Resolved)) != string(compactJSON(b.Resolved)):
		return "the resolved suites differ"
	}
	return ""
}
