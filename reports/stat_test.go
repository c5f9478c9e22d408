package reports

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestDescribe(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want Stat
	}{
		{"empty", nil, Stat{}},
		{"one", []float64{0.5}, Stat{N: 1, Mean: 0.5, Median: 0.5, Min: 0.5, Max: 0.5, Low: 0.5, High: 0.5}},
		// mean 3, sd = sqrt(2) = 1.41421, se = 1, t(0.975, 1) = 12.7062.
		{"two", []float64{4, 2}, Stat{N: 2, Mean: 3, Median: 3, StdDev: math.Sqrt2, Min: 2, Max: 4,
			HasInterval: true, Low: 3 - 12.7062, High: 3 + 12.7062}},
		// mean 3, sd = sqrt(10/4) = 1.58114, se = 0.707107, t(0.975, 4) = 2.7764,
		// half-width 1.96323.
		{"five", []float64{5, 1, 4, 2, 3}, Stat{N: 5, Mean: 3, Median: 3, StdDev: 1.5811388, Min: 1, Max: 5,
			HasInterval: true, Low: 3 - 1.9632, High: 3 + 1.9632}},
		// mean 0.95, median (0.94+0.96)/2, sd = sqrt(0.0004+0.0001+0.0001+0.0004)/3) = 0.0182574,
		// se = 0.0091287, t(0.975, 3) = 3.1824, half-width 0.029051.
		{"four", []float64{0.93, 0.96, 0.94, 0.97}, Stat{N: 4, Mean: 0.95, Median: 0.95, StdDev: 0.0182574, Min: 0.93, Max: 0.97,
			HasInterval: true, Low: 0.95 - 0.029051, High: 0.95 + 0.029051}},
		{"constant", []float64{7, 7, 7}, Stat{N: 3, Mean: 7, Median: 7, Min: 7, Max: 7, HasInterval: true, Low: 7, High: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Describe(tt.in)
			const tol = 1e-4
			if got.N != tt.want.N || got.HasInterval != tt.want.HasInterval ||
				!near(got.Mean, tt.want.Mean, tol) || !near(got.Median, tt.want.Median, tol) ||
				!near(got.StdDev, tt.want.StdDev, tol) || !near(got.Min, tt.want.Min, tol) ||
				!near(got.Max, tt.want.Max, tol) || !near(got.Low, tt.want.Low, tol) ||
				!near(got.High, tt.want.High, tol) {
				t.Errorf("Describe(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestHalfWidth(t *testing.T) {
	if hw := Describe([]float64{5, 1, 4, 2, 3}).HalfWidth(); !near(hw, 1.9632, 1e-4) {
		t.Errorf("HalfWidth = %v, want 1.9632", hw)
	}
	if hw := Describe([]float64{1}).HalfWidth(); hw != 0 {
		t.Errorf("HalfWidth of one value = %v, want 0", hw)
	}
}

func TestTQuantile(t *testing.T) {
	// Reference values of Student's t 0.975 quantile.
	for _, tt := range []struct {
		df   int
		want float64
	}{{1, 12.7062}, {2, 4.3027}, {10, 2.2281}, {30, 2.0423}, {31, 2.0395}, {40, 2.0211}, {60, 2.0003}, {120, 1.9799}, {100000, 1.96}} {
		if got := tQuantile975(tt.df); !near(got, tt.want, 1e-3) {
			t.Errorf("tQuantile975(%d) = %.4f, want %.4f", tt.df, got, tt.want)
		}
	}
	if !math.IsNaN(tQuantile975(0)) {
		t.Error("tQuantile975(0) is not NaN")
	}
}
