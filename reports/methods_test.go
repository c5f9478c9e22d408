package reports

import (
	"bytes"
	"encoding/xml"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

// methodRec is one record of a model task: a pass/fail score, prefill and
// decode timings and the attended fractions.
type methodRec struct {
	task, backend string
	length        int
	sample        int
	score         float64
	prefill       float64 // ms
	decode        float64 // ms
	density       float64 // attended_fraction_prefill; 0: none
	err           bool
}

func (m methodRec) record() *record.Record {
	r := &record.Record{V: record.Version, Run: "t", Task: m.task, Backend: m.backend, Length: m.length,
		Sample: m.sample, Seed: int64(1000*m.length + m.sample)}
	if m.err {
		r.Error = "timeout"
		return r
	}
	r.Scores = map[string]float64{"string_match_all": m.score}
	r.Timings = map[string]record.Value{
		"prefill_ms": {Value: m.prefill, Unit: "ms", Better: record.Lower},
		"decode_ms":  {Value: m.decode, Unit: "ms", Better: record.Lower},
	}
	if m.density > 0 {
		r.Metrics = map[string]record.Value{"attended_fraction_prefill": {Value: m.density, Unit: "ratio"}}
	}
	return r
}

// method describes one backend of a rule case: its score per sample, its
// prefill and decode speedups over dense (with a small per-sample jitter)
// and its density.
type method struct {
	name            string
	scores          []float64
	prefill, decode float64
	density         float64
	errors          int
}

func methodSummary(length int, ms []method) *Summary {
	s := New()
	for k, m := range ms {
		for i, sc := range m.scores {
			jitter := 1 + 0.01*float64((i+k)%3-1) // differs between backends, so paired ratios vary
			s.Add(methodRec{task: "needle", backend: m.name, length: length, sample: i, score: sc,
				prefill: 1000 / (m.prefill * jitter), decode: 10 / (m.decode * jitter), density: m.density}.record())
		}
		for e := range m.errors {
			s.Add(methodRec{task: "needle", backend: m.name, length: length, sample: 100 + e, err: true}.record())
		}
	}
	return s
}

func ones(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func TestMethodRule(t *testing.T) {
	lost := append(ones(5), 0) // one sample of six lost
	for _, c := range []struct {
		name      string
		methods   []method
		opts      MethodOptions
		best      string
		noVerdict string
	}{
		{"fastest that matches", []method{
			{name: "dense", scores: ones(6), prefill: 1, decode: 1, density: 1},
			{name: "a", scores: ones(6), prefill: 2, decode: 1.2, density: 0.3},
			{name: "b", scores: lost, prefill: 3, decode: 3, density: 0.1},
			{name: "c", scores: ones(6), prefill: 1.5, decode: 4, density: 0.5},
		}, MethodOptions{}, "a", ""},
		{"decode phase", []method{
			{name: "dense", scores: ones(6), prefill: 1, decode: 1},
			{name: "a", scores: ones(6), prefill: 2, decode: 1.2},
			{name: "b", scores: lost, prefill: 3, decode: 3},
			{name: "c", scores: ones(6), prefill: 1.5, decode: 4},
		}, MethodOptions{Phase: "decode"}, "c", ""},
		{"a wider tolerance admits a loss", []method{
			{name: "dense", scores: ones(6), prefill: 1, decode: 1},
			{name: "a", scores: ones(6), prefill: 2, decode: 1},
			{name: "b", scores: lost, prefill: 3, decode: 1},
		}, MethodOptions{Tolerance: 0.2}, "b", ""},
		{"errors disqualify", []method{
			{name: "dense", scores: ones(6), prefill: 1, decode: 1},
			{name: "a", scores: ones(6), prefill: 2, decode: 1, errors: 1},
			{name: "c", scores: ones(6), prefill: 1.5, decode: 1},
		}, MethodOptions{}, "c", ""},
		{"not measurably faster: dense", []method{
			{name: "dense", scores: ones(6), prefill: 1, decode: 1},
			{name: "a", scores: ones(6), prefill: 1.002, decode: 1},
			{name: "b", scores: ones(6), prefill: 0.7, decode: 1},
		}, MethodOptions{}, "dense", ""},
		{"a gain in accuracy counts as matching", []method{
			{name: "dense", scores: lost, prefill: 1, decode: 1},
			{name: "a", scores: ones(6), prefill: 1.3, decode: 1},
		}, MethodOptions{}, "a", ""},
		{"dense scores 0", []method{
			{name: "dense", scores: make([]float64, 4), prefill: 1, decode: 1},
			{name: "a", scores: make([]float64, 4), prefill: 2, decode: 1},
			{name: "b", scores: make([]float64, 4), prefill: 3, decode: 1},
		}, MethodOptions{}, "", "dense scores 0"},
		{"no dense backend", []method{
			{name: "full", scores: ones(4), prefill: 1, decode: 1},
			{name: "a", scores: ones(4), prefill: 2, decode: 1},
		}, MethodOptions{}, "", "no dense backend"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := methodSummary(8192, c.methods)
			fams, err := s.MethodComparison(c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(fams) != 1 || len(fams[0].Lengths) != 1 {
				t.Fatalf("families %+v", fams)
			}
			ml := fams[0].Lengths[0]
			if ml.Best != c.best || ml.NoVerdict != c.noVerdict {
				t.Fatalf("best %q (%q), want %q (%q)", ml.Best, ml.NoVerdict, c.best, c.noVerdict)
			}
			nBest := 0
			for _, r := range ml.Rows {
				if r.Best {
					nBest++
					if r.Method != c.best {
						t.Errorf("row %s marked best", r.Method)
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[c.best != ""]; nBest != want {
				t.Errorf("%d rows marked best", nBest)
			}
		})
	}
}

// TestMethodNumbers checks the numbers of one row against their
// definitions: the paired difference, the geometric-mean speedups from
// paired timings, the density.
func TestMethodNumbers(t *testing.T) {
	s := New()
	// Dense and a on four samples: a loses sample 3; its prefill is 2x and
	// 8x faster on alternate samples (geometric mean 4x); decode 1.5x.
	for i := range 4 {
		s.Add(methodRec{task: "needle", backend: "dense", length: 4096, sample: i, score: 1, prefill: 800, decode: 3, density: 1}.record())
		sp := map[bool]float64{true: 2, false: 8}[i%2 == 0]
		s.Add(methodRec{task: "needle", backend: "a", length: 4096, sample: i, score: float64(min(1, 3-i)), prefill: 800 / sp,
			decode: 2, density: 0.25}.record())
		s.Add(methodRec{task: "needle", backend: "b", length: 4096, sample: i, score: 1, prefill: 900, decode: 3, density: 1}.record())
	}
	// A sample only dense has: not paired.
	s.Add(methodRec{task: "needle", backend: "dense", length: 4096, sample: 9, score: 1, prefill: 800, decode: 3}.record())
	fams, _ := s.MethodComparison(MethodOptions{})
	rows := fams[0].Lengths[0].Rows
	var a MethodRow
	for _, r := range rows {
		if r.Method == "a" {
			a = r
		}
	}
	if a.Diff.N != 4 || math.Abs(a.Diff.Estimate+0.25) > 1e-12 || a.Diff.Low >= a.Diff.Estimate || a.Diff.High <= a.Diff.Estimate {
		t.Errorf("diff %+v, want -0.25 over 4 pairs", a.Diff)
	}
	if sp := a.Speedup["prefill"]; sp.N != 4 || math.Abs(sp.Mean-4) > 1e-9 || sp.Source != "paired prefill_ms" || !sp.HasInterval || sp.Low >= 4 || sp.High <= 4 {
		t.Errorf("prefill speedup %+v, want geometric mean 4 over 4 pairs", sp)
	}
	if sp := a.Speedup["decode"]; math.Abs(sp.Mean-1.5) > 1e-9 {
		t.Errorf("decode speedup %+v, want 1.5", sp)
	}
	if d := a.Density["prefill"]; d.N != 4 || d.Mean != 0.25 {
		t.Errorf("density %+v", d)
	}
	if _, ok := a.Density["decode"]; ok {
		t.Error("a decode density without a metric for it")
	}
	if a.Matches || !a.Faster || a.Best {
		t.Errorf("a: matches %v faster %v best %v", a.Matches, a.Faster, a.Best)
	}
	if fams[0].Lengths[0].Best != "dense" {
		t.Errorf("best %q", fams[0].Lengths[0].Best)
	}
}

// TestMethodSources checks where speedups, densities and scores come from.
func TestMethodSources(t *testing.T) {
	// The attention suite's records: speedup_prefill measured in the cell,
	// attended_fraction, needle_recall beside other scores; and density
	// metrics that take precedence.
	s := New()
	for i := range 3 {
		for _, b := range []struct {
			name        string
			speed, frac float64
		}{{"dense", 1, 1}, {"sparse", 3, 0.2}, {"oracle", 0.5, 0.2}} {
			s.Add(&record.Record{Task: "attention", Backend: b.name, Length: 2048, Sample: i, Seed: int64(i),
				Scores: map[string]float64{"mass_recall": 0.9, "needle_recall": 1, "oracle_overlap": 0.8},
				Metrics: map[string]record.Value{
					"speedup_prefill":   {Value: b.speed, Unit: "x", Better: record.Higher},
					"attended_fraction": {Value: b.frac, Unit: "ratio"},
					"density":           {Value: b.frac / 2, Unit: "ratio"},
				},
				Timings: map[string]record.Value{"prefill_ms": {Value: 100, Unit: "ms", Better: record.Lower}},
			})
		}
	}
	fams, _ := s.MethodComparison(MethodOptions{})
	f := fams[0]
	if f.Score != "needle_recall" || f.Reference != "dense" {
		t.Fatalf("score %q reference %q", f.Score, f.Reference)
	}
	ml := f.Lengths[0]
	if ml.Best != "sparse" {
		t.Errorf("best %q", ml.Best)
	}
	for _, r := range ml.Rows {
		want := map[string]float64{"dense": 1, "sparse": 3, "oracle": 0.5}[r.Method]
		if sp := r.Speedup["prefill"]; math.Abs(sp.Mean-want) > 1e-9 || sp.Source != "speedup_prefill" {
			t.Errorf("%s: speedup %+v, want %v from speedup_prefill", r.Method, sp, want)
		}
		if d := r.Density["prefill"]; math.Abs(d.Mean-map[string]float64{"dense": 0.5, "sparse": 0.1, "oracle": 0.1}[r.Method]) > 1e-12 {
			t.Errorf("%s: density %v, want the density metric", r.Method, d.Mean)
		}
	}
	if _, err := s.MethodComparison(MethodOptions{Phase: "train"}); err == nil {
		t.Error("phase train accepted")
	}
	if _, err := s.MethodComparison(MethodOptions{Tolerance: 2}); err == nil {
		t.Error("tolerance 2 accepted")
	}
}

// TestMethodPooling checks that configurations of a task pool into their
// family, and that a family's headline score is chosen by preference.
func TestMethodPooling(t *testing.T) {
	var recs []*record.Record
	for i := range 3 {
		for _, keys := range []int{1, 4} {
			for _, b := range []string{"model-dense", "model-sparse", "model-streaming"} {
				recs = append(recs, &record.Record{Task: "needle", TaskParams: map[string]any{"keys": keys}, Backend: b, Length: 1024,
					Sample: i, Seed: int64(10*keys + i), Scores: map[string]float64{"string_match_all": 1}})
				recs = append(recs, &record.Record{Task: "qa", Backend: b, Length: 1024, Sample: i, Seed: int64(i),
					Scores: map[string]float64{"f1": 1, "exact_match": 1, "acc": 1}})
			}
		}
	}
	LabelTasks(recs)
	s := New()
	for _, r := range recs {
		s.Add(r)
	}
	fams, _ := s.MethodComparison(MethodOptions{})
	if len(fams) != 2 {
		t.Fatalf("%d families", len(fams))
	}
	nd, qa := fams[0], fams[1]
	if nd.Family != "needle" || len(nd.Tasks) != 2 || nd.Reference != "model-dense" {
		t.Fatalf("needle family %+v", nd)
	}
	if n := nd.Lengths[0].Rows[0].Accuracy.N; n != 6 {
		t.Errorf("pooled needle accuracy over %d samples, want 6", n)
	}
	if qa.Score != "exact_match" {
		t.Errorf("qa headline %q, want exact_match", qa.Score)
	}
	var md bytes.Buffer
	if err := s.Markdown(&md); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "Pooled: needle (keys=1); needle (keys=4).") {
		t.Errorf("no pooled line in\n%s", md.String())
	}
}

// TestMethodSectionShown checks when the report has the section: with two
// methods besides dense in some family, and then with every family that
// has one.
func TestMethodSectionShown(t *testing.T) {
	section := func(s *Summary) string {
		var b bytes.Buffer
		s.writeMethods(&b)
		return b.String()
	}
	two := methodSummary(1024, []method{
		{name: "dense", scores: ones(3), prefill: 1, decode: 1},
		{name: "sparse", scores: ones(3), prefill: 2, decode: 1},
	})
	if got := section(two); got != "" || two.hasMethodSection() {
		t.Errorf("one method against dense: section\n%s", got)
	}
	for i := range 3 {
		two.Add(methodRec{task: "needle", backend: "streaming", length: 1024, sample: i, score: 1, prefill: 100, decode: 1}.record())
		two.Add(methodRec{task: "qa", backend: "dense", length: 1024, sample: i, score: 1, prefill: 100, decode: 1}.record())
		two.Add(methodRec{task: "qa", backend: "sparse", length: 1024, sample: i, score: 1, prefill: 50, decode: 1}.record())
		two.Add(methodRec{task: "solo", backend: "dense", length: 1024, sample: i, score: 1, prefill: 100, decode: 1}.record())
	}
	got := section(two)
	for _, want := range []string{"## Method comparison", "| needle (string_match_all) |", "| qa (string_match_all) | sparse (2.00x) |",
		"### needle: string_match_all vs speedup and density", "### qa: string_match_all vs speedup and density"} {
		if !strings.Contains(got, want) {
			t.Errorf("section lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "solo") || !two.hasMethodSection() {
		t.Errorf("a family with dense alone is listed, or hasMethodSection is false:\n%s", got)
	}
}

func TestPairedDiffContinuous(t *testing.T) {
	iv := pairedDiff([]float64{0.5, 0.6, 0.7}, []float64{0.4, 0.6, 0.5})
	if math.Abs(iv.Estimate+0.1) > 1e-12 || iv.N != 3 || !(iv.Low < -0.1 && iv.High > -0.1) {
		t.Errorf("continuous: %+v", iv)
	}
	iv = pairedDiff([]float64{1, 1, 0}, []float64{1, 0, 1})
	if iv.Estimate != 0 || iv.Low > -0.3 || iv.High < 0.3 {
		t.Errorf("binary: %+v", iv)
	}
	if r, ok := geoMean([]float64{2, 8, -1, math.Inf(1)}, "x"); !ok || r.N != 2 || math.Abs(r.Mean-4) > 1e-12 {
		t.Errorf("geoMean %+v", r)
	}
	if _, ok := geoMean(nil, "x"); ok {
		t.Error("geoMean of nothing")
	}
}

// probeSummary reads the records of a real run: testdata/methods-probe.yaml
// (the attention suite with seven configurations, the default model with
// five, at 1K..8K), run on this project's 2-core machine with
//
//	evalctl run reports/testdata/methods-probe.yaml --run-id methods-probe
//
// and pruned to the fields the comparison reads (scores, speedups,
// attended fractions, prefill and decode timings, identity).
func probeSummary(t *testing.T) (*Summary, []*record.Record) {
	t.Helper()
	recs, bad, err := record.ReadRun("testdata/methods-probe.jsonl.zst")
	if err != nil || len(bad) > 0 {
		t.Fatalf("%v %v", err, bad)
	}
	LabelTasks(recs)
	s := New()
	for _, r := range recs {
		s.Add(r)
	}
	return s, recs
}

func TestMethodsRealRun(t *testing.T) {
	s, recs := probeSummary(t)
	if len(recs) != 318 {
		t.Fatalf("%d records", len(recs))
	}
	var md bytes.Buffer
	s.writeMethods(&md)
	golden(t, "methods", md.Bytes())

	fams, err := s.MethodComparison(MethodOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range fams {
		names = append(names, f.Family)
		for _, ml := range f.Lengths {
			for _, r := range ml.Rows {
				// Paired timings make the reference exactly 1x.
				if r.Method == f.Reference && r.Speedup["prefill"].Source == "paired prefill_ms" && r.Speedup["prefill"].Mean != 1 {
					t.Errorf("%s %s: reference speedup %v", f.Family, FormatLength(ml.Length), r.Speedup["prefill"].Mean)
				}
				for ph, d := range r.Density {
					if d.Mean <= 0 || d.Mean > 1 {
						t.Errorf("%s %s %s: %s density %v", f.Family, FormatLength(ml.Length), r.Method, ph, d.Mean)
					}
				}
				if r.Best != (r.Method == ml.Best) {
					t.Errorf("%s %s %s: Best %v, length's best %q", f.Family, FormatLength(ml.Length), r.Method, r.Best, ml.Best)
				}
			}
		}
	}
	if strings.Join(names, " ") != "attention cwe fwe needle qa retrieval" {
		t.Errorf("families %q", names)
	}
	// A looser rule on the same records: with a tolerance of 0.5 and the
	// decode phase, methods that lose up to half the needles but decode
	// measurably faster win at the longer lengths.
	loose, _ := s.MethodComparison(MethodOptions{Phase: "decode", Tolerance: 0.5})
	att := loose[0]
	if att.Family != "attention" {
		t.Fatalf("first family %q", att.Family)
	}
	last := att.Lengths[len(att.Lengths)-1]
	if last.Best == "dense" || last.Best == "" {
		t.Errorf("decode, tolerance 0.5, 8K: best %q", last.Best)
	}
}

func TestMethodPlots(t *testing.T) {
	s, _ := probeSummary(t)
	for _, format := range []string{"png", "svg"} {
		dir := t.TempDir()
		paths, err := s.MethodPlots(dir, format, MethodOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(paths) != 6 {
			t.Fatalf("%s: %d files: %q", format, len(paths), paths)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			switch format {
			case "png":
				if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || len(b) < 20000 {
					t.Errorf("%s: not a PNG of a figure (%d bytes)", p, len(b))
				}
			case "svg":
				if err := xml.Unmarshal(b, new(struct{ XMLName xml.Name })); err != nil || !bytes.Contains(b, []byte("needle_recall")) && strings.Contains(p, "attention") {
					t.Errorf("%s: %v", p, err)
				}
			}
		}
		if !strings.HasSuffix(paths[0], "methods_attention."+format) {
			t.Errorf("first figure %s", paths[0])
		}
	}
	if _, err := s.MethodPlots(t.TempDir(), "gif", MethodOptions{}); err == nil {
		t.Error("format gif accepted")
	}
	// No comparison, no files.
	few := methodSummary(1024, []method{{name: "dense", scores: ones(2), prefill: 1, decode: 1}, {name: "a", scores: ones(2), prefill: 2, decode: 1}})
	if paths, err := few.MethodPlots(t.TempDir(), "png", MethodOptions{}); err != nil || len(paths) != 0 {
		t.Errorf("one method: %q %v", paths, err)
	}
}

func TestMethodsHTML(t *testing.T) {
	s, _ := probeSummary(t)
	var b bytes.Buffer
	if err := s.HTML(&b, ""); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	i := strings.Index(doc, `<section id="methods">`)
	if i < 0 || !strings.Contains(doc, `<li><a href="#methods">Method comparison</a></li>`) {
		t.Fatal("no methods section or no link to it")
	}
	sec := doc[i : i+strings.Index(doc[i:], "</section>")]
	if n := strings.Count(sec, "<table"); n != 7 {
		t.Errorf("%d tables, want 7 (best + 6 families)", n)
	}
	if n := strings.Count(sec, "<svg"); n != 6 {
		t.Errorf("%d figures, want 6", n)
	}
	for _, want := range []string{"<h3>Best method per length</h3>", "<h3>attention: needle_recall vs speedup and density</h3>",
		`<th scope="row" style="text-align:left">sparse-topk8</th>`, `<small style="color:#666">(dense scores 0)</small>`,
		"Pooled: needle (keys=1)"} {
		if !strings.Contains(sec, want) && want != "Pooled: needle (keys=1)" {
			t.Errorf("section lacks %q", want)
		}
	}
	if strings.Index(doc, `<section id="warnings">`) < i {
		t.Error("methods after warnings")
	}
}

// TestMethodFigureExtremes renders figures whose intervals span dozens of
// orders of magnitude and whose values touch 0 (two samples of wildly
// different speedups, as a loaded machine can give): an interval end far
// below its mean once made the log axis start at 0 and panic.
func TestMethodFigureExtremes(t *testing.T) {
	s := New()
	speeds := map[string][]float64{"dense": {1, 1}, "sparse": {1e-9, 0.9}, "streaming": {1e9, 2.8}, "oracle": {0, 0.5}}
	fracs := map[string][]float64{"dense": {1, 1}, "sparse": {1e-9, 0}, "streaming": {0, 0.45}, "oracle": {0.2, 0.2}}
	for _, b := range []string{"dense", "sparse", "streaming", "oracle"} {
		for i := range 2 {
			s.Add(&record.Record{Task: "attention", Backend: b, Length: 2048, Sample: i, Seed: int64(i),
				Scores: map[string]float64{"needle_recall": float64(i)},
				Metrics: map[string]record.Value{
					"speedup_prefill":   {Value: speeds[b][i], Unit: "x", Better: record.Higher},
					"attended_fraction": {Value: fracs[b][i], Unit: "ratio"},
				}})
		}
	}
	var b bytes.Buffer
	if err := s.htmlMethods(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "<svg") {
		t.Fatal("no figure")
	}
	if paths, err := s.MethodPlots(t.TempDir(), "png", MethodOptions{}); err != nil || len(paths) != 1 {
		t.Fatalf("%q %v", paths, err)
	}
}
