// Package attention is the model-free attention suite: it synthesises (or
// loads) queries, keys and values, sends them to any backend that implements
// modes.Runner, and scores the answer against dense attention computed here.
//
// Synthetic samples plant structure that a block selector can get right or
// wrong. For each KV head g a random unit direction u_g is drawn; keys and
// values are standard normal; each probe query of the group is sqrt(d)*u_g
// plus noise, so a random key has a logit of about N(0,1). Then:
//   - the needle: needle_tokens consecutive keys at the requested depth get a
//     component needle_logit along u_g, so dense attention clearly attends
//     to them;
//   - near-duplicates: near_duplicates runs of the same width elsewhere,
//     near_duplicate_gap logits below the needle, competing for the same
//     budget;
//   - a decoy block: one whole block whose every key has a moderate logit
//     decoy_logit; its mean-pooled compressed keys score higher than the
//     needle's although its true attention mass is smaller, which is how mean
//     pooling can mislead stage-1 scoring.
//
// The probe queries are the last `queries` tokens of the context; the needle
// sits in [0, n - queries - needle_tokens] at the requested depth.
//
// With source: safetensors, q/k/v come from a file of captured activations
// (tensors [N, heads, d] for q and [N, kv_heads, d] for k and v); the shape
// comes from the file, the first `length` tokens are used, the depth axis is
// ignored and needle recall is not reported.
//
// Scores (higher is better, in [0,1]): needle_recall (fraction of (probe
// query, KV head) pairs whose attended blocks cover a needle token),
// mass_recall (true dense attention mass inside the attended blocks, per
// query head), oracle_overlap (fraction of the attended blocks that are also
// among the same number of blocks of largest true mass).
package attention

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/backends/attention"
	"github.com/evalctl/evalctl/backends/flash"
	"github.com/evalctl/evalctl/backends/modes"
	"github.com/evalctl/evalctl/datasets/safetensors"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
)

// Specs are the task's parameters.
var Specs = []params.Spec{
	params.StringSpec("source", "synthetic", "where q/k/v come from", "synthetic", "safetensors"),
	params.IntSpec("heads", 8, "query heads (synthetic)").Range(1, 1024),
	params.IntSpec("kv_heads", 2, "key/value heads (synthetic); heads must be a multiple").Range(1, 1024),
	params.IntSpec("head_dim", 64, "head dimension d (synthetic)").Range(1, 4096),
	params.IntSpec("queries", 64, "probe query tokens: the last tokens of the context, scored against dense").Range(1, 1<<20),
	params.StringSpec("prefill", "tail", "what is timed as the prefill: tail (a chunked prefill of the probe queries over the full cache) or full (all tokens; the probe queries are scored)", "tail", "full"),
	params.BoolSpec("baseline", true, "also time dense attention on each sample, for the measured speedup over dense: the backend's own on its device when it has one (torch-attention), else the fast dense kernels here"),
	params.IntSpec("decode_repeats", 3, "decode steps timed; the fastest is reported").Range(1, 1000),
	params.IntSpec("needle_tokens", 4, "consecutive needle keys").Range(1, 4096),
	params.FloatSpec("needle_logit", 10, "needle keys' logit above the random keys' N(0,1)").Range(0, 100),
	params.IntSpec("near_duplicates", 4, "runs of needle-like keys near_duplicate_gap logits below the needle, elsewhere").Range(0, 10000),
	params.FloatSpec("near_duplicate_gap", 3, "logit gap between the needle and its near-duplicates").Range(0, 100),
	params.FloatSpec("decoy_logit", 2.5, "logit of every key of the decoy block; 0 disables it").Range(0, 100),
	params.IntSpec("decoy_block_size", 64, "size of the decoy block in tokens").Range(1, 1<<16),
	params.FloatSpec("query_noise", 0.2, "per-dimension noise added to each probe query").Range(0, 100),
	params.StringSpec("file", "", "safetensors file of captured activations (source: safetensors)"),
	params.StringSpec("q_tensor", "q", "name of the query tensor [N, heads, d]"),
	params.StringSpec("k_tensor", "k", "name of the key tensor [N, kv_heads, d]"),
	params.StringSpec("v_tensor", "v", "name of the value tensor [N, kv_heads, d]"),
}

func init() {
	tasks.Register(tasks.Info{
		Name:      "attention",
		Help:      "model-free attention suite: planted-needle (or captured) q/k/v through each attention mode, scored against dense",
		Params:    Specs,
		UsesDepth: true,
		Metrics: []string{"needle_recall", "mass_recall", "oracle_overlap", "rel_l2_error", "attended_fraction",
			"blocks_per_query", "prefill_gflop", "cost_speedup_prefill", "cost_speedup_decode", "decode_kv_mib",
			"prefill_gflops", "decode_gbps", "prefill_tokens_per_s", "decode_tokens_per_s", "speedup_prefill", "speedup_decode",
			"bound_fraction_prefill", "bound_fraction_decode", "cache_mib", "peak_device_mib", "prefill_ms", "prefill_us_per_token", "decode_ms"},
		New: New,
		Check: func(p params.Set) error {
			_, err := New(tasks.Config{Params: p})
			return err
		},
	})
}

// Task is the attention suite task.
type Task struct {
	p      params.Set
	shape  attention.Shape
	m      int
	mu     sync.Mutex
	cache  map[sampleKey]*refEntry // per-sample references, shared by backends
	order  []sampleKey
	loaded *captured
	loadMu sync.Mutex
}

type sampleKey struct {
	seed   int64
	length int
	depth  float64
}

type captured struct {
	shape   attention.Shape
	n       int
	q, k, v []float32
}

// refEntry holds a sample and what every backend is scored against.
type refEntry struct {
	once sync.Once
	s    *sample
	err  error
	mass map[int][][]float64 // block size -> BlockMass
	mmu  sync.Mutex
}

// New builds the task.
func New(c tasks.Config) (tasks.Task, error) {
	t := &Task{p: c.Params, m: c.Params.Int("queries"), cache: map[sampleKey]*refEntry{}}
	if t.p.String("source") == "synthetic" {
		t.shape = attention.Shape{Heads: t.p.Int("heads"), KVHeads: t.p.Int("kv_heads"), HeadDim: t.p.Int("head_dim")}
		if err := t.shape.Validate(); err != nil {
			return nil, err
		}
	} else if t.p.String("file") == "" {
		return nil, fmt.Errorf("source safetensors needs the file parameter")
	}
	return t, nil
}

// sample is one set of inputs plus its dense reference.
type sample struct {
	shape     attention.Shape
	n, m      int
	k, v, q   []float32
	qAll      []float32 // queries of every token, for prefill: full (the last m are q)
	needle    int       // first needle token, -1 if none
	needleLen int
	cache     *attention.Cache
	dense     []float32 // dense output of the probe queries
	// Fast dense timings of the same request, when the baseline is on and
	// the backend did not time its own (computed once, at first need).
	baseOnce                sync.Once
	baseErr                 error
	basePrefill, baseDecode time.Duration
}

// goBaseline times the fast dense kernels of this process on the sample.
func (t *Task) goBaseline(s *sample) (time.Duration, time.Duration, error) {
	s.baseOnce.Do(func() {
		b, err := flash.NewDense(64, 0)
		if err != nil {
			s.baseErr = err
			return
		}
		req := t.request(s)
		req.Baseline, req.RecordSelection = false, false
		resp, err := modes.Wrap("baseline", b, 64).RunAttention(context.Background(), req)
		if err != nil {
			s.baseErr = fmt.Errorf("dense baseline: %w", err)
			return
		}
		s.basePrefill, s.baseDecode = resp.PrefillTime, resp.DecodeTime
	})
	return s.basePrefill, s.baseDecode, s.baseErr
}

const cacheEntries = 4

func (t *Task) entry(c tasks.Cell) *refEntry {
	t.mu.Lock()
	defer t.mu.Unlock()
	key := sampleKey{c.Seed, c.Length, c.Depth}
	if e, ok := t.cache[key]; ok {
		return e
	}
	e := &refEntry{mass: map[int][][]float64{}}
	t.cache[key] = e
	t.order = append(t.order, key)
	if len(t.order) > cacheEntries {
		delete(t.cache, t.order[0])
		t.order = t.order[1:]
	}
	return e
}

func (t *Task) build(c tasks.Cell) (*sample, error) {
	var s *sample
	if t.p.String("source") == "safetensors" {
		cp, err := t.load()
		if err != nil {
			return nil, err
		}
		if c.Length > cp.n {
			return nil, fmt.Errorf("length %d exceeds the %d tokens of %s", c.Length, cp.n, t.p.String("file"))
		}
		if t.m >= c.Length {
			return nil, fmt.Errorf("queries %d must be smaller than the length %d", t.m, c.Length)
		}
		kv := cp.shape.KVSize(c.Length)
		s = &sample{shape: cp.shape, n: c.Length, m: t.m, k: cp.k[:kv], v: cp.v[:kv],
			q: cp.q[cp.shape.QSize(c.Length-t.m):cp.shape.QSize(c.Length)], needle: -1}
		if t.p.String("prefill") == "full" {
			s.qAll = cp.q[:cp.shape.QSize(c.Length)]
		}
	} else {
		var err error
		if s, err = t.synthesise(c); err != nil {
			return nil, err
		}
	}
	s.cache = attention.NewCache(s.shape, s.n)
	if err := s.cache.Append(s.k, s.v, nil); err != nil {
		return nil, err
	}
	s.dense = make([]float32, s.shape.QSize(s.m))
	var firstErr error
	var mu sync.Mutex
	s.chunks(func(c *attention.Cache, q attention.Query, lo int) {
		err := attention.NewDense().Forward(c, q, s.dense[s.shape.QSize(lo):s.shape.QSize(lo+q.M)], nil)
		mu.Lock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	})
	if firstErr != nil {
		return nil, firstErr
	}
	return s, nil
}

// request is the backend request for a sample.
func (t *Task) request(s *sample) *modes.Request {
	req := &modes.Request{Shape: s.shape, K: s.k, V: s.v, M: s.m, Q: s.q, DecodeRepeats: t.p.Int("decode_repeats"), RecordSelection: true, Baseline: t.p.Bool("baseline")}
	if s.qAll != nil {
		req.M, req.Q = s.n, s.qAll
	}
	return req
}

// chunks runs f on consecutive chunks of the probe queries in parallel, one
// per core: each chunk sees the cache cut at its last token, which is what
// the reference computes for those positions anyway. lo is the chunk's
// first query index. The reference implementations are single-threaded;
// this keeps the scoring oracle from dominating the suite's run time.
func (s *sample) chunks(f func(c *attention.Cache, q attention.Query, lo int)) {
	parts := min(runtime.GOMAXPROCS(0), s.m)
	var wg sync.WaitGroup
	for p := 0; p < parts; p++ {
		lo, hi := p*s.m/parts, (p+1)*s.m/parts
		if lo == hi {
			continue
		}
		end := s.n - s.m + hi
		view := &attention.Cache{Shape: s.shape, K: s.k[:s.shape.KVSize(end)], V: s.v[:s.shape.KVSize(end)]}
		q := attention.Query{M: hi - lo, Q: s.q[s.shape.QSize(lo):s.shape.QSize(hi)]}
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(view, q, lo)
		}()
	}
	wg.Wait()
}

// synthesise draws a planted-needle sample; the same seed gives the same
// bytes on every machine.
func (t *Task) synthesise(c tasks.Cell) (*sample, error) {
	sh, n, m := t.shape, c.Length, t.m
	w := t.p.Int("needle_tokens")
	if m+w >= n {
		return nil, fmt.Errorf("queries %d plus needle_tokens %d must be smaller than the length %d", m, w, n)
	}
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x6576616c63746c))
	d, hk, g := sh.HeadDim, sh.KVHeads, sh.Group()
	s := &sample{shape: sh, n: n, m: m, needleLen: w}
	s.k = make([]float32, sh.KVSize(n))
	s.v = make([]float32, sh.KVSize(n))
	for i := range s.k {
		s.k[i] = float32(rng.NormFloat64())
		s.v[i] = float32(rng.NormFloat64())
	}
	dirs := make([][]float64, hk)
	for j := range dirs {
		dirs[j] = unitVector(rng, d)
	}
	// plant adds logit*u_g to the keys of tokens [pos, pos+len) of every KV head.
	plant := func(pos, length int, logit float64) {
		for tok := pos; tok < pos+length && tok < n; tok++ {
			for j := 0; j < hk; j++ {
				row := s.k[(tok*hk+j)*d : (tok*hk+j+1)*d]
				for x := range row {
					row[x] += float32(logit * dirs[j][x])
				}
			}
		}
	}
	span := n - m - w // needle start in [0, span]
	s.needle = int(math.Round(c.Depth * float64(span)))
	taken := func(pos, length int) bool { // overlaps the needle, with one token of margin
		return pos < s.needle+w+1 && s.needle < pos+length+1
	}
	if logit := t.p.Float("decoy_logit"); logit > 0 {
		bs := t.p.Int("decoy_block_size")
		if nb := (n - m) / bs; nb > 1 {
			for try := 0; try < 100; try++ {
				pos := rng.IntN(nb) * bs
				if !taken(pos, bs) {
					plant(pos, bs, logit)
					break
				}
			}
		}
	}
	for i := 0; i < t.p.Int("near_duplicates"); i++ {
		for try := 0; try < 100; try++ {
			pos := rng.IntN(span + 1)
			if !taken(pos, w) {
				plant(pos, w, t.p.Float("needle_logit")-t.p.Float("near_duplicate_gap"))
				break
			}
		}
	}
	plant(s.needle, w, t.p.Float("needle_logit"))
	if t.p.String("prefill") == "full" {
		// The tokens before the probes ask random questions: standard
		// normal queries, scaled like the probes.
		// A stream of its own, so the probes are those of prefill: tail.
		qr := rand.New(rand.NewPCG(uint64(c.Seed), 0x70726566696c6c))
		s.qAll = make([]float32, sh.QSize(n))
		for i := range s.qAll[:sh.QSize(n-m)] {
			s.qAll[i] = float32(qr.NormFloat64())
		}
	}
	noise := t.p.Float("query_noise")
	s.q = make([]float32, sh.QSize(m))
	scale := math.Sqrt(float64(d))
	for i := 0; i < m; i++ {
		for h := 0; h < sh.Heads; h++ {
			row := s.q[(i*sh.Heads+h)*d : (i*sh.Heads+h+1)*d]
			u := dirs[h/g]
			for x := range row {
				row[x] = float32(scale*u[x] + noise*rng.NormFloat64())
			}
		}
	}
	if s.qAll != nil {
		copy(s.qAll[sh.QSize(n-m):], s.q)
	}
	return s, nil
}

func unitVector(rng *rand.Rand, d int) []float64 {
	u := make([]float64, d)
	var nrm float64
	for i := range u {
		u[i] = rng.NormFloat64()
		nrm += u[i] * u[i]
	}
	nrm = math.Sqrt(nrm)
	for i := range u {
		u[i] /= nrm
	}
	return u
}

func (t *Task) load() (*captured, error) {
	t.loadMu.Lock()
	defer t.loadMu.Unlock()
	if t.loaded != nil {
		return t.loaded, nil
	}
	path := t.p.String("file")
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	get := func(name string) ([]float32, []int, error) {
		data, shape, err := f.Float32(name)
		if err != nil {
			return nil, nil, err
		}
		if len(shape) != 3 {
			return nil, nil, fmt.Errorf("%s: tensor %q has shape %v, want [tokens, heads, head_dim]", path, name, shape)
		}
		return append([]float32(nil), data...), shape, nil
	}
	q, qs, err := get(t.p.String("q_tensor"))
	if err != nil {
		return nil, err
	}
	k, ks, err := get(t.p.String("k_tensor"))
	if err != nil {
		return nil, err
	}
	v, vs, err := get(t.p.String("v_tensor"))
	if err != nil {
		return nil, err
	}
	if ks[0] != qs[0] || vs[0] != qs[0] || ks[1] != vs[1] || ks[2] != qs[2] || vs[2] != qs[2] {
		return nil, fmt.Errorf("%s: shapes q %v, k %v, v %v do not fit together: want [N,H,d], [N,Hkv,d], [N,Hkv,d]", path, qs, ks, vs)
	}
	sh := attention.Shape{Heads: qs[1], KVHeads: ks[1], HeadDim: qs[2]}
	if err := sh.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	t.loaded = &captured{shape: sh, n: qs[0], q: q, k: k, v: v}
	return t.loaded, nil
}

// blockMass returns the true block mass of the probe queries for block size b.
func (e *refEntry) blockMass(b int) [][]float64 {
	e.mmu.Lock()
	defer e.mmu.Unlock()
	if m, ok := e.mass[b]; ok {
		return m
	}
	s := e.s
	m := make([][]float64, s.m*s.shape.KVHeads)
	s.chunks(func(c *attention.Cache, q attention.Query, lo int) {
		copy(m[lo*s.shape.KVHeads:], attention.BlockMass(c, q, b))
	})
	e.mass[b] = m
	return m
}

// Evaluate implements tasks.Task.
func (t *Task) Evaluate(ctx context.Context, b backends.Backend, c tasks.Cell) (*tasks.Result, error) {
	r, ok := b.(modes.Runner)
	if !ok {
		return nil, fmt.Errorf("backend does not answer raw attention requests (no modes.Runner capability)")
	}
	e := t.entry(c)
	e.once.Do(func() { e.s, e.err = t.build(c) })
	if e.err != nil {
		return nil, e.err
	}
	s := e.s
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := r.RunAttention(ctx, t.request(s))
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var bp, bd time.Duration
	baseline := ""
	if t.p.Bool("baseline") {
		if resp.BaselinePrefillTime > 0 {
			bp, bd, baseline = resp.BaselinePrefillTime, resp.BaselineDecodeTime, "backend dense on "+resp.Device
		} else {
			if bp, bd, err = t.goBaseline(s); err != nil {
				return nil, err
			}
			baseline = "fast dense kernels (Go)"
		}
	}
	res, err := t.score(e, resp, bp, bd)
	if err == nil && baseline != "" {
		res.Info["baseline"] = baseline
	}
	return res, err
}

func (t *Task) score(e *refEntry, resp *modes.Response, basePrefill, baseDecode time.Duration) (*tasks.Result, error) {
	s := e.s
	sh := s.shape
	// With prefill: full the response covers every token; the probes are
	// its last m rows and selections.
	qTokens := s.m
	if s.qAll != nil {
		qTokens = s.n
	}
	res := &tasks.Result{
		Scores:  map[string]float64{},
		Metrics: map[string]record.Value{},
		Timings: map[string]record.Value{},
		Info:    map[string]any{"n": s.n, "queries": s.m, "prefill_tokens": qTokens, "heads": sh.Heads, "kv_heads": sh.KVHeads, "head_dim": sh.HeadDim},
	}
	out := resp.Out[sh.QSize(qTokens-s.m):]
	res.Output = outputDigest(resp.Out)
	res.Metrics["rel_l2_error"] = record.Value{Value: relL2(out, s.dense), Unit: "ratio", Better: record.Lower}

	p := resp.Prefill
	pairs := int64(s.m * sh.KVHeads)
	if len(p.Selected) != qTokens*sh.KVHeads || resp.BlockSize < 1 {
		return nil, fmt.Errorf("backend recorded %d block selections of block size %d, want %d", len(p.Selected), resp.BlockSize, qTokens*sh.KVHeads)
	}
	selected := p.Selected[(qTokens-s.m)*sh.KVHeads:]
	mass := e.blockMass(resp.BlockSize)
	var needleHit, massSum, overlap float64
	for i, sel := range selected {
		if s.needle >= 0 {
			for _, j := range sel {
				lo, hi := int(j)*resp.BlockSize, (int(j)+1)*resp.BlockSize
				if lo < s.needle+s.needleLen && s.needle < hi {
					needleHit++
					break
				}
			}
		}
		row := mass[i]
		for _, j := range sel {
			if int(j) < len(row) {
				massSum += row[j]
			}
		}
		overlap += oracleOverlap(row, sel)
	}
	if s.needle >= 0 {
		res.Scores["needle_recall"] = needleHit / float64(pairs)
		res.Info["needle_token"] = s.needle
		res.Info["needle_block"] = s.needle / resp.BlockSize
	}
	res.Scores["mass_recall"] = massSum / float64(pairs*int64(sh.Group()))
	res.Scores["oracle_overlap"] = overlap / float64(pairs)

	if p.VisibleTokens > 0 {
		res.Metrics["attended_fraction"] = record.Value{Value: float64(p.Tokens) / float64(p.VisibleTokens), Unit: "ratio"}
	}
	res.Metrics["blocks_per_query"] = record.Value{Value: float64(p.Blocks) / float64(int64(qTokens*sh.KVHeads)), Unit: "blocks"}
	denseChunk, denseStep := denseFLOPs(sh, s.n, qTokens), denseFLOPs(sh, s.n, 1)
	res.Metrics["prefill_gflop"] = record.Value{Value: p.FLOPs / 1e9, Unit: "GFLOP", Better: record.Lower}
	if p.FLOPs > 0 {
		res.Metrics["cost_speedup_prefill"] = record.Value{Value: denseChunk / p.FLOPs, Unit: "x", Better: record.Higher}
	}
	if resp.Decode.FLOPs > 0 {
		res.Metrics["cost_speedup_decode"] = record.Value{Value: denseStep / resp.Decode.FLOPs, Unit: "x", Better: record.Higher}
	}
	res.Metrics["decode_kv_mib"] = record.Value{Value: float64(resp.Decode.KVBytes) / (1 << 20), Unit: "MiB", Better: record.Lower}
	res.Metrics["cache_mib"] = record.Value{Value: float64(resp.CacheBytes) / (1 << 20), Unit: "MiB", Better: record.Lower}
	pt, dt := resp.PrefillTime.Seconds(), resp.DecodeTime.Seconds()
	if pt > 0 {
		res.Metrics["prefill_gflops"] = record.Value{Value: p.FLOPs / 1e9 / pt, Unit: "GFLOP/s", Better: record.Higher}
	}
	if dt > 0 {
		res.Metrics["decode_gbps"] = record.Value{Value: float64(resp.Decode.KVBytes) / 1e9 / dt, Unit: "GB/s", Better: record.Higher}
	}
	if pt > 0 {
		res.Metrics["prefill_tokens_per_s"] = record.Value{Value: float64(qTokens) / pt, Unit: "tok/s", Better: record.Higher}
	}
	if dt > 0 {
		res.Metrics["decode_tokens_per_s"] = record.Value{Value: 1 / dt, Unit: "tok/s", Better: record.Higher}
	}
	res.Timings["prefill_ms"] = record.Value{Value: pt * 1e3, Unit: "ms", Better: record.Lower}
	res.Timings["prefill_us_per_token"] = record.Value{Value: pt * 1e6 / float64(qTokens), Unit: "us", Better: record.Lower}
	if basePrefill > 0 && pt > 0 {
		res.Metrics["speedup_prefill"] = record.Value{Value: basePrefill.Seconds() / pt, Unit: "x", Better: record.Higher}
		res.Metrics["speedup_decode"] = record.Value{Value: baseDecode.Seconds() / dt, Unit: "x", Better: record.Higher}
		if f, ok := res.Metrics["cost_speedup_prefill"]; ok {
			res.Metrics["bound_fraction_prefill"] = record.Value{Value: basePrefill.Seconds() / pt / f.Value, Unit: "ratio", Better: record.Higher}
		}
		if f, ok := res.Metrics["cost_speedup_decode"]; ok && dt > 0 {
			res.Metrics["bound_fraction_decode"] = record.Value{Value: baseDecode.Seconds() / dt / f.Value, Unit: "ratio", Better: record.Higher}
		}
	}
	res.Timings["decode_ms"] = record.Value{Value: dt * 1e3, Unit: "ms", Better: record.Lower}
	if resp.PeakDeviceBytes > 0 {
		res.Metrics["peak_device_mib"] = record.Value{Value: float64(resp.PeakDeviceBytes) / (1 << 20), Unit: "MiB", Better: record.Lower}
	}
	if resp.Device != "" {
		res.Info["device"] = resp.Device
	}
	res.Info["dense_calls"] = p.DenseCalls
	res.Info["sparse_calls"] = p.SparseCalls
	return res, nil
}

// denseFLOPs is the cost model's dense FLOP count for the last m query
// tokens of a context of n: 2 FLOPs per multiply-add, 2*d*(t+1) multiply-adds
// per query head at position t.
func denseFLOPs(sh attention.Shape, n, m int) float64 {
	var keys float64
	for t := n - m; t < n; t++ {
		keys += float64(t + 1)
	}
	return 4 * float64(sh.HeadDim) * float64(sh.Heads) * keys
}

// oracleOverlap is |sel ∩ top| / |sel| where top holds the |sel| blocks of
// largest mass (ties: lower index).
func oracleOverlap(mass []float64, sel []int32) float64 {
	k := len(sel)
	if k == 0 {
		return 0
	}
	idx := make([]int, len(mass))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return mass[idx[a]] > mass[idx[b]] })
	top := map[int]bool{}
	for _, j := range idx[:min(k, len(idx))] {
		top[j] = true
	}
	hit := 0
	for _, j := range sel {
		if top[int(j)] {
			hit++
		}
	}
	return float64(hit) / float64(k)
}

func relL2(got, want []float32) float64 {
	var num, den float64
	for i := range got {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// outputDigest identifies an output tensor exactly, so that runs can be
// checked for determinism.
func outputDigest(out []float32) string {
	h := sha256.New()
	var b [4]byte
	for _, f := range out {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(f))
		h.Write(b[:])
	}
	return fmt.Sprintf("sha256:%x", h.Sum(nil)[:12])
}
