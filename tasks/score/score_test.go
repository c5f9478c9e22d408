package score

import (
	"math"
	"testing"
)

func TestRULER(t *testing.T) {
	cases := []struct {
		pred     string
		refs     []string
		all, prt float64
	}{
		{"The numbers are 123 and 456.", []string{"123", "456"}, 1, 1},
		{"only 123 here", []string{"123", "456"}, 0.5, 1},
		{"nothing", []string{"123", "456"}, 0, 0},
		{"ZÜRICH is it", []string{"zürich"}, 1, 1}, // case-insensitive, Unicode
		{"1234", []string{"123"}, 1, 1},            // substring, as RULER does
		{"anything", nil, 0, 0},
	}
	for _, c := range cases {
		if got := StringMatchAll(c.pred, c.refs); got != c.all {
			t.Errorf("all(%q, %v) = %v, want %v", c.pred, c.refs, got, c.all)
		}
		if got := StringMatchPart(c.pred, c.refs); got != c.prt {
			t.Errorf("part(%q, %v) = %v, want %v", c.pred, c.refs, got, c.prt)
		}
	}
}

func TestSQuAD(t *testing.T) {
	norm := []struct{ in, want string }{
		{"The Eiffel Tower", "eiffel tower"},
		{"  a   cat, an apple; THE end!  ", "cat apple end"},
		{"theater", "theater"},                 // articles only as whole words
		{"Rock 'n' Roll", "rock n roll"},       // ASCII punctuation removed
		{"naïve café", "naïve café"},           // non-ASCII letters kept
		{"«quoted» — dash", "«quoted» — dash"}, // non-ASCII punctuation kept, as SQuAD's script does
		{"«a» b", "« » b"},                     // an article between non-word characters goes, leaving a space
		{"the_end a1", "theend a1"},            // "_" is ASCII punctuation: removed first
		{"", ""},
	}
	for _, c := range norm {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if ExactMatch("the Eiffel tower.", []string{"Louvre", "Eiffel Tower"}) != 1 || ExactMatch("Eiffel", []string{"Eiffel Tower"}) != 0 {
		t.Error("exact match")
	}
	f1 := []struct {
		pred string
		refs []string
		want float64
	}{
		{"Eiffel Tower in Paris", []string{"the Eiffel Tower"}, 2 * (2.0 / 4) * 1 / (2.0/4 + 1)},
		{"tower tower", []string{"tower"}, 2 * 0.5 * 1 / 1.5},
		{"x", []string{"y", "x"}, 1},
		{"", []string{""}, 1},
		{"a", []string{"cat"}, 0}, // "a" normalises to nothing
	}
	for _, c := range f1 {
		if got := F1(c.pred, c.refs); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("F1(%q, %v) = %v, want %v", c.pred, c.refs, got, c.want)
		}
	}
}

func FuzzScores(f *testing.F) {
	f.Add("The answer is 42.", "42")
	f.Fuzz(func(t *testing.T, pred, ref string) {
		refs := []string{ref}
		for _, v := range []float64{StringMatchAll(pred, refs), StringMatchPart(pred, refs)} {
			if v != 0 && v != 1 {
				t.Fatalf("RULER score %v", v)
			}
		}
		if f := F1(pred, refs); !(f >= 0 && f <= 1) {
			t.Fatalf("F1 %v", f)
		}
		if ExactMatch(pred, refs) == 1 && F1(pred, refs) != 1 {
			t.Fatalf("exact match without F1 1: %q %q", pred, ref)
		}
		if n := Normalize(Normalize(pred)); n != Normalize(pred) {
			t.Fatalf("Normalize not idempotent on %q", pred)
		}
	})
}
