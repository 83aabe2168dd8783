package initrd

import (
	"bytes"
	"debug/elf"
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

// TestStripSignatureReal strips the signatures of Debian's signed 6.1
// modules (amd64 and arm64) and checks the result against the ELF file
// itself: a module as the linker writes it ends with its section header
// table, so what stripSignature keeps must end exactly there.
func TestStripSignatureReal(t *testing.T) {
	for _, name := range []string{"6.1", "arm64-6.1"} {
		dir := realTree(t, name)
		tr, err := openTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, mod := range []string{"fuse", "virtiofs"} {
			data, err := tr.read(mod)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got, stripped, err := stripSignature(data)
			if err != nil || !stripped {
				t.Errorf("%s %s: stripSignature = %v, %v; want a signature removed", name, mod, stripped, err)
				continue
			}
			f, err := elf.NewFile(bytes.NewReader(got))
			if err != nil {
				t.Errorf("%s %s: stripped module is no ELF file: %v", name, mod, err)
				continue
			}
			// e_shoff, e_shentsize and e_shnum of the ELF64 header.
			shoff := f.ByteOrder.Uint64(got[0x28:])
			shentsize, shnum := f.ByteOrder.Uint16(got[0x3a:]), f.ByteOrder.Uint16(got[0x3c:])
			if end := shoff + uint64(shentsize)*uint64(shnum); uint64(len(got)) != end {
				t.Errorf("%s %s: stripped to %d bytes, but the ELF file ends at %d (signed: %d bytes)", name, mod, len(got), end, len(data))
			}
		}
	}
}
