package payload

import (
	"bytes"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		send, ct string
		want     []byte
		err      string
	}{
		{"EHLO x\r\n", "", []byte("EHLO x\r\n"), ""},
		{"  spaced  ", "TEXT", []byte("  spaced  "), ""},
		{"01 02:0a\n0B\r\n\tff", "hex", []byte{1, 2, 10, 11, 255}, ""},
		{"0", "hex", nil, "send is not valid hex: odd length hex string"},
		{"0g", "hex", nil, `send is not valid hex: invalid byte 'g'`},
		{"AQID", "base64", []byte{1, 2, 3}, ""},
		{" AQ ID\n", "Base64", []byte{1, 2, 3}, ""},
		{"AQI", "base64", nil, "send is not valid base64: illegal base64 data at input byte 0"},
		{"x", "json", nil, `content_type "json": want text, hex or base64`},
	}
	for _, tt := range tests {
		got, err := Decode(tt.send, tt.ct)
		switch {
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("Decode(%q, %q): error %v, want %q", tt.send, tt.ct, err, tt.err)
		case tt.err == "" && (err != nil || !bytes.Equal(got, tt.want)):
			t.Errorf("Decode(%q, %q) = %v, %v; want %v", tt.send, tt.ct, got, err, tt.want)
		}
	}
}
