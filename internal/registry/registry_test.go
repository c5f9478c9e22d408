package registry

import (
	"reflect"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("things")
	r.Register("b", 2)
	r.Register("a", 1)
	if v, ok := r.Lookup("b"); !ok || v != 2 {
		t.Errorf("Lookup(b) = %v, %v", v, ok)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("Lookup(c) found something")
	}
	if got := r.Names(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Names = %v", got)
	}
	if got := r.List(); !reflect.DeepEqual(got, []int{1, 2}) {
		t.Errorf("List = %v", got)
	}
	for _, name := range []string{"a", ""} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not panic", name)
				}
			}()
			r.Register(name, 3)
		}()
	}
}
