package reports

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/evalctl/evalctl/harness/record"
)

// LabelTasks renames the task of records in place when one task name comes
// with several parameter sets (a suite running needle with one key and with
// four): each set becomes "name (k=v, ...)", listing the parameters whose
// values differ between the sets, so that reports keep them apart instead of
// averaging them. Names with one parameter set keep their name. The result
// depends only on the set of configurations, not on record order.
func LabelTasks(recs []*record.Record) {
	configs := map[string]map[string]map[string]any{} // name -> canonical params -> params
	canon := func(p map[string]any) string {
		b, _ := json.Marshal(p) // maps marshal with sorted keys
		return string(b)
	}
	for _, r := range recs {
		if r == nil {
			continue
		}
		if configs[r.Task] == nil {
			configs[r.Task] = map[string]map[string]any{}
		}
		configs[r.Task][canon(r.TaskParams)] = r.TaskParams
	}
	labels := map[string]map[string]string{}
	for name, sets := range configs {
		if len(sets) < 2 {
			continue
		}
		// Parameters whose values differ between the sets.
		keys := map[string]bool{}
		for _, p := range sets {
			for k := range p {
				for _, q := range sets {
					if fmt.Sprint(p[k]) != fmt.Sprint(q[k]) {
						keys[k] = true
					}
				}
			}
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		labels[name] = map[string]string{}
		for c, p := range sets {
			var parts []string
			for _, k := range ks {
				parts = append(parts, fmt.Sprintf("%s=%v", k, p[k]))
			}
			labels[name][c] = fmt.Sprintf("%s (%s)", name, strings.Join(parts, ", "))
		}
	}
	for _, r := range recs {
		if r == nil {
			continue
		}
		if l, ok := labels[r.Task][canon(r.TaskParams)]; ok {
			r.Task = l
		}
	}
}
