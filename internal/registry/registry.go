// Package registry is the one implementation behind the backend and task
// registries: a name -> value map filled by init functions, where a
// duplicate or empty name is a programming error (a panic at start-up).
package registry

import (
	"fmt"
	"sort"
	"sync"
)

// Registry maps names to values of T.
type Registry[T any] struct {
	kind string // "backends", "tasks": for panic messages
	mu   sync.RWMutex
	m    map[string]T
}

// New returns an empty registry; kind names it in panics.
func New[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]T{}}
}

// Register adds v under name; it panics on an empty or duplicate name.
func (r *Registry[T]) Register(name string, v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		panic(r.kind + ": Register with an empty name")
	}
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("%s: duplicate registration of %q", r.kind, name))
	}
	r.m[name] = v
}

// Lookup returns the value registered under name.
func (r *Registry[T]) Lookup(name string) (T, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	v, ok := r.m[name]
	return v, ok
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for k := range r.m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// List returns the registered values in name order.
func (r *Registry[T]) List() []T {
	names := r.Names()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = r.m[n]
	}
	return out
}
