// Package tasks holds the Task interface and the registry of task
// constructors. A task turns a cell (length, depth, sample seed) into
// requests, sends them to a backend through the backend's capability
// interfaces, and scores the responses; it never knows which backend
// answered. Each task lives in its own sub-package and registers itself.
package tasks

import (
	"context"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/harness/record"
	"github.com/evalctl/evalctl/internal/registry"
	"github.com/evalctl/evalctl/params"
)

// Cell is one unit of work as the task sees it.
type Cell struct {
	Length int     // target context length in tokens
	Depth  float64 // needle depth in [0,1]; 0 for tasks without depth
	Sample int     // sample index
	Seed   int64   // sample seed: the same for every backend of a suite
}

// Result is what a task reports for a cell. The harness adds the identity
// fields and writes it as a record.
type Result struct {
	Output     string
	References []string
	Scores     map[string]float64
	Metrics    map[string]record.Value
	Timings    map[string]record.Value
	Info       map[string]any
}

// Task evaluates cells against a backend.
type Task interface {
	// Evaluate runs one cell. An error becomes an error record; the run
	// goes on. Implementations honour ctx cancellation.
	Evaluate(ctx context.Context, b backends.Backend, c Cell) (*Result, error)
}

// Config is what a constructor receives.
type Config struct {
	Params params.Set
}

// Info describes a registered task.
type Info struct {
	Name      string
	Help      string
	Params    []params.Spec
	UsesDepth bool // whether the depth axis means something for this task
	// Metrics lists the names of the scores and metrics the task reports,
	// for `evalctl list`.
	Metrics []string
	New     func(Config) (Task, error)
	// Check, if set, validates a resolved parameter set as a whole when the
	// suite is parsed, before any task is built.
	Check func(params.Set) error
}

var reg = registry.New[Info]("tasks")

// Register adds a task. It panics on a duplicate or empty name or a nil
// constructor, which is a programming error found at start-up.
func Register(info Info) {
	if info.New == nil {
		panic("tasks: Register(" + info.Name + ") with a nil constructor")
	}
	reg.Register(info.Name, info)
}

// Lookup returns the registered task of that name.
func Lookup(name string) (Info, bool) { return reg.Lookup(name) }

// List returns every registered task, sorted by name.
func List() []Info { return reg.List() }

// Names returns the sorted names of every registered task.
func Names() []string { return reg.Names() }
