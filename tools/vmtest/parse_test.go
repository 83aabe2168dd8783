package vmtest

import (
	"slices"
	"strings"
	"testing"
)

// TestCheckErrors shows that the host side of the VM tests can fail: a
// missing, failed, duplicated or unplanned check, or a missing end line,
// is reported.
func TestCheckErrors(t *testing.T) {
	tests := []struct {
		name    string
		console string
		want    []string // substrings, one per expected error, in order
	}{
		{
			name:    "all ok",
			console: "CHECK a ok x\r\nCHECK b ok\r\nCHECK-END 2 0\r\n",
		},
		{
			name:    "kernel output before a line",
			console: "[    1.5] random: crng init done CHECK a ok\nCHECK b ok y z\nCHECK-END 2 0\n",
		},
		{
			name:    "missing",
			console: "CHECK a ok\nCHECK-END 1 0\n",
			want:    []string{"check b: no CHECK line"},
		},
		{
			name:    "failed",
			console: "CHECK a ok\nCHECK b fail lstat /dev/kvm: no such file\nCHECK-END 1 1\n",
			want:    []string{"check b failed: lstat /dev/kvm: no such file"},
		},
		{
			name:    "no end",
			console: "CHECK a ok\nCHECK b ok\n",
			want:    []string{"no CHECK-END line"},
		},
		{
			name:    "twice",
			console: "CHECK a ok\nCHECK a ok\nCHECK b ok\nCHECK-END 3 0\n",
			want:    []string{"check a reported twice"},
		},
		{
			name:    "unplanned",
			console: "CHECK a ok\nCHECK b ok\nCHECK checker-panic fail boom\nCHECK-END 2 1\n",
			want:    []string{"unplanned check checker-panic"},
		},
		{
			name:    "nothing",
			console: "Kernel panic - not syncing: Attempted to kill init!\n",
			want:    []string{"check a: no CHECK line", "check b: no CHECK line", "no CHECK-END line"},
		},
	}
	for _, tt := range tests {
		got := checkErrors([]byte(tt.console), []string{"a", "b"})
		ok := len(got) == len(tt.want)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.Contains(got[i], tt.want[i])
		}
		if !ok {
			t.Errorf("%s: checkErrors(%q) = %q, want %q", tt.name, tt.console, got, tt.want)
		}
	}
}

func TestInitrdLine(t *testing.T) {
	console := "[    2.0] virtio_fs: tag <nosuch> not found\r\n" +
		"initrd: virtiofs tag \"nosuch\" not found: the kernel has \"rootfs\"\r\n" +
		"initrd: powering off (rd.emergency=poweroff)\r\n"
	tests := []struct {
		parts []string
		want  string
		ok    bool
	}{
		{[]string{`tag "nosuch" not found`, `"rootfs"`}, `initrd: virtiofs tag "nosuch" not found: the kernel has "rootfs"`, true},
		{[]string{"powering off"}, "initrd: powering off (rd.emergency=poweroff)", true},
		{[]string{"not found", "powering off"}, "", false}, // on two lines
		{[]string{"<nosuch>"}, "", false},                  // the kernel's line
	}
	for _, tt := range tests {
		got, ok := initrdLine([]byte(console), tt.parts...)
		if got != tt.want || ok != tt.ok {
			t.Errorf("initrdLine(%q) = %q, %v; want %q, %v", tt.parts, got, ok, tt.want, tt.ok)
		}
	}
}

func TestPlan(t *testing.T) {
	var pl plan
	pl.add("a", "pid1")
	pl.add("b", "file", "/x", "two words")
	if got, want := pl.String(), "a\tpid1\nb\tfile\t/x\ttwo words\n"; got != want {
		t.Errorf("plan.String() = %q, want %q", got, want)
	}
	if got, want := pl.ids(), []string{"a", "b"}; !slices.Equal(got, want) {
		t.Errorf("plan.ids() = %q, want %q", got, want)
	}
}

func TestModuleOrderErrors(t *testing.T) {
	deps := map[string][]string{
		"virtio":   {"virtio_ring"},
		"virtiofs": {"fuse", "virtio", "virtio_ring"},
	}
	tests := []struct {
		got, want []string
		errs      []string // substrings, one per error
	}{
		{[]string{"fuse", "virtiofs", "virtio_mmio"}, []string{"virtio_mmio", "fuse", "virtiofs"}, nil},
		{nil, nil, nil},
		{[]string{"virtiofs", "fuse"}, []string{"fuse", "virtiofs"}, []string{"virtiofs comes before fuse"}},
		{[]string{"fuse", "virtiofs", "virtio", "virtio_ring"}, []string{"fuse", "virtiofs", "virtio", "virtio_ring"},
			[]string{"virtiofs comes before virtio,", "virtiofs comes before virtio_ring", "virtio comes before virtio_ring"}},
		{[]string{"fuse", "virtiofs"}, []string{"fuse", "virtiofs", "virtio_pci"}, []string{"want the set"}},
		{[]string{"fuse", "virtiofs", "virtio"}, []string{"fuse", "virtiofs"}, []string{"want the set", "virtiofs comes before virtio,"}},
	}
	for _, tt := range tests {
		got := moduleOrderErrors(tt.got, tt.want, deps)
		ok := len(got) == len(tt.errs)
		for i := 0; ok && i < len(got); i++ {
			ok = strings.Contains(got[i], tt.errs[i])
		}
		if !ok {
			t.Errorf("moduleOrderErrors(%q, %q) = %q, want %q", tt.got, tt.want, got, tt.errs)
		}
	}
}

func TestMkvirtinitrdModules(t *testing.T) {
	out := "mkvirtinitrd: kernel 6.1.0-50-arm64\nmkvirtinitrd: built in: virtio_pci\nmkvirtinitrd: module 001-fuse.ko\nmkvirtinitrd: module 002-virtio_pci_modern_dev.ko\n"
	if got, want := mkvirtinitrdModules([]byte(out)), []string{"fuse", "virtio_pci_modern_dev"}; !slices.Equal(got, want) {
		t.Errorf("mkvirtinitrdModules(%q) = %q, want %q", out, got, want)
	}
}
