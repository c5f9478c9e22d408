// Package params describes and validates the named parameters of plugins
// (backends and tasks). A plugin publishes a list of Spec; a suite file gives
// raw values (decoded from YAML); Resolve checks every value against its Spec,
// fills defaults, rejects unknown names, and returns a Set of canonical values
// (int64, float64, string, bool) that plugins read with typed getters.
//
// The canonical Set is also what goes into result records and into cell keys,
// so it must not depend on how the user spelled a value ("64" vs 64).
package params

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Kind is the type of a parameter value.
type Kind string

// Kinds of parameter value.
const (
	Int    Kind = "int"
	Float  Kind = "float"
	String Kind = "string"
	Bool   Kind = "bool"
)

// Spec describes one parameter of a plugin.
type Spec struct {
	Name    string
	Kind    Kind
	Default any    // canonical value: int64, float64, string or bool
	Help    string // one line
	Enum    []string
	// Min and Max bound numeric values when HasMin/HasMax is set.
	Min, Max       float64
	HasMin, HasMax bool
}

// IntSpec, FloatSpec, StringSpec and BoolSpec build Specs tersely.
func IntSpec(name string, def int64, help string) Spec {
	return Spec{Name: name, Kind: Int, Default: def, Help: help}
}

// FloatSpec builds a float parameter.
func FloatSpec(name string, def float64, help string) Spec {
	return Spec{Name: name, Kind: Float, Default: def, Help: help}
}

// StringSpec builds a string parameter; enum, if given, lists the accepted values.
func StringSpec(name, def, help string, enum ...string) Spec {
	return Spec{Name: name, Kind: String, Default: def, Help: help, Enum: enum}
}

// BoolSpec builds a bool parameter.
func BoolSpec(name string, def bool, help string) Spec {
	return Spec{Name: name, Kind: Bool, Default: def, Help: help}
}

// Range returns s with numeric bounds [min, max].
func (s Spec) Range(min, max float64) Spec {
	s.Min, s.Max, s.HasMin, s.HasMax = min, max, true, true
	return s
}

// AtLeast returns s with a lower bound.
func (s Spec) AtLeast(min float64) Spec {
	s.Min, s.HasMin = min, true
	return s
}

// Accepted describes the accepted values of s for error messages and listings.
func (s Spec) Accepted() string {
	switch {
	case len(s.Enum) > 0:
		return "one of " + strings.Join(s.Enum, ", ")
	case s.HasMin && s.HasMax:
		return fmt.Sprintf("%s in [%s, %s]", s.Kind, fmtNum(s.Min), fmtNum(s.Max))
	case s.HasMin:
		return fmt.Sprintf("%s >= %s", s.Kind, fmtNum(s.Min))
	case s.HasMax:
		return fmt.Sprintf("%s <= %s", s.Kind, fmtNum(s.Max))
	}
	return string(s.Kind)
}

func fmtNum(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Set is a resolved parameter set: every Spec'd name with a canonical value.
type Set map[string]any

// Error is a validation error for one parameter.
type Error struct {
	Name   string // parameter name
	Value  any    // the offending value (nil for a missing or unknown name)
	Reason string
}

func (e *Error) Error() string {
	if e.Value == nil {
		return fmt.Sprintf("parameter %q: %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("parameter %q: bad value %v: %s", e.Name, e.Value, e.Reason)
}

// Resolve checks raw against specs: unknown names are errors, values are
// converted to their canonical kind and checked against bounds and enums, and
// missing names get their defaults. Errors are returned in name order.
func Resolve(specs []Spec, raw map[string]any) (Set, error) {
	byName := make(map[string]Spec, len(specs))
	for _, s := range specs {
		byName[s.Name] = s
	}
	var names []string
	for k := range raw {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make(Set, len(specs))
	for _, k := range names {
		s, ok := byName[k]
		if !ok {
			known := make([]string, 0, len(specs))
			for _, s := range specs {
				known = append(known, s.Name)
			}
			sort.Strings(known)
			return nil, &Error{Name: k, Reason: "unknown parameter; accepted: " + strings.Join(known, ", ")}
		}
		v, err := s.Convert(raw[k])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	for _, s := range specs {
		if _, ok := out[s.Name]; !ok {
			out[s.Name] = s.Default
		}
	}
	return out, nil
}

// Convert converts a raw value (as decoded from YAML or JSON, or a string
// from the command line) to the canonical kind of s and validates it.
func (s Spec) Convert(raw any) (any, error) {
	bad := func(reason string) error {
		return &Error{Name: s.Name, Value: raw, Reason: reason + "; accepted: " + s.Accepted()}
	}
	var v any
	switch s.Kind {
	case Int:
		switch x := raw.(type) {
		case int:
			v = int64(x)
		case int64:
			v = x
		case uint64:
			if x > math.MaxInt64 {
				return nil, bad("out of range")
			}
			v = int64(x)
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
				return nil, bad("not an integer")
			}
			v = int64(x)
		case string:
			n, err := ParseSize(x)
			if err != nil {
				return nil, bad("not an integer")
			}
			v = n
		default:
			return nil, bad("not an integer")
		}
	case Float:
		switch x := raw.(type) {
		case int:
			v = float64(x)
		case int64:
			v = float64(x)
		case uint64:
			v = float64(x)
		case float64:
			v = x
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return nil, bad("not a number")
			}
			v = f
		default:
			return nil, bad("not a number")
		}
		if f := v.(float64); math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, bad("not a finite number")
		}
	case String:
		switch x := raw.(type) {
		case string:
			v = x
		case int, int64, float64, bool:
			v = fmt.Sprint(x)
		default:
			return nil, bad("not a string")
		}
	case Bool:
		switch x := raw.(type) {
		case bool:
			v = x
		case string:
			b, err := strconv.ParseBool(x)
			if err != nil {
				return nil, bad("not a boolean")
			}
			v = b
		default:
			return nil, bad("not a boolean")
		}
	default:
		return nil, fmt.Errorf("parameter %q: spec has unknown kind %q", s.Name, s.Kind)
	}
	if len(s.Enum) > 0 {
		str := fmt.Sprint(v)
		found := false
		for _, e := range s.Enum {
			if e == str {
				found = true
			}
		}
		if !found {
			return nil, bad("not an accepted value")
		}
	}
	var f float64
	switch x := v.(type) {
	case int64:
		f = float64(x)
	case float64:
		f = x
	default:
		return v, nil
	}
	if s.HasMin && f < s.Min {
		return nil, bad("too small")
	}
	if s.HasMax && f > s.Max {
		return nil, bad("too large")
	}
	return v, nil
}

// ParseSize parses an integer with an optional binary suffix: "1024", "1K",
// "32k", "1M" (K = 1024, M = 1024*1024). Underscores are allowed as separators.
func ParseSize(s string) (int64, error) {
	t := strings.ReplaceAll(strings.TrimSpace(s), "_", "")
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1<<10, t[:n-1]
		case 'm', 'M':
			mult, t = 1<<20, t[:n-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("bad size %q: want an integer like 4096 or 4K", s)
	}
	if n > math.MaxInt64/mult || n < math.MinInt64/mult {
		return 0, fmt.Errorf("bad size %q: out of range", s)
	}
	return n * mult, nil
}

// FormatSize formats n with a K or M suffix when it is an exact multiple.
func FormatSize(n int64) string {
	switch {
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "M"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// Int returns the int value of name; it panics if the Set was not resolved
// against a Spec of that name and kind (a programming error).
func (p Set) Int(name string) int { return int(p.mustGet(name).(int64)) }

// Float returns the float value of name.
func (p Set) Float(name string) float64 { return p.mustGet(name).(float64) }

// String returns the string value of name.
func (p Set) String(name string) string { return p.mustGet(name).(string) }

// Bool returns the bool value of name.
func (p Set) Bool(name string) bool { return p.mustGet(name).(bool) }

func (p Set) mustGet(name string) any {
	v, ok := p[name]
	if !ok {
		panic(fmt.Sprintf("params: no parameter %q in resolved set", name))
	}
	return v
}

// Normalize converts values decoded from JSON (float64 for every number)
// back to canonical kinds using specs; names without a spec are kept as is.
func Normalize(specs []Spec, p map[string]any) Set {
	out := make(Set, len(p))
	for k, v := range p {
		out[k] = v
		for _, s := range specs {
			if s.Name == k {
				if c, err := s.Convert(v); err == nil {
					out[k] = c
				}
			}
		}
	}
	return out
}
