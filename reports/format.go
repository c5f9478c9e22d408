package reports

import (
	"math"
	"strconv"
	"strings"
)

// FormatLength formats a context length in tokens compactly: multiples of
// 1024·1024 as "1M", other multiples of 1024 as "1K", "32K", "128K", and
// anything else as the plain number ("1000").
func FormatLength(n int) string {
	switch {
	case n == 0:
		return "0"
	case n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + "M"
	case n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + "K"
	default:
		return strconv.Itoa(n)
	}
}

// sciBelow and sciFrom bound the magnitudes printed in positional notation;
// anything else is printed as 1.23e9.
const (
	sciBelow = 1e-3
	sciFrom  = 1e6
)

// decimals returns the number of decimals that shows v with three
// significant digits, never dropping integer digits (1234.5 -> "1235").
func decimals(v float64) int {
	return max(0, 2-int(math.Floor(math.Log10(math.Abs(v)))))
}

// useSci reports whether v is printed in scientific notation.
func useSci(v float64) bool {
	a := math.Abs(v)
	return a != 0 && (a < sciBelow || a >= sciFrom)
}

// formatValue formats v with three significant digits (four or five for
// values from 1000 to 999999, whose integer digits are kept).
func formatValue(v float64) string {
	switch {
	case v == 0:
		return "0"
	case useSci(v):
		return formatSci(v, 2)
	default:
		return strconv.FormatFloat(v, 'f', decimals(v), 64)
	}
}

// formatSci formats v as 1.23e9 / 4.5e-4, with prec decimals in the mantissa.
func formatSci(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'e', prec, 64)
	mant, exp, _ := strings.Cut(s, "e")
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	exp = strings.TrimLeft(exp[1:], "0")
	if exp == "" {
		exp = "0"
	}
	return mant + "e" + sign + exp
}

// formatHalfWidth formats the half-width of an interval around mean with
// the decimals of the mean, so that the two line up ("0.982 ±0.004"); when
// that would round a non-zero half-width to zero, it uses one significant
// digit instead ("0.982 ±0.0004"). A half-width below 1e-9 of the mean is
// floating-point noise of identical values and prints as "0".
func formatHalfWidth(hw, mean float64) string {
	switch {
	case hw == 0 || hw <= 1e-9*math.Abs(mean):
		return "0"
	case mean == 0 || useSci(mean) || hw >= sciFrom || hw < 1e-6:
		return formatValue(hw)
	}
	d := decimals(mean)
	if hw >= 0.5*math.Pow10(-d) {
		return strconv.FormatFloat(hw, 'f', d, 64)
	}
	d = max(0, -int(math.Floor(math.Log10(hw))))
	return strconv.FormatFloat(hw, 'f', d, 64)
}

// formatStat formats the mean of a group, with "±half-width" when it has an
// interval.
func formatStat(st Stat) string {
	s := formatValue(st.Mean)
	switch {
	case st.HasInterval && st.Method == "wilson":
		s += " [" + formatValue(st.Low) + ", " + formatValue(st.High) + "]"
	case st.HasInterval:
		s += " ±" + formatHalfWidth(st.HalfWidth(), st.Mean)
	}
	return s
}
