package backends

import "testing"

type nop struct{}

func (nop) Close() error { return nil }

func TestRegistry(t *testing.T) {
	Register(Info{Name: "zz-test", New: func(Config) (Backend, error) { return nop{}, nil }})
	if _, ok := Lookup("zz-test"); !ok {
		t.Fatal("not found after Register")
	}
	names := Names()
	if names[len(names)-1] != "zz-test" {
		t.Errorf("names not sorted or missing: %v", names)
	}
	defer func() {
		if recover() == nil {
			t.Error("duplicate registration did not panic")
		}
	}()
	Register(Info{Name: "zz-test", New: func(Config) (Backend, error) { return nop{}, nil }})
}
