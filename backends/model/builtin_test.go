package model

import (
	"path/filepath"
	"strings"
	"testing"
)

// Built-in names: an unregistered "default" is a clear error, a registered
// name loads through its loader once and shares the weights like a file
// path, and bad registrations panic.
func TestBuiltins(t *testing.T) {
	if _, err := acquire("default"); err == nil || !strings.Contains(err.Error(), "no default model is built in") {
		t.Fatalf("unregistered default: err %v", err)
	}
	dir := filepath.Join(refDir, "llama")
	calls := 0
	RegisterBuiltin("test-builtin-llama", func() (*Model, error) { calls++; return Load(dir) })
	t.Cleanup(func() {
		builtins.Lock()
		delete(builtins.load, "test-builtin-llama")
		builtins.Unlock()
	})
	a, err := acquire("test-builtin-llama")
	if err != nil {
		t.Fatal(err)
	}
	b, err := acquire("test-builtin-llama")
	if err != nil {
		t.Fatal(err)
	}
	if a != b || calls != 1 {
		t.Fatalf("two acquisitions: same model %v, loader called %d times (want shared, once)", a == b, calls)
	}
	f, err := acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	if f == a {
		t.Fatal("the directory and the built-in name share one entry; they are different keys")
	}
	release(a)
	release(b)
	release(f)
	for _, name := range []string{"", "a/b", "test-builtin-llama"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterBuiltin(%q) did not panic", name)
				}
			}()
			RegisterBuiltin(name, func() (*Model, error) { return nil, nil })
		}()
	}
}
