package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol
}

func hasWarning(ws []Warning, substr string) bool {
	for _, w := range ws {
		if strings.Contains(w.Message, substr) {
			return true
		}
	}
	return false
}

// Reference quantiles of the standard normal distribution as printed in
// standard z tables (to the digits shown).
func TestNormalQuantile(t *testing.T) {
	tests := []struct{ p, want float64 }{
		{0.5, 0},
		{0.975, 1.959963985},
		{0.995, 2.575829304},
		{0.9, 1.281551566},
		{0.95, 1.644853627},
		{0.05, -1.644853627},
		{0.025, -1.959963985},
		{0.001, -3.090232306},
		{0.999, 3.090232306},
		{1e-10, -6.361340902},
	}
	for _, tt := range tests {
		if got := NormalQuantile(tt.p); !near(got, tt.want, 1e-8) {
			t.Errorf("NormalQuantile(%v) = %.10f, want %.10f", tt.p, got, tt.want)
		}
	}
	if got := NormalQuantile(0); !math.IsInf(got, -1) {
		t.Errorf("NormalQuantile(0) = %v, want -Inf", got)
	}
	if got := NormalQuantile(1); !math.IsInf(got, 1) {
		t.Errorf("NormalQuantile(1) = %v, want +Inf", got)
	}
	for _, p := range []float64{-0.1, 1.1, math.NaN()} {
		if got := NormalQuantile(p); !math.IsNaN(got) {
			t.Errorf("NormalQuantile(%v) = %v, want NaN", p, got)
		}
	}
	// Round trip through the CDF across both tails and the central region.
	for p := 1e-6; p < 1; p += 0.0131 {
		x := NormalQuantile(p)
		if back := 0.5 * math.Erfc(-x/math.Sqrt2); !near(back, p, 1e-12*p+1e-15) {
			t.Errorf("Φ(NormalQuantile(%v)) = %v", p, back)
		}
	}
}

// 8 successes in 10 trials at 95%: Wilson's (1927) score interval, worked by
// hand from the formula with z = 1.959964 (centre 0.71674, half-width
// 0.22658), is [0.4902, 0.9433], much narrower on the high side than the
// Wald interval 0.8 ± 0.248 which would exceed 1.
func TestWilson(t *testing.T) {
	iv := Wilson(8, 10, 0.95)
	if iv.Estimate != 0.8 || !near(iv.Low, 0.4902, 5e-5) || !near(iv.High, 0.9433, 5e-5) || iv.N != 10 {
		t.Errorf("Wilson(8, 10, 0.95) = %+v, want 0.8 [0.4902, 0.9433] N=10", iv)
	}
	if len(iv.Warnings) != 0 {
		t.Errorf("Wilson(8, 10) warnings = %v, want none", iv.Warnings)
	}

	// 0/n and n/n keep a non-degenerate interval inside [0,1].
	zero := Wilson(0, 20, 0.95)
	if zero.Low != 0 || zero.High <= 0 || zero.High >= 1 {
		t.Errorf("Wilson(0, 20) = %+v", zero)
	}
	all := Wilson(20, 20, 0.95)
	if all.High != 1 || all.Low <= 0 || all.Low >= 1 {
		t.Errorf("Wilson(20, 20) = %+v", all)
	}
	// Symmetry: s/n mirrors (n-s)/n.
	a, b := Wilson(3, 17, 0.9), Wilson(14, 17, 0.9)
	if !near(a.Low, 1-b.High, 1e-12) || !near(a.High, 1-b.Low, 1e-12) {
		t.Errorf("Wilson not symmetric: %+v vs %+v", a, b)
	}

	few := Wilson(2, 3, 0.95)
	if !hasWarning(few.Warnings, "3 samples: interval is wide") {
		t.Errorf("Wilson(2, 3) warnings = %v, want few-samples warning", few.Warnings)
	}
	empty := Wilson(0, 0, 0.95)
	if !math.IsNaN(empty.Estimate) || empty.Low != 0 || empty.High != 1 || len(empty.Warnings) == 0 {
		t.Errorf("Wilson(0, 0) = %+v, want NaN [0,1] with a warning", empty)
	}
	bad := Wilson(5, 3, 0.95)
	if !math.IsNaN(bad.Low) || len(bad.Warnings) == 0 {
		t.Errorf("Wilson(5, 3) = %+v, want NaN with a warning", bad)
	}
	conf := Wilson(8, 10, 1.5)
	if conf.Confidence != 0.95 || !hasWarning(conf.Warnings, "confidence") || !near(conf.Low, 0.4902, 5e-5) {
		t.Errorf("Wilson(8, 10, 1.5) = %+v, want 0.95 fallback with a warning", conf)
	}
}

// Hand values of the linear (type 7, numpy default) definition.
func TestPercentiles(t *testing.T) {
	tests := []struct {
		values, ps, want []float64
	}{
		// h = 3p/100: p50 -> 1.5, p90 -> 2.7, p99 -> 2.97.
		{[]float64{4, 1, 3, 2}, []float64{0, 50, 90, 99, 100}, []float64{1, 2.5, 3.7, 3.97, 4}},
		// h = 4p/100: p40 -> 1.6 gives 20 + 0.6·15 = 29; p90 -> 3.6 gives 40 + 0.6·10 = 46.
		{[]float64{15, 20, 35, 40, 50}, []float64{40, 50, 90}, []float64{29, 35, 46}},
		{[]float64{7}, []float64{0, 50, 99}, []float64{7, 7, 7}},
		{[]float64{1, math.NaN(), 3}, []float64{50}, []float64{2}},
	}
	for _, tt := range tests {
		in := slices.Clone(tt.values)
		got := Percentiles(in, tt.ps...)
		for i := range got {
			if !near(got[i], tt.want[i], 1e-12) {
				t.Errorf("Percentiles(%v, %v) = %v, want %v", tt.values, tt.ps, got, tt.want)
				break
			}
		}
		if !slices.EqualFunc(in, tt.values, func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }) {
			t.Errorf("Percentiles modified its input: %v", in)
		}
	}
	for _, got := range append(Percentiles(nil, 50), Percentiles([]float64{1, 2}, -1, 101, math.NaN())...) {
		if !math.IsNaN(got) {
			t.Errorf("want NaN for empty input or invalid p, got %v", got)
		}
	}
}

func TestBootstrap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := make([]float64, 40)
	for i := range values {
		values[i] = 100 + 20*r.NormFloat64()
	}
	for name, f := range map[string]func([]float64, float64, int, uint64) Interval{
		"mean": BootstrapMean, "median": BootstrapMedian,
	} {
		a := f(values, 0.95, 1000, 42)
		b := f(values, 0.95, 1000, 42)
		if a.Low != b.Low || a.High != b.High || a.Estimate != b.Estimate {
			t.Errorf("%s: same seed gave %+v and %+v", name, a, b)
		}
		c := f(values, 0.95, 1000, 43)
		if a.Low == c.Low && a.High == c.High {
			t.Errorf("%s: seeds 42 and 43 gave the same interval %+v", name, a)
		}
		if !(a.Low < a.Estimate && a.Estimate < a.High) || a.N != 40 || len(a.Warnings) != 0 {
			t.Errorf("%s: interval %+v should contain the estimate, N=40, no warnings", name, a)
		}
		wide := f(values, 0.99, 1000, 42)
		if wide.Low > a.Low || wide.High < a.High {
			t.Errorf("%s: 99%% interval %+v narrower than 95%% %+v", name, wide, a)
		}
	}
	if got := BootstrapMean(values, 0.95, 0, 7); got.Estimate != mean(values) {
		t.Errorf("BootstrapMean estimate = %v, want sample mean %v", got.Estimate, mean(values))
	}
	if got := BootstrapMedian([]float64{5, 1, 3, 9}, 0.95, 200, 7); got.Estimate != 4 {
		t.Errorf("BootstrapMedian estimate = %v, want 4", got.Estimate)
	}
	if got := BootstrapMean(nil, 0.95, 100, 1); !math.IsNaN(got.Estimate) || !hasWarning(got.Warnings, "0 samples") {
		t.Errorf("BootstrapMean(nil) = %+v", got)
	}
	if got := BootstrapMean([]float64{3}, 0.95, 100, 1); got.Low != 3 || got.High != 3 || len(got.Warnings) == 0 {
		t.Errorf("BootstrapMean([3]) = %+v", got)
	}
	got := BootstrapMean([]float64{1, 2, math.Inf(1), 3}, 0.95, 100, 1)
	if got.N != 3 || !hasWarning(got.Warnings, "non-finite") || !hasWarning(got.Warnings, "3 samples: interval is wide") {
		t.Errorf("BootstrapMean with Inf = %+v", got)
	}
}

func TestMcNemar(t *testing.T) {
	// Exact case: 10 discordant pairs split 1/9. Under H0 b ~ Bin(10, 1/2),
	// P(X <= 1) = 11/1024, two-sided p = 22/1024 ≈ 0.02148.
	ex := McNemar(1, 9)
	if ex.Method != MethodExactBinomial || ex.PValue != 22.0/1024 || ex.Statistic != 1 || ex.N != 10 {
		t.Errorf("McNemar(1, 9) = %+v, want exact p = 0.021484375", ex)
	}
	if rev := McNemar(9, 1); rev.PValue != ex.PValue {
		t.Errorf("McNemar not symmetric: %v vs %v", rev.PValue, ex.PValue)
	}
	// Chi-square case with Edwards' continuity correction, the large-sample
	// form of McNemar's test in Agresti's "Categorical Data Analysis"; worked
	// by hand: b=25, c=40 gives (|25-40|-1)²/65 = 196/65 ≈ 3.015 on 1 df,
	// p = P(|Z| >= 1.7365) ≈ 0.0825.
	cs := McNemar(25, 40)
	if cs.Method != MethodChiSquareCC || !near(cs.Statistic, 196.0/65, 1e-12) || !near(cs.PValue, 0.0825, 5e-4) {
		t.Errorf("McNemar(25, 40) = %+v, want statistic 3.015, p 0.0825", cs)
	}
	// The switch happens at b+c = 25.
	if got := McNemar(12, 12); got.Method != MethodExactBinomial || got.PValue != 1 {
		t.Errorf("McNemar(12, 12) = %+v, want exact p = 1", got)
	}
	if got := McNemar(12, 13); got.Method != MethodChiSquareCC || got.Statistic != 0 || got.PValue != 1 {
		t.Errorf("McNemar(12, 13) = %+v, want chi-square statistic 0, p = 1", got)
	}
	if got := McNemar(0, 0); got.PValue != 1 || len(got.Warnings) == 0 {
		t.Errorf("McNemar(0, 0) = %+v, want p = 1 with a warning", got)
	}
	if got := McNemar(0, 3); got.PValue != 0.25 || !hasWarning(got.Warnings, "cannot reach") {
		t.Errorf("McNemar(0, 3) = %+v, want p = 0.25 with a warning", got)
	}
	if got := McNemar(-1, 3); !math.IsNaN(got.PValue) || len(got.Warnings) == 0 {
		t.Errorf("McNemar(-1, 3) = %+v, want NaN with a warning", got)
	}
}

// bruteSignedRankP is the test oracle: the exact two-sided p-value of W+
// found by trying all 2^n sign assignments of the ranks 1..n.
func bruteSignedRankP(wPlus float64, n int) float64 {
	total := float64(n*(n+1)) / 2
	k := math.Min(wPlus, total-wPlus)
	hits := 0
	for mask := 0; mask < 1<<n; mask++ {
		s := 0
		for r := 1; r <= n; r++ {
			if mask&(1<<(r-1)) != 0 {
				s += r
			}
		}
		if float64(s) <= k {
			hits++
		}
	}
	return math.Min(1, 2*float64(hits)/float64(int(1)<<n))
}

func TestWilcoxonExact(t *testing.T) {
	// Hamilton depression scale before (x) and after (y) a tranquilizer for
	// nine patients, from Hollander & Wolfe, "Nonparametric Statistical
	// Methods" (1973, p. 29 f.). Two differences are negative, with ranks
	// 2 and 3, so W- = 5 and W+ = 40; 10 of the 512 sign patterns have a
	// negative-rank sum <= 5, so the two-sided p is 20/512 = 0.0390625.
	x := []float64{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30}
	y := []float64{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29}
	got := Wilcoxon(x, y)
	if got.Statistic != 40 || got.N != 9 || got.Method != MethodExactRankSum || !near(got.PValue, 20.0/512, 1e-15) {
		t.Errorf("Wilcoxon(depression) = %+v, want W+ = 40, exact p = 0.0390625", got)
	}
	if oracle := bruteSignedRankP(40, 9); got.PValue != oracle {
		t.Errorf("Wilcoxon p = %v, brute force = %v", got.PValue, oracle)
	}
	// Swapping the samples mirrors W+ and keeps p.
	if sw := Wilcoxon(y, x); sw.Statistic != 5 || sw.PValue != got.PValue {
		t.Errorf("Wilcoxon(y, x) = %+v", sw)
	}

	// Random untied data against the brute-force oracle, n = 1..12.
	r := rand.New(rand.NewPCG(3, 4))
	for n := 1; n <= 12; n++ {
		for trial := 0; trial < 5; trial++ {
			a, b := make([]float64, n), make([]float64, n)
			for i := range a {
				b[i] = r.Float64()
				// Distinct magnitudes 1..n with random signs, shuffled.
				a[i] = b[i] + float64(i+1)*float64(1-2*r.IntN(2))
			}
			r.Shuffle(n, func(i, j int) { a[i], a[j] = a[j], a[i]; b[i], b[j] = b[j], b[i] })
			got := Wilcoxon(a, b)
			want := bruteSignedRankP(got.Statistic, n)
			if got.Method != MethodExactRankSum || !near(got.PValue, want, 1e-12) {
				t.Errorf("n=%d: Wilcoxon = %+v, brute force p = %v", n, got, want)
			}
		}
	}
}

func TestWilcoxonNormal(t *testing.T) {
	// Differences 1,-1,2,2,2,3,4,5: |d| ranks 1.5,1.5,4,4,4,6,7,8, so
	// W+ = 1.5+12+21 = 34.5, mean 18, variance 8·9·17/24 - (6+24)/48 =
	// 50.375, and z = (16.5-0.5)/√50.375.
	x := []float64{1, 0, 2, 2, 2, 3, 4, 5, 9}
	y := []float64{0, 1, 0, 0, 0, 0, 0, 0, 9} // last pair: zero difference, dropped
	got := Wilcoxon(x, y)
	want := math.Erfc(16 / math.Sqrt(50.375) / math.Sqrt2)
	if got.Statistic != 34.5 || got.N != 8 || got.Method != MethodNormalTiesCC || !near(got.PValue, want, 1e-12) {
		t.Errorf("Wilcoxon(ties) = %+v, want W+ = 34.5, p = %v", got, want)
	}
	if !hasWarning(got.Warnings, "1 zero differences dropped") || !hasWarning(got.Warnings, "tied differences") {
		t.Errorf("Wilcoxon(ties) warnings = %v", got.Warnings)
	}

	// n = 30 without ties uses the normal approximation; it should be close
	// to the exact tail, which the DP can still compute.
	a, b := make([]float64, 30), make([]float64, 30)
	for i := range a {
		a[i] = float64(i + 1)
		if i%3 == 0 {
			a[i] = -a[i]
		}
	}
	big := Wilcoxon(a, b)
	exact := math.Min(1, 2*signedRankCDF(int(math.Min(big.Statistic, 465-big.Statistic)), 30))
	if big.Method != MethodNormalTiesCC || !near(big.PValue, exact, 0.01) {
		t.Errorf("Wilcoxon(n=30) = %+v, exact p = %v", big, exact)
	}
}

func TestWilcoxonDegenerate(t *testing.T) {
	if got := Wilcoxon([]float64{1, 2}, []float64{1, 2}); got.PValue != 1 || !hasWarning(got.Warnings, "all differences are zero") {
		t.Errorf("all zero: %+v", got)
	}
	if got := Wilcoxon(nil, nil); got.PValue != 1 || !hasWarning(got.Warnings, "0 samples") {
		t.Errorf("empty: %+v", got)
	}
	if got := Wilcoxon([]float64{1}, nil); !math.IsNaN(got.PValue) || len(got.Warnings) == 0 {
		t.Errorf("unpaired: %+v", got)
	}
	got := Wilcoxon([]float64{1, math.NaN(), 3}, []float64{0, 0, math.Inf(1)})
	if got.N != 1 || got.PValue != 1 || !hasWarning(got.Warnings, "2 pairs with non-finite") || !hasWarning(got.Warnings, "cannot reach") {
		t.Errorf("non-finite: %+v", got)
	}
}

func checkTest(t *testing.T, name string, r Test) {
	t.Helper()
	if !math.IsNaN(r.PValue) && (r.PValue < 0 || r.PValue > 1) {
		t.Fatalf("%s: p-value %v outside [0,1]: %+v", name, r.PValue, r)
	}
	if math.IsNaN(r.PValue) && len(r.Warnings) == 0 {
		t.Fatalf("%s: NaN p-value without a warning: %+v", name, r)
	}
}

func FuzzWilcoxon(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{0, 5, 5, 5, 5})
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f, 0, 0, 0, 0, 0, 0, 0xf0, 0x7f})
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) == 0 || len(raw) > 1+16*64 {
			return
		}
		var vals []float64
		if raw[0]%2 == 0 { // small integers: many ties and zeros
			for _, c := range raw[1:] {
				vals = append(vals, float64(int8(c)%8))
			}
		} else { // raw float64 bits: NaN, Inf, extremes
			for i := 1; i+8 <= len(raw); i += 8 {
				var u uint64
				for j := 0; j < 8; j++ {
					u |= uint64(raw[i+j]) << (8 * j)
				}
				vals = append(vals, math.Float64frombits(u))
			}
		}
		h := len(vals) / 2
		checkTest(t, "Wilcoxon", Wilcoxon(vals[:h], vals[h:2*h]))
		checkTest(t, "Wilcoxon unpaired", Wilcoxon(vals, vals[h:]))
		Percentiles(vals, 0, 50, 100)
		BootstrapMedian(vals, 0.9, 20, 1)
		BootstrapMean(vals, 0.9, 20, 1)
	})
}

func FuzzCounts(f *testing.F) {
	f.Add(1, 9, 8, 10, 0.95)
	f.Add(25, 40, 0, 0, 0.5)
	f.Add(-1, math.MaxInt, math.MaxInt, math.MaxInt, math.NaN())
	f.Fuzz(func(t *testing.T, b, c, s, n int, conf float64) {
		checkTest(t, "McNemar", McNemar(b, c))
		iv := Wilson(s, n, conf)
		if !math.IsNaN(iv.Low) && (iv.Low < 0 || iv.High > 1 || iv.Low > iv.High) {
			t.Fatalf("Wilson(%d, %d, %v) = %+v", s, n, conf, iv)
		}
		if n > 0 && s >= 0 && s <= n && !(iv.Low <= iv.Estimate && iv.Estimate <= iv.High) {
			t.Fatalf("Wilson(%d, %d, %v) = %+v does not contain its estimate", s, n, conf, iv)
		}
	})
}
