// Package harness runs suites. The pipeline, step by step:
//
//  1. Suite. A YAML file (or a built-in suite) names backends with
//     parameters, several labelled configurations of one backend allowed;
//     tasks with parameters; lengths (a list or a geometric sweep); depths;
//     samples per cell; a seed; workers; a per-cell timeout. ParseSuite
//     applies --set overrides and validates everything against the backend
//     and task registries before any work starts: an error names the file,
//     line, field, bad value and what is accepted.
//  2. Plan. Plan expands the suite into cells (backend configuration x task x
//     length x depth x sample), each with a stable key hashed from everything
//     that defines it, and a sample seed shared by all backends so that modes
//     are compared on the same samples. Select applies --shard and --limit.
//     Under a scheduler (shard.go), --shard auto takes the shard from a
//     Slurm array task or a Kubernetes Indexed Job, each shard runs in
//     RUN-ID/shard-I-of-N/ and resumes there when restarted, and
//     CheckShardSet tells merge whether shard directories form a whole.
//  3. Run. Run executes cells on a worker pool with per-cell timeouts and
//     context cancellation, writing one record per finished cell to a new
//     zstd segment of the run directory, flushed at least every second. A
//     failed cell becomes an error record; a cancelled one is not written, so
//     --resume redoes it. Resume reads every segment's valid prefix and skips
//     the keys it finds: each cell is recorded exactly once even after kill -9.
//  4. Records. See package record: one flat versioned JSON object per cell.
//  5. Report. Package reports aggregates records alone into tables and plots.
//
// A run directory results/<run-id>/ holds manifest.json (suite as given and
// as resolved, seed, versions, machine, one entry per session), the record
// segments records-NNNN.jsonl.zst, and, after reporting, report.md and plots.
package harness
