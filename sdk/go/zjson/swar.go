package zjson

// Eight bytes at a time: Go compiled to wasm runs every loop iteration as
// a dozen machine instructions, so scanning JSON strings a word at a time
// (one 64-bit load, a few arithmetic operations) instead of a byte at a
// time is what keeps parsing and string writing cheap in the guest. The
// loads are assembled from bytes, which the compiler merges into one load
// where the platform allows unaligned access (no unsafe, no alignment
// trap elsewhere); byte order does not matter, since all that is asked is
// whether any byte matches. The tests in swar_test.go compare every helper
// with its bytewise meaning.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load8 reads 8 bytes of s starting at i; the caller guarantees i+8 <= len(s).
func load8[S ~string | ~[]byte](s S, i int) uint64 {
	_ = s[i+7]
	return uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
		uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
}

// hasByte is nonzero when some byte of x equals c.
func hasByte(x uint64, c byte) uint64 {
	v := x ^ (lsb * uint64(c))
	return (v - lsb) &^ v & msb
}

// hasLess is nonzero when some byte of x is below n (n <= 128).
func hasLess(x uint64, n byte) uint64 {
	return (x - lsb*uint64(n)) &^ x & msb
}

// wordRun returns the number of leading whole 8-byte words of s[i:] that
// hold no quote, no backslash and no control character, times 8: the bytes
// a JSON string scanner may skip. With high set to msb it also stops at
// bytes of 0x80 and above (UTF-8 a writer must validate); with 0 it does
// not (a parser leaves UTF-8 as it is).
func wordRun[S ~string | ~[]byte](s S, i int, high uint64) int {
	j := i
	for j+8 <= len(s) {
		x := load8(s, j)
		if hasByte(x, '"')|hasByte(x, '\\')|hasLess(x, 0x20)|x&high != 0 {
			break
		}
		j += 8
	}
	return j - i
}
