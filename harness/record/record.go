// Package record defines the result record, the product of an evalctl run:
// one flat, versioned JSON object per cell (backend configuration x task x
// length x depth x sample), and its readers and writers.
//
// Records are written as JSON lines, zstd-compressed in frames (one frame per
// flush) so that a killed run leaves a readable prefix. Readers accept plain
// .jsonl, .jsonl.zst and standard input, and report a corrupt line with its
// file and line number as an error value instead of failing the whole read.
package record

import "time"

// Version is the version of the record schema written by this build.
// Readers accept records with V <= Version.
const Version = 1

// Better says in which direction a metric improves.
type Better string

// Directions of improvement.
const (
	Higher Better = "higher"
	Lower  Better = "lower"
	None   Better = "" // informational
)

// Value is a measured quantity with its unit.
type Value struct {
	Value  float64 `json:"value"`
	Unit   string  `json:"unit"`             // "ms", "ratio", "GFLOP", "bytes", "blocks", ...
	Better Better  `json:"better,omitempty"` // direction of improvement
}

// Record is the result of one cell.
type Record struct {
	V   int    `json:"v"`   // schema version
	Key string `json:"key"` // stable cell key: hash of everything that defines the cell
	Run string `json:"run"` // run id

	Backend       string         `json:"backend"`        // configuration label, unique in a suite
	BackendName   string         `json:"backend_name"`   // registered backend name
	BackendParams map[string]any `json:"backend_params"` // fully resolved parameters

	Task       string         `json:"task"`
	TaskParams map[string]any `json:"task_params"`

	Length int     `json:"length"`          // target context length in tokens
	Depth  float64 `json:"depth"`           // needle depth in [0,1]; 0 for tasks without depth
	Sample int     `json:"sample"`          // sample index within the cell group
	Seed   int64   `json:"seed"`            // seed of this sample (shared by all backends)
	Shard  string  `json:"shard,omitempty"` // "i/n" when the run was sharded

	Output     string             `json:"output,omitempty"`     // prediction or summary of the output
	References []string           `json:"references,omitempty"` // expected answers, when the task has them
	Scores     map[string]float64 `json:"scores,omitempty"`     // accuracy-like, higher is better
	Metrics    map[string]Value   `json:"metrics,omitempty"`
	Timings    map[string]Value   `json:"timings,omitempty"`
	Info       map[string]any     `json:"info,omitempty"` // extra facts: token counts, selected blocks ...

	Error string `json:"error,omitempty"` // non-empty when the cell failed

	Start   time.Time `json:"start"`
	Elapsed float64   `json:"elapsed_ms"` // wall time of the whole cell
	Worker  int       `json:"worker"`
}

// OK reports whether the cell succeeded.
func (r *Record) OK() bool { return r.Error == "" }
