package initrd

import (
	"bytes"
	"strings"
	"testing"
)

func TestDecompress(t *testing.T) {
	mod := fakeModule("m", "a", "b")
	for _, suffix := range moduleSuffixes {
		packed := compressAs(t, suffix, mod)
		if suffix != ".ko" && bytes.Equal(packed, mod) {
			t.Fatalf("compressAs(%s) did not compress", suffix)
		}
		got, err := decompress("x"+suffix, packed)
		if err != nil {
			t.Errorf("decompress(x%s): %v", suffix, err)
			continue
		}
		if !bytes.Equal(got, mod) {
			t.Errorf("decompress(x%s) = %d bytes, want the %d-byte module", suffix, len(got), len(mod))
		}
		// Truncated input is an error, never a short module.
		if suffix != ".ko" {
			if got, err := decompress("x"+suffix, packed[:len(packed)-8]); err == nil {
				t.Errorf("decompress(truncated x%s) = %d bytes, want an error", suffix, len(got))
			}
		}
	}
	if _, err := decompress("x.ko.bz2", mod); err == nil {
		t.Errorf("decompress(x.ko.bz2) succeeded, want an error")
	}
	if _, err := decompress("x.ko.xz", mod); err == nil {
		t.Errorf("decompress(uncompressed data as x.ko.xz) succeeded, want an error")
	}
}

func TestModinfoDepends(t *testing.T) {
	tests := []struct {
		deps []string
		want string
	}{
		{nil, ""},
		{[]string{"fuse"}, "fuse"},
		{[]string{"virtio-ring", "virtio"}, "virtio_ring virtio"},
	}
	for _, tt := range tests {
		got, err := modinfoDepends(fakeModule("m", tt.deps...))
		if err != nil {
			t.Fatalf("modinfoDepends(%q): %v", tt.deps, err)
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("modinfoDepends(%q) = %q, want %q", tt.deps, got, tt.want)
		}
	}
	if _, err := modinfoDepends([]byte("not an elf file")); err == nil {
		t.Errorf("modinfoDepends(garbage) succeeded, want an error")
	}
}
