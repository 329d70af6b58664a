package zjson

import "unsafe"

// Eight bytes at a time: Go compiled to wasm runs every loop iteration as
// a dozen machine instructions, so scanning JSON strings a word at a time
// (one unaligned 64-bit load, a few arithmetic operations) instead of a byte
// at a time is what keeps parsing and string writing cheap in the guest.
// The tests in swar_test.go compare every helper with its bytewise meaning.

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// load8 reads 8 bytes of b starting at i; the caller guarantees i+8 <= len(b).
func load8(b []byte, i int) uint64 {
	return *(*uint64)(unsafe.Pointer(unsafe.SliceData(b[i : i+8])))
}

// load8s is load8 for a string.
func load8s(s string, i int) uint64 {
	return *(*uint64)(unsafe.Pointer(unsafe.StringData(s[i : i+8])))
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

// plainRun returns the number of leading whole 8-byte words of b[i:] that
// hold no quote, no backslash and no control character, times 8: the bytes
// a JSON string scanner may skip.
func plainRun(b []byte, i int) int {
	j := i
	for j+8 <= len(b) {
		x := load8(b, j)
		if hasByte(x, '"')|hasByte(x, '\\')|hasLess(x, 0x20) != 0 {
			break
		}
		j += 8
	}
	return j - i
}

// asciiRun is plainRun for a string being written, which also stops at
// bytes of 0x80 and above (UTF-8 to validate).
func asciiRun(s string, i int) int {
	j := i
	for j+8 <= len(s) {
		x := load8s(s, j)
		if hasByte(x, '"')|hasByte(x, '\\')|hasLess(x, 0x20)|x&msb != 0 {
			break
		}
		j += 8
	}
	return j - i
}
