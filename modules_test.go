package main

import (
	"reflect"
	"testing"
)

func TestModuleFile(t *testing.T) {
	tests := []struct {
		file       string
		name       string
		compressed bool
		ok         bool
	}{
		{"001-fuse.ko", "fuse", false, true},
		{"fuse.ko", "fuse", false, true},
		{"012-virtio-pci.ko.xz", "virtio_pci", true, true},
		{"003-virtiofs.ko.zst", "virtiofs", true, true},
		{"004-virtio_ring.ko.gz", "virtio_ring", true, true},
		{"9p.ko", "9p", false, true},      // digits without a dash are the name
		{"001-9p.ko", "9p", false, true},  // the prefix goes, the digits of the name stay
		{"001-.ko", "001_", false, true},  // nothing after the prefix: keep it
		{"fuse.ko.bz2", "", false, false}, // the kernel cannot decompress bzip2
		{"modules.dep", "", false, false},
		{".ko", "", false, false},
		{"README", "", false, false},
	}
	for _, tt := range tests {
		name, compressed, ok := moduleFile(tt.file)
		if name != tt.name || compressed != tt.compressed || ok != tt.ok {
			t.Errorf("moduleFile(%q) = %q, %v, %v, want %q, %v, %v", tt.file, name, compressed, ok, tt.name, tt.compressed, tt.ok)
		}
	}
}

func TestParamsFor(t *testing.T) {
	c := defaultConfig()
	if err := parseCmdline(`fuse.max_user_bgreq=7 virtio-pci.force_legacy=1 fuse.max_user_congthresh=9 virtio_pci.x="a b" rd.x=1 .y=2 z.=3 fuse.flag -- fuse.after=1`, c); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ module, want string }{
		{"fuse", "max_user_bgreq=7 max_user_congthresh=9 flag"},
		{"virtio_pci", `force_legacy=1 x="a b"`},
		{"virtiofs", ""},
	}
	for _, tt := range tests {
		if got := paramsFor(tt.module, c.words); got != tt.want {
			t.Errorf("paramsFor(%q) = %q, want %q", tt.module, got, tt.want)
		}
	}
}

func TestSortStrings(t *testing.T) {
	in := []string{"010-b.ko", "002-a.ko", "001-z.ko", "1-x.ko", "010-a.ko", "B.ko", "a.ko"}
	want := []string{"001-z.ko", "002-a.ko", "010-a.ko", "010-b.ko", "1-x.ko", "B.ko", "a.ko"}
	sortStrings(in)
	if !reflect.DeepEqual(in, want) {
		t.Errorf("sortStrings = %q, want %q", in, want)
	}
}

func TestSameModule(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"virtio_pci", "virtio_pci", true},
		{"virtio-pci", "virtio_pci", true},
		{"virtio_pci", "virtio-pci", true},
		{"virtio_pci", "virtio_pcx", false},
		{"virtioOpci", "virtio_pci", false},
		{"fuse", "fuse2", false},
		{"pO", "p_", false},
	} {
		if got := sameModule(tt.a, tt.b); got != tt.want {
			t.Errorf("sameModule(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
