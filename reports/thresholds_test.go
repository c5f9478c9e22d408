package reports

import (
	"strings"
	"testing"
)

func TestParseThresholds(t *testing.T) {
	th, err := ParseThresholds([]byte("max_slowdown: 1.5\nalpha: 0.01\n"), "t.yaml")
	if err != nil || th.MaxSlowdown != 1.5 || th.Alpha != 0.01 || th.MaxScoreDrop != DefaultThresholds().MaxScoreDrop {
		t.Errorf("%+v %v", th, err)
	}
	if th, err := ParseThresholds(nil, "empty.yaml"); err != nil || th != DefaultThresholds() {
		t.Errorf("empty: %+v %v", th, err)
	}
	for _, c := range []struct{ src, want string }{
		{"max_slowdown: 0.5", "max_slowdown = 0.5"},
		{"alpha: 1", "alpha = 1"},
		{"max_score_drop: -1", "max_score_drop"},
		{"slowdown: 2", "accepted keys"},
		{"alpha: [1]", "t.yaml"},
	} {
		if _, err := ParseThresholds([]byte(c.src), "t.yaml"); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "t.yaml") {
			t.Errorf("%q: %v", c.src, err)
		}
	}
}

func FuzzParseThresholds(f *testing.F) {
	f.Add([]byte("max_score_drop: 0.01\nmax_slowdown: 1.2\nalpha: 0.05\n"))
	f.Add([]byte("alpha: .nan"))
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := ParseThresholds(data, "f.yaml")
		if err != nil {
			return
		}
		if th.MaxScoreDrop < 0 || th.MaxSlowdown < 1 || !(th.Alpha > 0 && th.Alpha < 1) {
			t.Fatalf("accepted out-of-range thresholds %+v", th)
		}
	})
}
