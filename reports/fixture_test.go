package reports

import (
	"math"

	"github.com/evalctl/evalctl/harness/record"
)

// fixture returns crafted records for two tasks:
//
//   - niah (run r1): backends dense, sparse-topk and sliding (first seen in
//     that order), lengths 1K..32K, depths 0, 0.5 and 1, two samples each
//     (six values per cell); sparse-topk has two error records at 32K,
//     sliding never ran 32K (a missing cell) and has a single record at 16K;
//     one kv_bytes value is NaN.
//   - qa (run r2): two samples per cell, one timing recorded in "s"
//     instead of "ms" (a unit conflict).
func fixture() []*record.Record {
	var rs []*record.Record
	backends := []string{"dense", "sparse-topk", "sliding"}
	depths := []float64{0, 0.5, 1}
	for _, length := range []int{1024, 2048, 4096, 8192, 16384, 32768} {
		steps := math.Log2(float64(length) / 1024)
		for bi, b := range backends {
			if b == "sliding" && length == 32768 {
				continue // missing cell
			}
			for di, d := range depths {
				for sample := range 2 {
					if b == "sliding" && length == 16384 && (di > 0 || sample > 0) {
						continue // one-sample group
					}
					noise := float64((sample*7+di*3)%5-2) / 200 // -0.01 .. 0.01
					r := &record.Record{
						V: record.Version, Run: "r1", Backend: b, Task: "niah",
						Length: length, Depth: d, Sample: sample,
					}
					if b == "sparse-topk" && length == 32768 && di == 2 {
						r.Error = "out of memory"
						rs = append(rs, r)
						continue
					}
					var acc, prefill float64
					switch b {
					case "dense":
						acc = 0.99 - 0.002*steps + noise/4
						prefill = 4 * math.Pow(float64(length)/1024, 1.8) * (1 + noise)
					case "sparse-topk":
						acc = 0.98 - 0.02*steps + noise
						prefill = 6 * math.Pow(float64(length)/1024, 1.1) * (1 + noise)
					default:
						acc = 0.95 - 0.12*steps + noise
						prefill = 5 * float64(length) / 1024 * (1 + noise)
					}
					kv := float64(length) * 65536
					if bi == 1 {
						kv /= 8
					}
					if b == "dense" && length == 4096 && di == 0 && sample == 1 {
						kv = math.NaN()
					}
					r.Scores = map[string]float64{"accuracy": acc}
					r.Metrics = map[string]record.Value{
						"kv_bytes": {Value: kv, Unit: "bytes", Better: record.Lower},
					}
					r.Timings = map[string]record.Value{
						"prefill": {Value: prefill, Unit: "ms", Better: record.Lower},
					}
					rs = append(rs, r)
				}
			}
		}
	}
	for _, length := range []int{1000, 4000} {
		for _, b := range []string{"dense", "sparse-topk"} {
			for sample := range 2 {
				ms := 10 + float64(length)/100 + float64(sample)
				unit := "ms"
				if b == "sparse-topk" && length == 4000 && sample == 1 {
					ms, unit = ms/1000, "s"
				}
				rs = append(rs, &record.Record{
					V: record.Version, Run: "r2", Backend: b, Task: "qa",
					Length: length, Sample: sample,
					Scores: map[string]float64{"f1": 0.6 + 0.1*float64(sample) - float64(length)/40000},
					Timings: map[string]record.Value{
						"decode": {Value: ms, Unit: unit, Better: record.Lower},
					},
				})
			}
		}
	}
	return rs
}

func fixtureSummary() *Summary {
	s := New()
	for _, r := range fixture() {
		s.Add(r)
	}
	return s
}
