package reports

import (
	"testing"

	"github.com/evalctl/evalctl/harness/record"
)

func TestLabelTasks(t *testing.T) {
	mk := func(task string, p map[string]any) *record.Record {
		return &record.Record{Task: task, TaskParams: p}
	}
	recs := []*record.Record{
		mk("needle", map[string]any{"keys": int64(1), "haystack": "essay"}),
		mk("needle", map[string]any{"keys": int64(4), "haystack": "essay"}),
		mk("needle", map[string]any{"keys": int64(1), "haystack": "essay"}),
		mk("attention", map[string]any{"heads": int64(8)}),
		mk("qa", map[string]any{"hops": "1", "source": "synthetic"}),
		mk("qa", map[string]any{"hops": "2", "source": "synthetic", "spread": 0.2}),
	}
	LabelTasks(recs)
	want := []string{"needle (keys=1)", "needle (keys=4)", "needle (keys=1)", "attention", "qa (hops=1, spread=<nil>)", "qa (hops=2, spread=0.2)"}
	for i, r := range recs {
		if r.Task != want[i] {
			t.Errorf("record %d: %q, want %q", i, r.Task, want[i])
		}
	}
}
