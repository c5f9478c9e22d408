package reports

import (
	"bytes"
	"fmt"
	"math"

	"go.yaml.in/yaml/v3"
)

// ParseThresholds reads compare thresholds from YAML, starting from
// DefaultThresholds: keys max_score_drop, max_slowdown and alpha; unknown
// keys and out-of-range values are errors naming the file and the key.
//
//	max_score_drop: 0.01
//	max_slowdown: 1.25
//	alpha: 0.01
func ParseThresholds(data []byte, name string) (Thresholds, error) {
	th := DefaultThresholds()
	var raw struct {
		MaxScoreDrop *float64 `yaml:"max_score_drop"`
		MaxSlowdown  *float64 `yaml:"max_slowdown"`
		Alpha        *float64 `yaml:"alpha"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&raw); err != nil && err.Error() != "EOF" {
		return th, fmt.Errorf("%s: %v (accepted keys: max_score_drop, max_slowdown, alpha)", name, err)
	}
	set := func(dst *float64, v *float64, key string, ok func(float64) bool, want string) error {
		if v == nil {
			return nil
		}
		if math.IsNaN(*v) || !ok(*v) {
			return fmt.Errorf("%s: %s = %v: want %s", name, key, *v, want)
		}
		*dst = *v
		return nil
	}
	if err := set(&th.MaxScoreDrop, raw.MaxScoreDrop, "max_score_drop", func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }, "a number >= 0"); err != nil {
		return th, err
	}
	if err := set(&th.MaxSlowdown, raw.MaxSlowdown, "max_slowdown", func(v float64) bool { return v >= 1 && !math.IsInf(v, 0) }, "a ratio >= 1"); err != nil {
		return th, err
	}
	if err := set(&th.Alpha, raw.Alpha, "alpha", func(v float64) bool { return v > 0 && v < 1 }, "a probability in (0, 1)"); err != nil {
		return th, err
	}
	return th, nil
}
