package harness

import (
	"bytes"
	"embed"
	"fmt"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/evalctl/evalctl/backends"
	"github.com/evalctl/evalctl/params"
	"github.com/evalctl/evalctl/tasks"
)

// Suite is a validated, fully resolved suite: every default filled in,
// every parameter checked against its plugin's specs. It is what the
// planner expands and what the manifest stores.
type Suite struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Seed        int64           `json:"seed"`
	Samples     int             `json:"samples"`
	Workers     int             `json:"workers"`    // 0: number of cores
	Timeout     Duration        `json:"timeout"`    // per cell; 0: none
	Lengths     []int           `json:"lengths"`    // default for tasks
	Depths      []float64       `json:"depths"`     // default for tasks
	Backends    []BackendConfig `json:"backends"`   // in suite order
	Tasks       []TaskConfig    `json:"tasks"`      // in suite order
	Source      string          `json:"source"`     // file path or "builtin:NAME"
	Sets        []string        `json:"sets"`       // --set overrides applied
	Given       string          `json:"suite_yaml"` // the suite text as given, before --set
}

// BackendConfig is one labelled configuration of a registered backend.
type BackendConfig struct {
	Label  string     `json:"label"`
	Name   string     `json:"name"`
	Params params.Set `json:"params"`
}

// TaskConfig is one configuration of a registered task with its own axes.
type TaskConfig struct {
	Name    string     `json:"name"`
	Params  params.Set `json:"params"`
	Lengths []int      `json:"lengths"`
	Depths  []float64  `json:"depths"` // [0] for tasks that do not use depth
	Samples int        `json:"samples"`
	// Backends limits the task to the backends of these labels (all when
	// empty): a model task next to the attention suite in one suite.
	Backends []string `json:"backends,omitempty"`
}

// Duration is a time.Duration that reads and writes as "90s", "2m".
type Duration time.Duration

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

// UnmarshalJSON reads a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s, err := strconv.Unquote(string(b))
	if err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// ConfigError is a suite error naming the file, line, field and bad value.
type ConfigError struct {
	File  string
	Line  int
	Field string // dotted path: backends[1].params.topk
	Msg   string
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc = fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

//go:embed suites/*.yaml
var builtinFS embed.FS

// BuiltinSuites returns the names of the built-in suites.
func BuiltinSuites() []string {
	ents, _ := builtinFS.ReadDir("suites")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	sort.Strings(out)
	return out
}

// BuiltinSuite returns the text of a built-in suite.
func BuiltinSuite(name string) ([]byte, bool) {
	b, err := builtinFS.ReadFile(path.Join("suites", name+".yaml"))
	return b, err == nil
}

// Limits on suite values, to catch typos before hours of work.
const (
	MaxLength  = 1 << 24
	MaxSamples = 1 << 20
	MaxWorkers = 1024
)

// ParseSuite parses suite text, applies --set overrides (path=value, path
// segments separated by dots; list items by index or by label/name), and
// resolves and validates everything against the registries. source names
// the file in errors.
func ParseSuite(source string, data []byte, sets []string) (*Suite, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, &ConfigError{File: source, Msg: "not valid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &ConfigError{File: source, Msg: "want one YAML document holding a mapping"}
	}
	root := doc.Content[0]
	for _, s := range sets {
		if err := applySet(root, s); err != nil {
			return nil, &ConfigError{File: source, Field: "--set " + s, Msg: err.Error()}
		}
	}
	p := &parser{file: source}
	st, err := p.suite(root)
	if err != nil {
		return nil, err
	}
	st.Source = source
	st.Sets = append([]string(nil), sets...)
	st.Given = string(data)
	return st, nil
}

type parser struct{ file string }

func (p *parser) errf(n *yaml.Node, field, format string, a ...any) error {
	line := 0
	if n != nil {
		line = n.Line
	}
	return &ConfigError{File: p.file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)}
}

// fields walks a mapping node, rejecting unknown or duplicate keys.
func (p *parser) fields(n *yaml.Node, field string, known []string, each func(key string, v *yaml.Node) error) error {
	n = resolveAlias(n)
	if n.Kind != yaml.MappingNode {
		return p.errf(n, field, "want a mapping with keys %s, got %s", strings.Join(known, ", "), describe(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		sub := joinField(field, k.Value)
		ok := false
		for _, kn := range known {
			if kn == k.Value {
				ok = true
			}
		}
		if !ok {
			return p.errf(k, sub, "unknown field; accepted: %s", strings.Join(known, ", "))
		}
		if seen[k.Value] {
			return p.errf(k, sub, "given twice")
		}
		seen[k.Value] = true
		if err := each(k.Value, v); err != nil {
			return err
		}
	}
	return nil
}

func joinField(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

func (p *parser) suite(root *yaml.Node) (*Suite, error) {
	st := &Suite{Seed: 1, Samples: 1, Timeout: Duration(10 * time.Minute), Depths: []float64{0.5}}
	var backendsNode, tasksNode *yaml.Node
	known := []string{"name", "description", "seed", "samples", "workers", "timeout", "lengths", "depths", "backends", "tasks"}
	err := p.fields(root, "", known, func(k string, v *yaml.Node) error {
		var err error
		switch k {
		case "name":
			st.Name, err = p.str(v, k)
		case "description":
			st.Description, err = p.str(v, k)
		case "seed":
			var s int64
			s, err = p.int(v, k, 0, math.MaxInt64)
			st.Seed = s
		case "samples":
			var s int64
			s, err = p.int(v, k, 1, MaxSamples)
			st.Samples = int(s)
		case "workers":
			var s int64
			s, err = p.int(v, k, 0, MaxWorkers)
			st.Workers = int(s)
		case "timeout":
			st.Timeout, err = p.duration(v, k)
		case "lengths":
			st.Lengths, err = p.lengths(v, k)
		case "depths":
			st.Depths, err = p.depths(v, k)
		case "backends":
			backendsNode = v
		case "tasks":
			tasksNode = v
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if st.Name == "" {
		return nil, p.errf(root, "name", "missing; give the suite a name")
	}
	if backendsNode == nil || len(backendsNode.Content) == 0 {
		return nil, p.errf(root, "backends", "missing; list at least one backend (registered: %s)", strings.Join(backends.Names(), ", "))
	}
	if tasksNode == nil || len(tasksNode.Content) == 0 {
		return nil, p.errf(root, "tasks", "missing; list at least one task (registered: %s)", strings.Join(tasks.Names(), ", "))
	}
	if st.Backends, err = p.backendList(backendsNode); err != nil {
		return nil, err
	}
	if st.Tasks, err = p.taskList(tasksNode, st); err != nil {
		return nil, err
	}
	return st, nil
}

func (p *parser) scalar(v *yaml.Node, field, want string) (string, error) {
	if v.Kind != yaml.ScalarNode {
		return "", p.errf(v, field, "want %s, got %s", want, describe(v))
	}
	return v.Value, nil
}

func (p *parser) str(v *yaml.Node, field string) (string, error) {
	return p.scalar(v, field, "a string")
}

func (p *parser) int(v *yaml.Node, field string, min, max int64) (int64, error) {
	s, err := p.scalar(v, field, "an integer")
	if err != nil {
		return 0, err
	}
	n, err := params.ParseSize(s)
	if err != nil {
		return 0, p.errf(v, field, "bad value %q: want an integer", s)
	}
	if n < min || n > max {
		return 0, p.errf(v, field, "bad value %d: want an integer in [%d, %d]", n, min, max)
	}
	return n, nil
}

func (p *parser) duration(v *yaml.Node, field string) (Duration, error) {
	s, err := p.scalar(v, field, "a duration")
	if err != nil {
		return 0, err
	}
	if s == "0" || s == "none" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, p.errf(v, field, "bad value %q: want a duration like 90s or 10m, or 0 for none", s)
	}
	return Duration(d), nil
}

// lengths accepts a list of sizes ([1K, 2K, 4096]) or a geometric sweep
// {from: 1K, to: 128K, factor: 2}.
func (p *parser) lengths(v *yaml.Node, field string) ([]int, error) {
	var out []int
	switch v.Kind {
	case yaml.SequenceNode:
		for i, e := range v.Content {
			n, err := p.int(resolveAlias(e), fmt.Sprintf("%s[%d]", field, i), 1, MaxLength)
			if err != nil {
				return nil, err
			}
			out = append(out, int(n))
		}
	case yaml.MappingNode:
		var from, to int64
		factor := 2.0
		err := p.fields(v, field, []string{"from", "to", "factor"}, func(k string, e *yaml.Node) error {
			var err error
			switch k {
			case "from":
				from, err = p.int(e, field+".from", 1, MaxLength)
			case "to":
				to, err = p.int(e, field+".to", 1, MaxLength)
			case "factor":
				var s string
				if s, err = p.scalar(e, field+".factor", "a number > 1"); err == nil {
					factor, err = strconv.ParseFloat(s, 64)
					if err != nil || !(factor > 1) || math.IsInf(factor, 0) {
						err = p.errf(e, field+".factor", "bad value %q: want a number > 1", s)
					}
				}
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if from == 0 || to == 0 {
			return nil, p.errf(v, field, "a sweep needs from and to")
		}
		if to < from {
			return nil, p.errf(v, field, "bad sweep: to %d < from %d", to, from)
		}
		for x := float64(from); x <= float64(to)*(1+1e-9); x *= factor {
			out = append(out, int(math.Round(x)))
			if len(out) > 1000 {
				return nil, p.errf(v, field, "sweep has more than 1000 lengths")
			}
		}
	default:
		return nil, p.errf(v, field, "want a list like [1K, 4K] or a sweep {from: 1K, to: 128K, factor: 2}, got %s", describe(v))
	}
	if len(out) == 0 {
		return nil, p.errf(v, field, "empty; give at least one length")
	}
	seen := map[int]bool{}
	for _, n := range out {
		if seen[n] {
			return nil, p.errf(v, field, "length %d listed twice", n)
		}
		seen[n] = true
	}
	return out, nil
}

func (p *parser) depths(v *yaml.Node, field string) ([]float64, error) {
	v = resolveAlias(v)
	if v.Kind == yaml.MappingNode {
		return p.depthGrid(v, field)
	}
	if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
		return nil, p.errf(v, field, "want a non-empty list of depths in [0, 1] or a grid {count, spacing, from, to}, got %s", describe(v))
	}
	var out []float64
	seen := map[float64]bool{}
	for i, e := range v.Content {
		f := fmt.Sprintf("%s[%d]", field, i)
		s, err := p.scalar(resolveAlias(e), f, "a number in [0, 1]")
		if err != nil {
			return nil, err
		}
		d, err := strconv.ParseFloat(s, 64)
		if err != nil || d < 0 || d > 1 || math.IsNaN(d) {
			return nil, p.errf(e, f, "bad value %q: want a number in [0, 1]", s)
		}
		if seen[d] {
			return nil, p.errf(e, f, "depth %v listed twice", d)
		}
		seen[d] = true
		out = append(out, d)
	}
	return out, nil
}

// depthGrid reads {count: N, spacing: linear|sigmoid, from: 0, to: 1}:
// count depths from from to to (both included). linear spaces them evenly;
// sigmoid (the needle-in-a-haystack test's option) maps evenly spaced points
// x in [0, 1] through the logistic 1/(1+e^(-10(x-0.5))), stretched so that
// the ends stay at from and to, which packs depths towards both ends of the
// context. Depths are rounded to 4 decimals.
func (p *parser) depthGrid(v *yaml.Node, field string) ([]float64, error) {
	count, spacing, from, to := int64(0), "linear", 0.0, 1.0
	err := p.fields(v, field, []string{"count", "spacing", "from", "to"}, func(k string, x *yaml.Node) error {
		var err error
		switch k {
		case "count":
			count, err = p.int(x, field+".count", 1, 1000)
		case "spacing":
			spacing, err = p.str(x, field+".spacing")
			if err == nil && spacing != "linear" && spacing != "sigmoid" {
				err = p.errf(x, field+".spacing", "bad value %q: want linear or sigmoid", spacing)
			}
		case "from", "to":
			var s string
			if s, err = p.scalar(resolveAlias(x), field+"."+k, "a number in [0, 1]"); err != nil {
				return err
			}
			d, perr := strconv.ParseFloat(s, 64)
			if perr != nil || d < 0 || d > 1 || math.IsNaN(d) {
				return p.errf(x, field+"."+k, "bad value %q: want a number in [0, 1]", s)
			}
			if k == "from" {
				from = d
			} else {
				to = d
			}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, p.errf(v, field+".count", "missing: give the number of depths")
	}
	if from > to {
		return nil, p.errf(v, field, "from %v is above to %v", from, to)
	}
	return DepthGrid(int(count), spacing, from, to), nil
}

// DepthGrid returns count depths from from to to with linear or sigmoid
// spacing (see the suite format); duplicates after rounding are dropped.
func DepthGrid(count int, spacing string, from, to float64) []float64 {
	var out []float64
	seen := map[float64]bool{}
	lo, hi := 1/(1+math.Exp(5)), 1/(1+math.Exp(-5))
	for i := 0; i < count; i++ {
		x := 0.5
		if count > 1 {
			x = float64(i) / float64(count-1)
		}
		if spacing == "sigmoid" {
			x = (1/(1+math.Exp(-10*(x-0.5))) - lo) / (hi - lo)
		}
		d := math.Round((from+x*(to-from))*1e4) / 1e4
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// rawParams converts a params mapping into plain Go values for
// params.Resolve, keeping the node of each key for error lines.
func (p *parser) rawParams(v *yaml.Node, field string) (map[string]any, map[string]*yaml.Node, error) {
	raw := map[string]any{}
	nodes := map[string]*yaml.Node{}
	if v == nil {
		return raw, nodes, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, nil, p.errf(v, field, "want a mapping of parameter: value, got %s", describe(v))
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, e := v.Content[i], resolveAlias(v.Content[i+1])
		if _, dup := raw[k.Value]; dup {
			return nil, nil, p.errf(k, joinField(field, k.Value), "given twice")
		}
		if e.Kind != yaml.ScalarNode {
			return nil, nil, p.errf(e, joinField(field, k.Value), "want a single value, got %s", describe(e))
		}
		var val any
		switch e.ShortTag() {
		case "!!int":
			n, err := strconv.ParseInt(strings.ReplaceAll(e.Value, "_", ""), 0, 64)
			if err != nil {
				return nil, nil, p.errf(e, joinField(field, k.Value), "bad integer %q", e.Value)
			}
			val = n
		case "!!float":
			f, err := strconv.ParseFloat(e.Value, 64)
			if err != nil {
				return nil, nil, p.errf(e, joinField(field, k.Value), "bad number %q", e.Value)
			}
			val = f
		case "!!bool":
			val = strings.EqualFold(e.Value, "true") || strings.EqualFold(e.Value, "yes") || strings.EqualFold(e.Value, "on")
		default:
			val = e.Value
		}
		raw[k.Value] = val
		nodes[k.Value] = e
	}
	return raw, nodes, nil
}

// resolveParams resolves a params mapping against a plugin's specs, then
// runs the plugin's whole-set check; errors point at the item node.
func (p *parser) resolveParams(specs []params.Spec, check func(params.Set) error, v, item *yaml.Node, field string) (params.Set, error) {
	raw, nodes, err := p.rawParams(v, field)
	if err != nil {
		return nil, err
	}
	set, err := params.Resolve(specs, raw)
	if err != nil {
		var n *yaml.Node = v
		if pe, ok := err.(*params.Error); ok {
			if pn := nodes[pe.Name]; pn != nil {
				n = pn
			}
			return nil, p.errf(n, joinField(field, pe.Name), "%s", strings.TrimPrefix(pe.Error(), fmt.Sprintf("parameter %q: ", pe.Name)))
		}
		return nil, p.errf(n, field, "%v", err)
	}
	if check != nil {
		if err := check(set); err != nil {
			return nil, p.errf(item, field, "%v", err)
		}
	}
	return set, nil
}

func (p *parser) backendList(v *yaml.Node) ([]BackendConfig, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, "backends", "want a list of {name, label, params}, got %s", describe(v))
	}
	var out []BackendConfig
	labels := map[string]int{}
	for i, e := range v.Content {
		field := fmt.Sprintf("backends[%d]", i)
		var name, label string
		var paramsNode *yaml.Node
		e = resolveAlias(e)
		if e.Kind == yaml.ScalarNode { // shorthand: "- dense"
			name = e.Value
		} else {
			err := p.fields(e, field, []string{"name", "label", "params"}, func(k string, x *yaml.Node) error {
				var err error
				switch k {
				case "name":
					name, err = p.str(x, field+".name")
				case "label":
					label, err = p.str(x, field+".label")
				case "params":
					paramsNode = x
				}
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		info, ok := backends.Lookup(name)
		if !ok {
			return nil, p.errf(e, field+".name", "unknown backend %q; registered: %s", name, strings.Join(backends.Names(), ", "))
		}
		if label == "" {
			label = name
		}
		if !validLabel(label) {
			return nil, p.errf(e, field+".label", "bad label %q: use letters, digits, '-', '_' and '.'", label)
		}
		if j, dup := labels[label]; dup {
			return nil, p.errf(e, field+".label", "label %q already used by backends[%d]; give each configuration a distinct label", label, j)
		}
		labels[label] = i
		set, err := p.resolveParams(info.Params, info.Check, paramsNode, e, field+".params")
		if err != nil {
			return nil, err
		}
		out = append(out, BackendConfig{Label: label, Name: name, Params: set})
	}
	return out, nil
}

func validLabel(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (p *parser) taskList(v *yaml.Node, st *Suite) ([]TaskConfig, error) {
	if v.Kind != yaml.SequenceNode {
		return nil, p.errf(v, "tasks", "want a list of {name, params, lengths, depths, samples, backends}, got %s", describe(v))
	}
	var out []TaskConfig
	for i, e := range v.Content {
		field := fmt.Sprintf("tasks[%d]", i)
		tc := TaskConfig{Samples: st.Samples}
		var name string
		var paramsNode *yaml.Node
		e = resolveAlias(e)
		if e.Kind == yaml.ScalarNode {
			name = e.Value
		} else {
			err := p.fields(e, field, []string{"name", "params", "lengths", "depths", "samples", "backends"}, func(k string, x *yaml.Node) error {
				var err error
				switch k {
				case "name":
					name, err = p.str(x, field+".name")
				case "params":
					paramsNode = x
				case "lengths":
					tc.Lengths, err = p.lengths(x, field+".lengths")
				case "depths":
					tc.Depths, err = p.depths(x, field+".depths")
				case "samples":
					var n int64
					n, err = p.int(x, field+".samples", 1, MaxSamples)
					tc.Samples = int(n)
				case "backends":
					x = resolveAlias(x)
					if x.Kind != yaml.SequenceNode || len(x.Content) == 0 {
						return p.errf(x, field+".backends", "want a non-empty list of backend labels, got %s", describe(x))
					}
					for j, l := range x.Content {
						label, err := p.str(l, fmt.Sprintf("%s.backends[%d]", field, j))
						if err != nil {
							return err
						}
						known := false
						for _, b := range st.Backends {
							known = known || b.Label == label
						}
						if !known {
							var labels []string
							for _, b := range st.Backends {
								labels = append(labels, b.Label)
							}
							return p.errf(l, fmt.Sprintf("%s.backends[%d]", field, j), "no backend labelled %q; labels: %s", label, strings.Join(labels, ", "))
						}
						tc.Backends = append(tc.Backends, label)
					}
				}
				return err
			})
			if err != nil {
				return nil, err
			}
		}
		info, ok := tasks.Lookup(name)
		if !ok {
			return nil, p.errf(e, field+".name", "unknown task %q; registered: %s", name, strings.Join(tasks.Names(), ", "))
		}
		tc.Name = name
		set, err := p.resolveParams(info.Params, info.Check, paramsNode, e, field+".params")
		if err != nil {
			return nil, err
		}
		tc.Params = set
		if tc.Lengths == nil {
			tc.Lengths = st.Lengths
		}
		if len(tc.Lengths) == 0 {
			return nil, p.errf(e, field+".lengths", "no lengths: give lengths in the task or at the top of the suite")
		}
		if tc.Depths == nil {
			tc.Depths = st.Depths
		}
		if !info.UsesDepth {
			tc.Depths = []float64{0}
		}
		out = append(out, tc)
	}
	return out, nil
}

// applySet applies one path=value override to the YAML tree.
func applySet(root *yaml.Node, s string) error {
	eq := strings.IndexByte(s, '=')
	if eq <= 0 {
		return fmt.Errorf("want path=value, e.g. seed=7 or backends.sparse.params.topk=32")
	}
	pathStr, valStr := strings.TrimSpace(s[:eq]), s[eq+1:]
	var val yaml.Node
	if err := yaml.Unmarshal([]byte(valStr), &val); err != nil {
		return fmt.Errorf("value %q is not valid YAML: %v", valStr, err)
	}
	var newNode *yaml.Node
	if val.Kind == yaml.DocumentNode && len(val.Content) == 1 {
		newNode = val.Content[0]
	} else {
		newNode = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: valStr}
	}
	segs := strings.Split(pathStr, ".")
	cur := resolveAlias(root)
	for i, seg := range segs {
		last := i == len(segs)-1
		switch cur.Kind {
		case yaml.MappingNode:
			found := -1
			for j := 0; j+1 < len(cur.Content); j += 2 {
				if cur.Content[j].Value == seg {
					found = j + 1
				}
			}
			if found < 0 {
				var child *yaml.Node
				if last {
					child = newNode
				} else {
					child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				}
				cur.Content = append(cur.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: seg}, child)
				cur = child
				continue
			}
			if last {
				cur.Content[found] = newNode
			}
			cur = resolveAlias(cur.Content[found])
		case yaml.SequenceNode:
			idx := -1
			if n, err := strconv.Atoi(seg); err == nil {
				idx = n
			} else {
				for j, e := range cur.Content {
					if itemName(e) == seg {
						if idx >= 0 {
							return fmt.Errorf("%q matches several list items; use an index", seg)
						}
						idx = j
					}
				}
			}
			if idx < 0 || idx >= len(cur.Content) {
				return fmt.Errorf("no list item %q at %s (the list has %d items; use an index or a label)", seg, strings.Join(segs[:i], "."), len(cur.Content))
			}
			if last {
				cur.Content[idx] = newNode
			}
			e := resolveAlias(cur.Content[idx])
			if !last && e.Kind == yaml.ScalarNode { // "- dense" shorthand: expand to a mapping
				m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{
					{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: e.Value}}}
				cur.Content[idx] = m
				e = m
			}
			cur = e
		default:
			return fmt.Errorf("cannot descend into %s at %q", describe(cur), strings.Join(segs[:i+1], "."))
		}
	}
	return nil
}

// itemName is the label (or, failing that, the name) of a backends or tasks
// list item, for --set paths.
func itemName(n *yaml.Node) string {
	n = resolveAlias(n)
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	var name, label string
	for j := 0; j+1 < len(n.Content); j += 2 {
		switch n.Content[j].Value {
		case "label":
			label = n.Content[j+1].Value
		case "name":
			name = n.Content[j+1].Value
		}
	}
	if label != "" {
		return label
	}
	return name
}
