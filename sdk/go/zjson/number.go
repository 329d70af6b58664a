package zjson

import (
	"math"
	"strconv"
)

// Fast paths for the numbers checks exchange most: integers and
// milliseconds with up to three decimals. strconv's general algorithms
// (128-bit arithmetic, which wasm emulates) cost microseconds per number
// in the guest; these give identical values (and, for AppendDecimal,
// identical text) and fall back to strconv for everything else.

// parseIntFast parses an optionally negative run of at most 18 digits.
func parseIntFast(s string) (int64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	if i == len(s) || len(s)-i > 18 {
		return 0, false
	}
	var n int64
	for ; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return 0, false
		}
		n = n*10 + int64(c)
	}
	if neg {
		n = -n
	}
	return n, true
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseFloatFast parses [-]digits[.digits] with at most 15 significant
// digits: the mantissa and the power of ten are both exact in a float64,
// so one division gives the correctly rounded value, as strconv does.
func parseFloatFast(s string) (float64, bool) {
	i, neg := 0, false
	if len(s) > 0 && s[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(s); i++ {
		c := s[i]
		if c == '.' && !dot {
			dot = true
			continue
		}
		if c -= '0'; c > 9 {
			return 0, false
		}
		mant = mant*10 + uint64(c)
		if mant != 0 {
			digits++
		}
		if dot {
			frac++
		}
	}
	if digits > 15 || frac >= len(pow10) || (dot && frac == 0) || len(s) == 0 || s[len(s)-1] == '-' {
		return 0, false
	}
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// appendMilli appends f as a decimal when it is a whole number of
// thousandths below 1e9 in magnitude (a duration in milliseconds rounded
// to the microsecond, say), the shortest text that reads back as f. It
// reports false, appending nothing, for any other value.
func appendMilli(buf []byte, f float64) ([]byte, bool) {
	if !(f > -1e9 && f < 1e9) {
		return buf, false
	}
	k := math.Round(f * 1000)
	if k/1000 != f || (f == 0 && math.Signbit(f)) {
		return buf, false
	}
	n := int64(k)
	if n < 0 {
		buf = append(buf, '-')
		n = -n
	}
	buf = strconv.AppendInt(buf, n/1000, 10)
	if m := n % 1000; m != 0 {
		buf = append(buf, '.', byte('0'+m/100), byte('0'+m/10%10), byte('0'+m%10))
		for buf[len(buf)-1] == '0' {
			buf = buf[:len(buf)-1]
		}
	}
	return buf, true
}

// AppendDecimal appends f the way strconv.AppendFloat(buf, f, 'f', -1, 64)
// does, faster for whole thousandths.
func AppendDecimal(buf []byte, f float64) []byte {
	if b, ok := appendMilli(buf, f); ok {
		return b
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}
