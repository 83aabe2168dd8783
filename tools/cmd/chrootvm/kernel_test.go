package main

import (
	"virtinit/tools/internal/initrd"

	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	// Each list is in ascending order.
	orders := [][]string{
		{"6.1.0-9-amd64", "6.1.0-30-amd64"},
		{"6.9", "6.12"},
		{"6.9.12", "6.12.1"},
		{"6.1.0-56-amd64", "6.12.95+deb12-amd64"},
		{"0-rescue-1234", "5.14.0-427.el9.x86_64", "6.5.6-300.fc39.x86_64"},
		{"6.1", "6.1.0", "6.1.0-1"},
		{"6.1.0-rc1", "6.1.0.1"},
		{"6.01", "6.2"},
		{"abc", "abd", "1"},
	}
	for _, o := range orders {
		for i := range o {
			for j := range o {
				want := sign(i - j)
				if got := compareVersions(o[i], o[j]); got != want {
					t.Errorf("compareVersions(%q, %q) = %d, want %d", o[i], o[j], got, want)
				}
			}
		}
	}
	if got := compareVersions("6.01", "6.1"); got != 0 {
		t.Errorf("compareVersions(%q, %q) = %d, want 0", "6.01", "6.1", got)
	}
	shuffled := []string{"6.12.1", "6.1.0-30", "6.9", "6.1.0-9"}
	sort.Slice(shuffled, func(i, j int) bool { return compareVersions(shuffled[i], shuffled[j]) < 0 })
	if want := []string{"6.1.0-9", "6.1.0-30", "6.9", "6.12.1"}; !equal(shuffled, want) {
		t.Errorf("sorted releases %q, want %q", shuffled, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFindKernel(t *testing.T) {
	tests := []struct {
		name    string
		tree    map[string]string
		image   string // relative to root; "" = no kernel
		modules string
		release string
	}{
		{"Debian: newest of boot/vmlinuz-*, with its modules", map[string]string{
			"boot/vmlinuz-6.1.0-9-amd64":       "f",
			"boot/vmlinuz-6.1.0-30-amd64":      "f",
			"boot/vmlinuz":                     "l:vmlinuz-6.1.0-30-amd64",
			"lib":                              "l:usr/lib",
			"usr/lib/modules/6.1.0-9-amd64/x":  "f",
			"usr/lib/modules/6.1.0-30-amd64/x": "f",
			"usr/lib/modules/6.12.0-1-amd64/x": "f", // modules without a kernel
		}, "boot/vmlinuz-6.1.0-30-amd64", "usr/lib/modules/6.1.0-30-amd64", "6.1.0-30-amd64"},
		{"Fedora: usr/lib/modules/KVER/vmlinuz", map[string]string{
			"usr/lib/modules/6.5.6-300.fc39.x86_64/vmlinuz":  "f",
			"usr/lib/modules/6.12.4-200.fc41.x86_64/vmlinuz": "f",
			"usr/lib/modules/6.9.1-100.fc40.x86_64/vmlinuz":  "f",
			"boot/vmlinuz-0-rescue-abcdef":                   "f",
		}, "usr/lib/modules/6.12.4-200.fc41.x86_64/vmlinuz", "usr/lib/modules/6.12.4-200.fc41.x86_64", "6.12.4-200.fc41.x86_64"},
		{"separate lib/modules, absolute link to the image", map[string]string{
			"boot/vmlinuz-6.1.0-1-amd64":  "l:/boot/real",
			"boot/real":                   "f",
			"lib/modules/6.1.0-1-amd64/x": "f",
		}, "boot/real", "lib/modules/6.1.0-1-amd64", "6.1.0-1-amd64"},
		{"a kernel without modules", map[string]string{
			"boot/vmlinuz-6.6.0": "f",
		}, "boot/vmlinuz-6.6.0", "", "6.6.0"},
		{"no kernel", map[string]string{
			"boot/config-6.1.0":              "f",
			"boot/vmlinuz-":                  "f",
			"usr/lib/modules/6.1.0/kernel/x": "f",
		}, "", "", ""},
	}
	for _, tt := range tests {
		root := t.TempDir()
		tree(t, root, tt.tree)
		k, err := findKernel(root)
		if tt.image == "" {
			if err == nil {
				t.Errorf("%s: findKernel = %+v, want an error", tt.name, k)
			}
			continue
		}
		want := kernel{image: filepath.Join(root, tt.image), release: tt.release}
		if tt.modules != "" {
			want.modules = filepath.Join(root, tt.modules)
		}
		if err != nil || k != want {
			t.Errorf("%s: findKernel = %+v, %v; want %+v", tt.name, k, err, want)
		}
	}
}

func TestModulesOf(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "root")
	tree(t, dir, map[string]string{
		// An unpacked package with stable links, as the cache has it.
		"cache/6.1/boot/vmlinuz-6.1.0-56-amd64":         "f",
		"cache/6.1/lib/modules/6.1.0-56-amd64/x":        "f",
		"cache/6.1/vmlinuz":                             "l:boot/vmlinuz-6.1.0-56-amd64",
		"fedora/usr/lib/modules/6.12.4/vmlinuz":         "f",
		"fedora/usr/lib/modules/6.12.4/modules.builtin": "f",
		"elsewhere/vmlinuz-6.6.0":                       "f",
		"root/usr/lib/modules/6.6.0/x":                  "f",
		"elsewhere/vmlinuz-7.0":                         "f",
		"elsewhere/bzImage":                             "f",
	})
	tests := []struct{ image, want string }{
		{"cache/6.1/vmlinuz", "cache/6.1/lib/modules/6.1.0-56-amd64"},
		{"cache/6.1/boot/vmlinuz-6.1.0-56-amd64", "cache/6.1/lib/modules/6.1.0-56-amd64"},
		{"fedora/usr/lib/modules/6.12.4/vmlinuz", "fedora/usr/lib/modules/6.12.4"},
		{"elsewhere/vmlinuz-6.6.0", "root/usr/lib/modules/6.6.0"}, // ROOTFS's tree of that release
		{"elsewhere/vmlinuz-7.0", ""},
		{"elsewhere/bzImage", ""},
	}
	for _, tt := range tests {
		want := ""
		if tt.want != "" {
			want = filepath.Join(dir, tt.want)
		}
		if got := modulesOf(filepath.Join(dir, tt.image), root); got != want {
			t.Errorf("modulesOf(%q) = %q, want %q", tt.image, got, want)
		}
	}
}

func TestChooseMachine(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"loadable/kernel/drivers/virtio/virtio_mmio.ko.xz": "f",
		"loadable/kernel/fs/fuse/virtiofs.ko.xz":           "f",
		"builtin/modules.builtin":                          "f",
		"none/kernel/drivers/virtio/virtio_pci.ko":         "f",
	})
	if err := os.WriteFile(filepath.Join(dir, "builtin/modules.builtin"), []byte("kernel/drivers/virtio/virtio_mmio.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		arch, machine, transport, modules string
		wantMachine, wantTransport        string
		err                               string
	}{
		{"x86_64", "", "", "loadable", "microvm", "mmio", ""},
		{"x86_64", "", "", "builtin", "microvm", "mmio", ""},
		{"x86_64", "", "", "none", "q35", "pci", ""},
		{"x86_64", "", "", "", "q35", "pci", ""}, // nothing known: the safe machine
		{"x86_64", "q35", "", "loadable", "q35", "pci", ""},
		{"x86_64", "", "pci", "loadable", "q35", "pci", ""},
		{"x86_64", "microvm", "", "loadable", "microvm", "mmio", ""},
		{"x86_64", "", "mmio", "loadable", "microvm", "mmio", ""},
		{"x86_64", "microvm", "", "", "microvm", "mmio", ""}, // asked for, and nothing says no
		{"x86_64", "microvm", "", "none", "", "", "no virtio_mmio"},
		{"x86_64", "", "mmio", "none", "", "", "no virtio_mmio"},
		{"x86_64", "q35", "mmio", "loadable", "", "", "--machine q35 cannot have x86_64 virtio-mmio devices (it takes --machine microvm)"},
		{"x86_64", "microvm", "pci", "loadable", "", "", "--machine microvm cannot"},
		{"x86_64", "virt", "", "loadable", "", "", "--machine virt cannot"},
		{"x86_64", "pc", "", "loadable", "pc", "pci", ""},
		{"x86_64", "pc", "mmio", "loadable", "", "", "--machine pc cannot have x86_64 virtio-mmio devices (it takes --machine microvm)"},
		{"aarch64", "", "", "loadable", "virt", "mmio", ""},
		{"aarch64", "", "", "builtin", "virt", "mmio", ""},
		{"aarch64", "", "", "none", "virt", "pci", ""},
		{"aarch64", "", "", "", "virt", "pci", ""},
		{"aarch64", "virt", "pci", "loadable", "virt", "pci", ""},
		{"aarch64", "", "mmio", "", "virt", "mmio", ""},
		{"aarch64", "", "mmio", "none", "", "", "no virtio_mmio"},
		{"aarch64", "q35", "", "loadable", "", "", "--machine q35 cannot have aarch64"},
		{"aarch64", "microvm", "", "loadable", "", "", "--machine microvm cannot have aarch64"},
	}
	for _, tt := range tests {
		var modules *initrd.Tree
		if tt.modules != "" {
			var err error
			if modules, err = initrd.ReadTree(filepath.Join(dir, tt.modules)); err != nil {
				t.Fatal(err)
			}
		}
		m, tr, err := chooseMachine(tt.arch, tt.machine, tt.transport, modules)
		if m != tt.wantMachine || tr != tt.wantTransport || (err != nil) != (tt.err != "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("chooseMachine(%q, %q, %q, %q) = %q, %q, %v; want %q, %q, error %q", tt.arch, tt.machine, tt.transport, tt.modules, m, tr, err, tt.wantMachine, tt.wantTransport, tt.err)
		}
	}
}
