package harness

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Shards under a scheduler. A sharded run (--shard i/n, or --shard auto
// under a Slurm array or a Kubernetes Indexed Job) writes each shard to its
// own run directory under one shared root:
//
//	OUT/RUN-ID/shard-01-of-04/   manifest.json, records-0001.jsonl.zst, ...
//	OUT/RUN-ID/shard-02-of-04/
//	...
//
// Starting a shard whose directory already holds the same suite, limit and
// shard resumes it instead of failing: a task that the scheduler requeued,
// or a pod that was restarted, picks up its own shard where it stopped, and
// every cell is recorded exactly once. evalctl merge checks that the shard
// directories form a complete set (see CheckShardSet).

// Environment variables read by ShardFromEnv.
const (
	EnvSlurmTaskID    = "SLURM_ARRAY_TASK_ID"
	EnvSlurmTaskCount = "SLURM_ARRAY_TASK_COUNT"
	EnvSlurmTaskMin   = "SLURM_ARRAY_TASK_MIN"
	EnvSlurmTaskMax   = "SLURM_ARRAY_TASK_MAX"
	EnvSlurmTaskStep  = "SLURM_ARRAY_TASK_STEP"
	EnvSlurmJobID     = "SLURM_ARRAY_JOB_ID"
	EnvK8sIndex       = "JOB_COMPLETION_INDEX"
	EnvShardCount     = "EVALCTL_SHARD_COUNT"
)

// ShardFromEnv resolves --shard auto from the scheduler's environment:
//
//   - a Slurm array task: shard (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN)
//     / SLURM_ARRAY_TASK_STEP + 1 of SLURM_ARRAY_TASK_COUNT (or, where the
//     count is not set, of (MAX - MIN) / STEP + 1), so that --array=1-4 and
//     --array=0-3 both give shards 1/4 to 4/4. The array must be a range
//     (A-B or A-B:S), not a list.
//   - a Kubernetes Indexed Job: shard JOB_COMPLETION_INDEX + 1 of count,
//     which the environment does not tell: it is the count argument (the
//     --shard-count flag) or EVALCTL_SHARD_COUNT.
//
// count > 0 is the count asked for on the command line; under Slurm it
// must agree with the array's. Slurm is looked at first. The second result
// says where the shard came from, for the log.
func ShardFromEnv(count int, getenv func(string) string) (Shard, string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	if id := getenv(EnvSlurmTaskID); id != "" {
		sh, err := slurmShard(getenv)
		if err != nil {
			return Shard{}, "", fmt.Errorf("--shard auto: Slurm array: %w", err)
		}
		if count > 0 && count != sh.N {
			return Shard{}, "", fmt.Errorf("--shard auto: --shard-count %d, but the Slurm array has %d tasks (%s=%s); give no count under Slurm, or submit --array=1-%d", count, sh.N, EnvSlurmTaskCount, getenv(EnvSlurmTaskCount), count)
		}
		return sh, fmt.Sprintf("Slurm array task %s=%s of %d", EnvSlurmTaskID, id, sh.N), nil
	}
	if idx := getenv(EnvK8sIndex); idx != "" {
		i, err := strconv.Atoi(strings.TrimSpace(idx))
		if err != nil || i < 0 {
			return Shard{}, "", fmt.Errorf("--shard auto: %s=%q: want an index >= 0", EnvK8sIndex, idx)
		}
		from := "--shard-count"
		if count <= 0 {
			c := getenv(EnvShardCount)
			if c == "" {
				return Shard{}, "", fmt.Errorf("--shard auto: %s=%d gives the index but not the number of shards: pass --shard-count N or set %s to the Job's completions", EnvK8sIndex, i, EnvShardCount)
			}
			if count, err = strconv.Atoi(strings.TrimSpace(c)); err != nil || count < 1 {
				return Shard{}, "", fmt.Errorf("--shard auto: %s=%q: want a count >= 1", EnvShardCount, c)
			}
			from = EnvShardCount
		}
		if i >= count {
			return Shard{}, "", fmt.Errorf("--shard auto: %s=%d but only %d shards (%s): the count must equal the Job's completions", EnvK8sIndex, i, count, from)
		}
		return Shard{I: i + 1, N: count}, fmt.Sprintf("Kubernetes %s=%d of %d (%s)", EnvK8sIndex, i, count, from), nil
	}
	return Shard{}, "", fmt.Errorf("--shard auto: no scheduler index in the environment (%s of a Slurm array job, %s of a Kubernetes Indexed Job); outside a scheduler give --shard i/n", EnvSlurmTaskID, EnvK8sIndex)
}

// slurmShard maps a Slurm array task to its shard.
func slurmShard(getenv func(string) string) (Shard, error) {
	num := func(name string, def int, need bool) (int, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			if need {
				return 0, fmt.Errorf("%s is not set", name)
			}
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%s=%q: want an integer >= 0", name, v)
		}
		return n, nil
	}
	id, err := num(EnvSlurmTaskID, 0, true)
	if err != nil {
		return Shard{}, err
	}
	lo, err := num(EnvSlurmTaskMin, 0, true)
	if err != nil {
		return Shard{}, err
	}
	hi, err := num(EnvSlurmTaskMax, 0, true)
	if err != nil {
		return Shard{}, err
	}
	step, err := num(EnvSlurmTaskStep, 1, false)
	if err != nil {
		return Shard{}, err
	}
	if step < 1 {
		step = 1
	}
	if hi < lo || id < lo || id > hi {
		return Shard{}, fmt.Errorf("%s=%d is not within %s=%d and %s=%d", EnvSlurmTaskID, id, EnvSlurmTaskMin, lo, EnvSlurmTaskMax, hi)
	}
	span := (hi-lo)/step + 1
	n, err := num(EnvSlurmTaskCount, span, false)
	if err != nil {
		return Shard{}, err
	}
	if n != span || (hi-lo)%step != 0 || (id-lo)%step != 0 {
		return Shard{}, fmt.Errorf("the array is not a range (%s=%d, %s=%d, %s=%d, %s=%d): submit --array=1-N (a list or a partial re-submission would number the shards differently)", EnvSlurmTaskMin, lo, EnvSlurmTaskMax, hi, EnvSlurmTaskStep, step, EnvSlurmTaskCount, n)
	}
	return Shard{I: (id-lo)/step + 1, N: n}, nil
}

// DirName is the name of the shard's run directory under RUN-ID/:
// shard-I-of-N, I zero-padded to the width of N so that they sort.
func (s Shard) DirName() string {
	w := len(strconv.Itoa(s.N))
	return fmt.Sprintf("shard-%0*d-of-%d", w, s.I, s.N)
}

// shardDirName matches DirName's output.
var shardDirName = regexp.MustCompile(`^shard-([0-9]+)-of-([0-9]+)$`)

// ShardDir is the run directory of shard sh of the run id under root.
func ShardDir(root, id string, sh Shard) string {
	return filepath.Join(root, id, sh.DirName())
}

// ShardDirs returns the shard run directories directly under dir (those
// named shard-I-of-N), sorted by name, and false when dir is not a
// directory of shards (it is a run directory itself, or holds none).
func ShardDirs(dir string) ([]string, bool) {
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err == nil {
		return nil, false
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && shardDirName.MatchString(e.Name()) {
			dirs = append(dirs, filepath.Join(dir, e.Name()))
		}
	}
	return dirs, len(dirs) > 0
}

// RunShard runs opts.Shard of s in ShardDir(opts.Root, opts.RunID,
// opts.Shard), or resumes it when an earlier attempt (a requeued Slurm
// task, a restarted pod) left a run of the same suite, limit and shard
// there. opts.RunID must be set: every shard of a run shares it.
func RunShard(ctx context.Context, s *Suite, opts Options) (*Outcome, error) {
	if opts.RunID == "" {
		return nil, errors.New("a sharded run needs a run id shared by every shard (--run-id)")
	}
	if !validLabel(opts.RunID) {
		return nil, fmt.Errorf("bad run id %q: use letters, digits, '-', '_' and '.'", opts.RunID)
	}
	if opts.Shard.N < 1 {
		return nil, errors.New("RunShard: no shard given")
	}
	root := opts.Root
	if root == "" {
		root = "results"
	}
	dir := ShardDir(root, opts.RunID, opts.Shard)
	if st, err := os.Lstat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory: move it away to run this shard", ErrShardDirTaken, dir)
	}
	m, err := ReadManifest(dir)
	switch {
	case err == nil:
		if err := sameShardRun(dir, m, s, opts); err != nil {
			return nil, err
		}
		return Resume(ctx, dir, opts)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	// A directory without a manifest is what a start that died before its
	// first write leaves; os.Remove takes it only if it is empty.
	if _, err := os.Lstat(dir); err == nil {
		if os.Remove(dir) != nil {
			return nil, fmt.Errorf("%w: %s exists but holds no %s: move it away to run this shard", ErrShardDirTaken, dir, ManifestName)
		}
	}
	o := opts
	o.Root, o.Dir = root, dir
	return Run(ctx, s, o)
}

// ErrShardDirTaken is returned (wrapped) by RunShard when the shard's
// directory holds another run: nothing ran.
var ErrShardDirTaken = errors.New("shard directory taken")

// sameShardRun checks that the run stored in dir is the one asked for.
func sameShardRun(dir string, m *Manifest, s *Suite, opts Options) error {
	if err := shardRunDiff(dir, m, s, opts); err != nil {
		return fmt.Errorf("%w: %w", ErrShardDirTaken, err)
	}
	return nil
}

func shardRunDiff(dir string, m *Manifest, s *Suite, opts Options) error {
	want := opts.Shard.String()
	switch {
	case m.RunID != opts.RunID:
		return fmt.Errorf("%s holds run %q, not %q; move it away or use another --run-id", dir, m.RunID, opts.RunID)
	case m.Shard != want:
		return fmt.Errorf("%s holds shard %q, not %q; move it away or use another --run-id", dir, m.Shard, want)
	case m.Limit != opts.Limit:
		return fmt.Errorf("%s holds a run with --limit %d, not %d; use another --run-id", dir, m.Limit, opts.Limit)
	case string(compactJSON(canonical(s))) != string(compactJSON(m.Resolved)):
		return fmt.Errorf("%s holds a run of another suite (or other --set values, or a build that resolves it differently): use another --run-id for this one", dir)
	}
	return nil
}
