package stats

import (
	"math"
	"testing"
)

func TestPairedDifference(t *testing.T) {
	// Cavo et al. (2012), the worked example of Fagerland, Lydersen and
	// Laake's Statistical Analysis of Contingency Tables (chapter 8):
	// -0.0621 (95% CI -0.1186 to -0.0046).
	iv := PairedDifference(59, 6, 16, 80, 0.95)
	for _, c := range []struct{ got, want float64 }{{iv.Estimate, -0.0621}, {iv.Low, -0.1186}, {iv.High, -0.0046}} {
		if math.Abs(c.got-c.want) > 5e-5 {
			t.Errorf("Cavo: got %.4f (%.4f, %.4f), want -0.0621 (-0.1186, -0.0046)", iv.Estimate, iv.Low, iv.High)
			break
		}
	}
	if len(iv.Warnings) != 0 {
		t.Errorf("warnings %v", iv.Warnings)
	}
	// Swapping A and B mirrors the interval.
	sw := PairedDifference(59, 16, 6, 80, 0.95)
	if math.Abs(sw.Estimate+iv.Estimate) > 1e-12 || math.Abs(sw.Low+iv.High) > 1e-12 || math.Abs(sw.High+iv.Low) > 1e-12 {
		t.Errorf("swap: %+v vs %+v", sw, iv)
	}
	// All pairs agree: a zero difference with an interval that does not
	// collapse, and shrinks as pairs grow.
	prev := 2.0
	for _, n := range []int{3, 10, 100} {
		iv := PairedDifference(n, 0, 0, 0, 0.95)
		if iv.Estimate != 0 || iv.Low >= 0 || iv.High <= 0 || iv.High-iv.Low >= prev {
			t.Errorf("%d agreeing pairs: %+v", n, iv)
		}
		prev = iv.High - iv.Low
	}
	// One pair of three lost: the estimate and a bound inside [-1, 1].
	iv = PairedDifference(2, 0, 1, 0, 0.95)
	if math.Abs(iv.Estimate+1.0/3) > 1e-12 || iv.Low < -1 || iv.High > 1 || iv.Low > iv.Estimate || iv.High < iv.Estimate {
		t.Errorf("2/0/1/0: %+v", iv)
	}
	if iv := PairedDifference(0, 0, 0, 0, 0.95); !math.IsNaN(iv.Estimate) || iv.Low != -1 || iv.High != 1 || len(iv.Warnings) == 0 {
		t.Errorf("no pairs: %+v", iv)
	}
	if iv := PairedDifference(-1, 0, 0, 0, 0.95); !math.IsNaN(iv.Low) || len(iv.Warnings) == 0 {
		t.Errorf("negative: %+v", iv)
	}
}
