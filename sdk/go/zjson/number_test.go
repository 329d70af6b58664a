package zjson

import (
	"math"
	"strconv"
	"testing"
)

func TestNumberFastPaths(t *testing.T) {
	for _, s := range []string{"0", "-0", "7", "-12", "123456789012345678", "1234567890123456789", "", "-", "+5", "1e3",
		"0.052", "-0.052", "1.5", "12.", ".5", "-.5", "0.1", "123456789.123456", "0.000000000000001", "1.0000000000000002", "9007199254740993", "1.2.3", "3.14159265358979"} {
		if n, ok := parseIntFast(s); ok {
			want, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n != want {
				t.Errorf("parseIntFast(%q) = %d, strconv %d, %v", s, n, want, err)
			}
		}
		if f, ok := parseFloatFast(s); ok {
			want, err := strconv.ParseFloat(s, 64)
			if err != nil || math.Float64bits(f) != math.Float64bits(want) {
				t.Errorf("parseFloatFast(%q) = %v, strconv %v, %v", s, f, want, err)
			}
		}
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.052, 1, 12.5, 1000000, -3.25, 0.001, 999999999.999, 1e9, 0.0005, 1.0 / 3, 123.456, math.Inf(1), math.NaN(), 4.4e12} {
		checkMilli(t, f)
	}
	for us := int64(-5000); us < 200000; us += 7 {
		checkMilli(t, math.Round(float64(us))/1e3)
		checkMilli(t, float64(us)/1e3)
	}
}

func checkMilli(t *testing.T, f float64) {
	t.Helper()
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	var w Writer
	w.Float(f)
	if want := strconv.AppendFloat(nil, f, 'g', -1, 64); string(w.Bytes()) != string(want) {
		t.Fatalf("Writer.Float(%v) = %s, strconv 'g' %s", f, w.Bytes(), want)
	}
	b, ok := appendMilli(nil, f)
	if !ok {
		return
	}
	if want := strconv.FormatFloat(f, 'f', -1, 64); string(b) != want {
		t.Fatalf("appendMilli(%v) = %s, strconv %s", f, b, want)
	}
	if back, _ := strconv.ParseFloat(string(b), 64); back != f {
		t.Fatalf("appendMilli(%v) = %s reads back as %v", f, b, back)
	}
}

// FuzzNumbers holds the fast paths to strconv's results.
func FuzzNumbers(f *testing.F) {
	f.Add("0.052", 0.052)
	f.Add("-12", 1e6)
	f.Fuzz(func(t *testing.T, s string, x float64) {
		if n, ok := parseIntFast(s); ok {
			if want, err := strconv.ParseInt(s, 10, 64); err != nil || n != want {
				t.Fatalf("parseIntFast(%q) = %d, strconv %d, %v", s, n, want, err)
			}
		}
		if g, ok := parseFloatFast(s); ok {
			if want, err := strconv.ParseFloat(s, 64); err != nil || math.Float64bits(g) != math.Float64bits(want) {
				t.Fatalf("parseFloatFast(%q) = %v, strconv %v, %v", s, g, want, err)
			}
		}
		checkMilli(t, x)
		checkMilli(t, math.Round(x*1000)/1000)
	})
}
