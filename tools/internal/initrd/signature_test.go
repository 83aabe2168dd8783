package initrd

import (
	"encoding/binary"
	"strings"
	"testing"
)

func TestStripSignature(t *testing.T) {
	mod := string(fakeModule("m"))
	tests := []struct {
		name     string
		in       string
		want     string
		stripped bool
		err      bool
	}{
		{"unsigned", mod, mod, false, false},
		{"pkcs7", string(sign([]byte(mod), "", "", strings.Repeat("s", 500))), mod, true, false},
		{"signer and key id", string(sign([]byte(mod), "signer", "keyid", "sig")), mod, true, false},
		{"empty signature", string(sign([]byte(mod), "", "", "")), mod, true, false},
		{"marker only", moduleSigString, "", false, true},
		{"signature longer than file", string(sign(nil, "", "", "x"))[1:], "", false, true},
		{"unsigned, marker elsewhere", moduleSigString + mod, moduleSigString + mod, false, false},
	}
	for _, tt := range tests {
		got, stripped, err := stripSignature([]byte(tt.in))
		if tt.err {
			if err == nil {
				t.Errorf("%s: stripSignature = %d bytes, want an error", tt.name, len(got))
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: stripSignature: %v", tt.name, err)
			continue
		}
		if string(got) != tt.want || stripped != tt.stripped {
			t.Errorf("%s: stripSignature = %d bytes, %v; want %d bytes, %v", tt.name, len(got), stripped, len(tt.want), tt.stripped)
		}
	}
}

// TestSignatureLayout pins the trailer's size: struct module_signature (12
// bytes) plus the 28-byte marker, with sig_len in the struct's last four
// bytes, big-endian.
func TestSignatureLayout(t *testing.T) {
	signed := sign([]byte("MOD"), "", "", "SIG")
	if len(signed) != 3+3+12+28 {
		t.Fatalf("signed length %d, want %d", len(signed), 3+3+12+28)
	}
	info := signed[len(signed)-28-12 : len(signed)-28]
	if n := binary.BigEndian.Uint32(info[8:]); n != 3 {
		t.Errorf("sig_len = %d, want 3", n)
	}
	if len(moduleSigString) != 28 {
		t.Errorf("len(moduleSigString) = %d, want 28", len(moduleSigString))
	}
}
