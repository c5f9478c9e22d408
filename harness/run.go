package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/tasks"
)

// Options control a run.
type Options struct {
	Root       string        // results root for a new run ("results")
	RunID      string        // id of a new run; empty: <suite>-<UTC time>
	Workers    int           // overrides the suite's workers when > 0
	Limit      int           // run at most this many cells (0: all)
	Shard      Shard         // run one shard of the plan
	Dir        string        // run directory of a new run; empty: Root/RunID (RunShard sets Root/RunID/shard-I-of-N)
	Progress   io.Writer     // progress bar target; nil: none
	Log        io.Writer     // one-line messages; nil: none
	Version    string        // evalctl version for the manifest
	FlushEvery time.Duration // flush records at least this often (default 1s)
}

// Outcome summarises a run session.
type Outcome struct {
	Dir         string
	RunID       string
	Planned     int // cells of the run (after shard and limit)
	Skipped     int // already done before this session
	Done        int // records written by this session
	Errors      int // error records written by this session
	Interrupted bool
	Elapsed     time.Duration
}

// ErrInterrupted is returned (wrapped) when the context was cancelled
// before every cell finished; what finished is on disk.
var ErrInterrupted = errors.New("run interrupted")

// Run starts a new run of s under opts.Root.
func Run(ctx context.Context, s *Suite, opts Options) (*Outcome, error) {
	resolved := canonical(s)
	id := opts.RunID
	if id == "" {
		id = fmt.Sprintf("%s-%s", s.Name, time.Now().UTC().Format("20060102-150405"))
	}
	if !validLabel(id) {
		return nil, fmt.Errorf("bad run id %q: use letters, digits, '-', '_' and '.'", id)
	}
	root := opts.Root
	if root == "" {
		root = "results"
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, id)
	if opts.Dir != "" {
		if opts.RunID == "" {
			return nil, errors.New("a run directory needs a run id")
		}
		dir = opts.Dir
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return nil, err
		}
	}
	for i := 2; ; i++ {
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			break
		}
		if !os.IsExist(err) || opts.RunID != "" {
			if os.IsExist(err) {
				return nil, fmt.Errorf("run directory %s exists; use --resume %s to continue it, or another --run-id", dir, dir)
			}
			return nil, err
		}
		id = fmt.Sprintf("%s-%s-%d", s.Name, time.Now().UTC().Format("20060102-150405"), i)
		dir = filepath.Join(root, id)
	}
	cells := Select(Plan(s), opts.Shard, opts.Limit)
	m := &Manifest{
		RunID: id, Created: time.Now().UTC(), Suite: s, Resolved: resolved, Seed: s.Seed,
		Limit: opts.Limit, Shard: opts.Shard.String(), Cells: len(cells),
		Build: CurrentBuild(opts.Version), Machine: CurrentMachine(),
	}
	return execute(ctx, dir, m, cells, opts)
}

// Resume continues the run in dir: it re-plans the suite stored in the
// manifest with the same limit and shard, and runs the cells whose keys
// are not yet in any records segment.
func Resume(ctx context.Context, dir string, opts Options) (*Outcome, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	s, err := ParseSuite(m.Suite.Source, []byte(m.Suite.Given), m.Suite.Sets)
	if err != nil {
		return nil, fmt.Errorf("resume %s: the stored suite no longer validates: %w", dir, err)
	}
	if got := compactJSON(canonical(s)); string(got) != string(compactJSON(m.Resolved)) {
		return nil, fmt.Errorf("resume %s: the suite resolves differently with this evalctl build (%s) than when the run started (%s); start a new run", dir, CurrentBuild(opts.Version).Version, m.Build.Version)
	}
	var sh Shard
	if m.Shard != "" {
		if sh, err = ParseShard(m.Shard); err != nil {
			return nil, fmt.Errorf("resume %s: manifest: %w", dir, err)
		}
	}
	m.Suite = s
	cells := Select(Plan(s), sh, m.Limit)
	return execute(ctx, dir, m, cells, opts)
}

func compactJSON(b []byte) []byte {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return b
	}
	return canonical(v)
}

// execute runs the cells of m not yet recorded in dir.
func execute(ctx context.Context, dir string, m *Manifest, cells []Cell, opts Options) (*Outcome, error) {
	start := time.Now()
	logf := func(format string, a ...any) {
		if opts.Log != nil {
			fmt.Fprintf(opts.Log, format+"\n", a...)
		}
	}
	done := map[string]bool{}
	if segs, _ := record.Segments(dir); len(segs) > 0 {
		recs, bad, err := record.ReadRun(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range bad {
			logf("warning: %v (the cell will be run again if its record was lost)", e)
		}
		for _, r := range recs {
			done[r.Key] = true
		}
	}
	var todo []Cell
	for _, c := range cells {
		if !done[c.Key] {
			todo = append(todo, c)
		}
	}
	out := &Outcome{Dir: dir, RunID: m.RunID, Planned: len(cells), Skipped: len(cells) - len(todo)}

	workers := m.Suite.Workers
	if opts.Workers > 0 {
		workers = opts.Workers
	}
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	// Instantiate every backend and task once, before any work.
	bk := map[string]backends.Backend{}
	defer func() {
		for _, b := range bk {
			b.Close()
		}
	}()
	for i := range m.Suite.Backends {
		bc := &m.Suite.Backends[i]
		info, _ := backends.Lookup(bc.Name)
		b, err := info.New(backends.Config{Label: bc.Label, Params: bc.Params})
		if err != nil {
			return nil, &ConfigError{File: m.Suite.Source, Field: fmt.Sprintf("backends[%d] (%s)", i, bc.Label), Msg: err.Error()}
		}
		bk[bc.Label] = b
	}
	tk := make([]tasks.Task, len(m.Suite.Tasks))
	for i := range m.Suite.Tasks {
		tc := &m.Suite.Tasks[i]
		info, _ := tasks.Lookup(tc.Name)
		t, err := info.New(tasks.Config{Params: tc.Params})
		if err != nil {
			return nil, &ConfigError{File: m.Suite.Source, Field: fmt.Sprintf("tasks[%d] (%s)", i, tc.Name), Msg: err.Error()}
		}
		tk[i] = t
	}

	seg, err := record.NextSegment(dir)
	if err != nil {
		return nil, err
	}
	w, err := record.Create(seg)
	if err != nil {
		return nil, err
	}
	m.Sessions = append(m.Sessions, Session{Start: start.UTC(), Segment: filepath.Base(seg), Workers: workers, Skipped: out.Skipped, Status: "running"})
	sess := &m.Sessions[len(m.Sessions)-1]
	if err := m.Write(dir); err != nil {
		w.Close()
		return nil, err
	}
	if out.Skipped > 0 {
		logf("resuming %s: %d of %d cells already done", dir, out.Skipped, len(cells))
	}

	// Workers take cells from jobs and send records to results; one writer
	// goroutine owns the file and flushes at least every FlushEvery.
	jobs := make(chan Cell)
	results := make(chan *record.Record, workers)
	var wg sync.WaitGroup
	for wi := 0; wi < workers; wi++ {
		wg.Add(1)
		go func(wi int) {
			defer wg.Done()
			for c := range jobs {
				if r := runCell(ctx, m, c, bk[c.Backend.Label], tk[c.TaskIdx], wi, m.Suite.Timeout); r != nil {
					results <- r
				}
			}
		}(wi)
	}
	go func() {
	feed:
		for _, c := range todo {
			select {
			case jobs <- c:
			case <-ctx.Done():
				break feed
			}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	var bar *progressBar
	if opts.Progress != nil {
		bar = newProgressBar(opts.Progress, len(todo))
		defer bar.finish()
	}
	flushEvery := opts.FlushEvery
	if flushEvery <= 0 {
		flushEvery = time.Second
	}
	tick := time.NewTicker(flushEvery)
	defer tick.Stop()
	var writeErr error
loop:
	for {
		select {
		case r, ok := <-results:
			if !ok {
				break loop
			}
			if writeErr != nil {
				continue // drain; the run has failed
			}
			if err := w.Write(r); err != nil {
				writeErr = err
				continue
			}
			out.Done++
			if !r.OK() {
				out.Errors++
			}
			if bar != nil {
				bar.add(r.OK())
			}
		case <-tick.C:
			if writeErr == nil {
				writeErr = w.Flush()
			}
		}
	}
	if err := w.Close(); err != nil && writeErr == nil {
		writeErr = err
	}
	out.Elapsed = time.Since(start)
	out.Interrupted = ctx.Err() != nil && out.Skipped+out.Done < out.Planned
	sess.End, sess.Done, sess.Errors = time.Now().UTC(), out.Done, out.Errors
	switch {
	case writeErr != nil:
		sess.Status = "failed"
	case out.Interrupted:
		sess.Status = "interrupted"
	default:
		sess.Status = "complete"
	}
	if err := m.Write(dir); err != nil && writeErr == nil {
		writeErr = err
	}
	if writeErr != nil {
		return out, fmt.Errorf("writing records in %s: %w", dir, writeErr)
	}
	if out.Interrupted {
		return out, fmt.Errorf("%w after %d of %d cells; continue with: evalctl run --resume %s", ErrInterrupted, out.Skipped+out.Done, out.Planned, dir)
	}
	return out, nil
}

// runCell evaluates one cell with its timeout. It returns nil when the run
// was cancelled before the cell finished: such a cell is not recorded, so a
// resume runs it again.
func runCell(ctx context.Context, m *Manifest, c Cell, b backends.Backend, t tasks.Task, worker int, timeout Duration) *record.Record {
	if ctx.Err() != nil {
		return nil
	}
	cctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		cctx, cancel = context.WithTimeout(ctx, time.Duration(timeout))
	}
	defer cancel()
	type answer struct {
		res *tasks.Result
		err error
	}
	ch := make(chan answer, 1)
	start := time.Now()
	go func() {
		defer func() {
			if p := recover(); p != nil {
				ch <- answer{err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
			}
		}()
		res, err := t.Evaluate(cctx, b, tasks.Cell{Length: c.Length, Depth: c.Depth, Sample: c.Sample, Seed: c.Seed})
		ch <- answer{res, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-cctx.Done():
		// The task ignored cancellation; abandon it (its result is dropped).
		a = answer{err: cctx.Err()}
	}
	if ctx.Err() != nil {
		return nil // interrupted: not recorded
	}
	r := &record.Record{
		V: record.Version, Key: c.Key, Run: m.RunID,
		Backend: c.Backend.Label, BackendName: c.Backend.Name, BackendParams: c.Backend.Params,
		Task: c.Task.Name, TaskParams: c.Task.Params,
		Length: c.Length, Depth: c.Depth, Sample: c.Sample, Seed: c.Seed, Shard: m.Shard,
		Start: start.UTC(), Elapsed: float64(time.Since(start).Microseconds()) / 1000, Worker: worker,
	}
	switch {
	case errors.Is(a.err, context.DeadlineExceeded) && cctx.Err() != nil:
		r.Error = fmt.Sprintf("timeout: the cell took longer than %s", time.Duration(timeout))
	case a.err != nil:
		r.Error = a.err.Error()
	case a.res == nil:
		r.Error = "task returned no result"
	default:
		r.Output, r.References, r.Scores = a.res.Output, a.res.References, a.res.Scores
		r.Metrics, r.Timings, r.Info = a.res.Metrics, a.res.Timings, a.res.Info
	}
	return r
}
