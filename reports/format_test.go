package reports

import (
	"math"
	"testing"
)

func TestFormatLength(t *testing.T) {
	for _, tt := range []struct {
		in   int
		want string
	}{
		{0, "0"}, {1000, "1000"}, {1024, "1K"}, {2048, "2K"}, {32768, "32K"}, {131072, "128K"},
		{1536, "1536"}, {1048576, "1M"}, {2 * 1048576, "2M"}, {1048576 + 1024, "1025K"}, {-1024, "-1K"},
	} {
		if got := FormatLength(tt.in); got != tt.want {
			t.Errorf("FormatLength(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFormatStat(t *testing.T) {
	for _, tt := range []struct {
		mean, hw float64
		interval bool
		want     string
	}{
		{0.98234, 0.0041, true, "0.982 ±0.004"},
		{0.98234, 0.00041, true, "0.982 ±0.0004"},
		{0.98234, 0, false, "0.982"},
		{1, 0, true, "1.00 ±0"},
		{12.345, 1.27, true, "12.3 ±1.3"},
		{1234.6, 12.3, true, "1235 ±12"},
		{123456, 789, true, "123456 ±789"},
		{1.5e9, 2e7, true, "1.50e9 ±2.00e7"},
		{0.00012, 0.00001, true, "1.20e-4 ±1.00e-5"},
		{0, 0.004, true, "0 ±0.00400"},
		{-0.5, 0.01, true, "-0.500 ±0.010"},
	} {
		st := Stat{Mean: tt.mean, HasInterval: tt.interval, Low: tt.mean - tt.hw, High: tt.mean + tt.hw}
		if got := formatStat(st); got != tt.want {
			t.Errorf("formatStat(%v ± %v) = %q, want %q", tt.mean, tt.hw, got, tt.want)
		}
	}
}

func TestLog2Ticks(t *testing.T) {
	labels := func(min, max float64) []string {
		var out []string
		for _, tk := range (Log2Ticks{}).Ticks(min, max) {
			out = append(out, tk.Label)
		}
		return out
	}
	check := func(min, max float64, want ...string) {
		t.Helper()
		got := labels(min, max)
		if len(got) != len(want) {
			t.Errorf("Ticks(%v, %v) labels = %q, want %q", min, max, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("Ticks(%v, %v) labels = %q, want %q", min, max, got, want)
				return
			}
		}
	}
	check(1024, 32768, "1K", "2K", "4K", "8K", "16K", "32K")
	check(1000, 140000, "1K", "2K", "4K", "8K", "16K", "32K", "64K", "128K")
	check(1024, 1048576, "1K", "", "4K", "", "16K", "", "64K", "", "256K", "", "1M")
	check(1000, 1500, "1000", "1500")
	if (Log2Ticks{}).Ticks(0, 10) != nil {
		t.Error("Ticks(0, 10) is not nil")
	}
}

func TestLog2Scale(t *testing.T) {
	n := Log2Scale{}
	for _, tt := range []struct{ x, want float64 }{{1024, 0}, {32768, 1}, {4096, 0.4}, {8192, 0.6}} {
		if got := n.Normalize(1024, 32768, tt.x); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Normalize(1K, 32K, %v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

func TestLog10Ticks(t *testing.T) {
	count := func(min, max float64) (labelled int) {
		for _, tk := range (log10Ticks{}).Ticks(min, max) {
			if tk.Label != "" {
				labelled++
			}
		}
		return labelled
	}
	for _, r := range [][2]float64{{12, 40}, {3, 3000}, {0.5, 0.9}, {1e6, 1e10}, {4.1, 4.3}} {
		if n := count(r[0], r[1]); n < 2 {
			t.Errorf("log10Ticks(%v, %v) has %d labels, want at least 2", r[0], r[1], n)
		}
	}
}

func TestTickLabel(t *testing.T) {
	for _, tt := range []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.3, "0.3"}, {0.002, "0.002"}, {50, "50"}, {1000, "1000"}, {200000, "200000"},
		{1e9, "1e9"}, {2.5e-5, "2.5e-5"}, {1.23456e7, "1.23e7"}, {4.1, "4.1"},
	} {
		if got := tickLabel(tt.in); got != tt.want {
			t.Errorf("tickLabel(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHalfWidthNoise(t *testing.T) {
	if got := formatHalfWidth(1.11e-15, 1); got != "0" {
		t.Errorf("rounding noise printed as %q", got)
	}
	if got := formatHalfWidth(2e-9, 1); got == "0" {
		t.Errorf("a real half-width of 2e-9 printed as 0")
	}
}
