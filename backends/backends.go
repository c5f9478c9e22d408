// Package backends holds the Backend interface and the registry of backend
// constructors. A backend answers requests and reports what it measured; it
// never knows which task asked. The core interface is tiny; what a backend
// can do is found by type assertion on optional capability interfaces that
// live next to the request types they take (for example attention.Runner in
// backends/attention for raw q/k/v requests).
//
// Sub-packages register their backends in init functions; cmd/evalctl imports
// them for their side effects.
package backends

import (
	"github.com/evalctl/evalctl/internal/registry"
	"github.com/evalctl/evalctl/params"
)

// Backend is the core interface every backend implements.
type Backend interface {
	// Close releases resources (model weights, connections).
	Close() error
}

// Config is what a constructor receives: the label of this configuration
// and its resolved parameters. New fields never break a constructor.
type Config struct {
	Label  string
	Params params.Set
}

// Constructor builds a backend from a resolved configuration.
type Constructor func(Config) (Backend, error)

// Info describes a registered backend.
type Info struct {
	Name   string
	Help   string
	Params []params.Spec
	New    Constructor
	// Check, if set, validates a resolved parameter set as a whole (for
	// constraints between parameters) when the suite is parsed, before any
	// backend is built.
	Check func(params.Set) error
}

var reg = registry.New[Info]("backends")

// Register adds a backend. It panics on a duplicate or empty name or a nil
// constructor, which is a programming error found at start-up.
func Register(info Info) {
	if info.New == nil {
		panic("backends: Register(" + info.Name + ") with a nil constructor")
	}
	reg.Register(info.Name, info)
}

// Lookup returns the registered backend of that name.
func Lookup(name string) (Info, bool) { return reg.Lookup(name) }

// List returns every registered backend, sorted by name.
func List() []Info { return reg.List() }

// Names returns the sorted names of every registered backend.
func Names() []string { return reg.Names() }
