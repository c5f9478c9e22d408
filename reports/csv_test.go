package reports

import (
	"bytes"
	"encoding/csv"
	"strconv"
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

// trickyLabel is a backend label with HTML and CSV metacharacters.
const trickyLabel = `<b>&'"bold, "quoted"`

// exportFixture returns the records of fixture plus a task "escape" (run
// r3) with a backend labelled trickyLabel (three samples at 1K and 2K) and
// a backend "crash" that only has an error record at 1K, and a task "fail"
// whose only record is an error.
func exportFixture() []*record.Record {
	rs := fixture()
	for _, length := range []int{1024, 2048} {
		for sample := range 3 {
			rs = append(rs, &record.Record{
				V: record.Version, Run: "r3", Backend: trickyLabel, Task: "escape",
				Length: length, Sample: sample,
				Scores: map[string]float64{"em": 0.5 + 0.125*float64(sample) - float64(length)/8192},
			})
		}
	}
	rs = append(rs,
		&record.Record{V: record.Version, Run: "r3", Backend: "crash", Task: "escape", Length: 1024, Error: "segfault"},
		&record.Record{V: record.Version, Run: "r3", Backend: "dense", Task: "fail", Length: 4096, Error: "timeout"},
	)
	return rs
}

func exportSummary() *Summary {
	s := New()
	for _, r := range exportFixture() {
		s.Add(r)
	}
	return s
}

func TestCSVGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := exportSummary().CSV(&buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.csv", buf.Bytes())
}

func TestCSVDeterministic(t *testing.T) {
	render := func() string {
		var buf bytes.Buffer
		if err := exportSummary().CSV(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	first := render()
	for range 5 {
		if render() != first {
			t.Fatal("CSV output differs between renderings")
		}
	}
}

// TestCSVRoundTrip reads the CSV back and checks it against the accessors:
// the row count, the header, and every row's values.
func TestCSVRoundTrip(t *testing.T) {
	s := exportSummary()
	var buf bytes.Buffer
	if err := s.CSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll() // also checks every row has 16 fields
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, task := range s.Tasks() {
		for _, m := range s.Metrics(task) {
			for _, b := range s.Backends(task) {
				for _, l := range s.Lengths(task) {
					if _, ok := s.Cell(task, m.Name, b, l); ok || s.Errors(task, b, l) > 0 {
						want++
					}
				}
			}
		}
	}
	if len(rows) != want+1 {
		t.Fatalf("CSV has %d rows, want header + %d", len(rows), want)
	}
	if got := rows[0]; len(got) != len(csvHeader) || got[0] != "task" || got[15] != "errors" {
		t.Fatalf("header = %q", got)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	sawTricky, sawErrOnly := false, false
	for _, row := range rows[1:] {
		task, metric, backend := row[col["task"]], row[col["metric"]], row[col["backend"]]
		length, err := strconv.Atoi(row[col["length"]])
		if err != nil {
			t.Fatalf("row %q: length: %v", row, err)
		}
		if backend == trickyLabel {
			sawTricky = true
		}
		if got, want := row[col["errors"]], strconv.Itoa(s.Errors(task, backend, length)); got != want {
			t.Errorf("%s/%s/%s/%d: errors = %s, want %s", task, metric, backend, length, got, want)
		}
		st, ok := s.Cell(task, metric, backend, length)
		if !ok {
			sawErrOnly = true
			if row[col["n"]] != "0" || row[col["mean"]] != "" || row[col["ci_low"]] != "" {
				t.Errorf("%s/%s/%s/%d: want n=0 and empty statistics, got %q", task, metric, backend, length, row)
			}
			continue
		}
		check := func(name string, want float64, present bool) {
			t.Helper()
			cell := row[col[name]]
			if !present {
				if cell != "" {
					t.Errorf("%s/%s/%s/%d: %s = %q, want empty", task, metric, backend, length, name, cell)
				}
				return
			}
			got, err := strconv.ParseFloat(cell, 64)
			if err != nil || got != want { // 'g' -1 round-trips exactly
				t.Errorf("%s/%s/%s/%d: %s = %q, want %v", task, metric, backend, length, name, cell, want)
			}
		}
		check("n", float64(st.N), true)
		check("mean", st.Mean, true)
		check("median", st.Median, true)
		check("stddev", st.StdDev, st.N >= 2)
		check("min", st.Min, true)
		check("max", st.Max, true)
		check("ci_low", st.Low, st.HasInterval)
		check("ci_high", st.High, st.HasInterval)
	}
	if !sawTricky {
		t.Errorf("no row for backend %q", trickyLabel)
	}
	if !sawErrOnly {
		t.Error("no row for a group with only error records")
	}
}

func TestCSVOrderAndColumns(t *testing.T) {
	var buf bytes.Buffer
	if err := exportSummary().CSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Second row: first task (escape), its only metric, first-seen backend,
	// shortest length.
	first := rows[1]
	want := []string{"escape", "em", "score", "score", "higher", trickyLabel, "1024", "3"}
	for i, w := range want {
		if first[i] != w {
			t.Errorf("first row column %s = %q, want %q", csvHeader[i], first[i], w)
		}
	}
	// niah: metrics in Metrics order (accuracy, kv_bytes, prefill), then
	// backends in first-seen order, then lengths ascending.
	var keys []string
	for _, r := range rows[1:] {
		if r[0] == "niah" && r[6] == "1024" {
			keys = append(keys, r[1]+"/"+r[5])
		}
	}
	wantKeys := []string{
		"accuracy/dense", "accuracy/sparse-topk", "accuracy/sliding",
		"kv_bytes/dense", "kv_bytes/sparse-topk", "kv_bytes/sliding",
		"prefill/dense", "prefill/sparse-topk", "prefill/sliding",
	}
	if len(keys) != len(wantKeys) {
		t.Fatalf("niah 1K rows = %q, want %q", keys, wantKeys)
	}
	for i := range keys {
		if keys[i] != wantKeys[i] {
			t.Fatalf("niah 1K rows = %q, want %q", keys, wantKeys)
		}
	}
	for _, r := range rows[1:] {
		if r[0] == "fail" {
			t.Errorf("task with only error records has a row: %q", r)
		}
	}
}

func TestCSVEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := New().CSV(&buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "task,metric,kind,unit,better,backend,length,n,mean,median,stddev,min,max,ci_low,ci_high,errors\n"; got != want {
		t.Errorf("empty CSV = %q, want %q", got, want)
	}
}
