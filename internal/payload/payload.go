// Package payload decodes a monitor's send field by its content_type. The
// built-in module decodes with it when a check runs and the configuration
// loader when it reads the file, so that a payload the check could not send
// is an error at load, with the file and line, not at every run. It uses no
// fmt: the built-in WebAssembly module imports it.
package payload

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// Decode returns the bytes send stands for: as it is for text (or no
// content type); for hex, pairs of hex digits, any case, with spaces,
// colons, tabs and line breaks between them ignored; for base64, standard
// base64 (with padding) with white space anywhere ignored, as Python's
// decoder (APMonitor's) ignores it.
func Decode(send, contentType string) ([]byte, error) {
	switch ct := strings.ToLower(contentType); ct {
	case "", "text":
		return []byte(send), nil
	case "hex":
		b, err := decodeHex(strings.NewReplacer(" ", "", ":", "", "\n", "", "\r", "", "\t", "").Replace(send))
		if err != nil {
			return nil, errors.New("send is not valid hex: " + err.Error())
		}
		return b, nil
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\r", "", "\t", "").Replace(send))
		if err != nil {
			return nil, errors.New("send is not valid base64: " + err.Error())
		}
		return b, nil
	default:
		return nil, errors.New("content_type " + strconv.Quote(ct) + ": want text, hex or base64")
	}
}

// decodeHex is encoding/hex's DecodeString without the package, which
// brings fmt (and its reflection) into the module.
func decodeHex(s string) ([]byte, error) {
	if len(s)%2 == 1 {
		return nil, errors.New("odd length hex string")
	}
	b := make([]byte, len(s)/2)
	for i := range b {
		hi, ok1 := fromHexChar(s[2*i])
		lo, ok2 := fromHexChar(s[2*i+1])
		if !ok1 || !ok2 {
			bad := s[2*i]
			if ok1 {
				bad = s[2*i+1]
			}
			return nil, errors.New("invalid byte " + strconv.QuoteRune(rune(bad)))
		}
		b[i] = hi<<4 | lo
	}
	return b, nil
}

func fromHexChar(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
