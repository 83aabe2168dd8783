package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"virtinit/tools/internal/cpuarch/cpuarchtest"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/testenv"
)

// fakeELF is the header of a little-endian 64-bit ELF executable for
// machine m.
func fakeELF(m elf.Machine) []byte {
	return cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, m, 0x401000)
}

// fakeImage makes the first bytes of a kernel image: an MZ header whose
// PE header (at 0x40) names peMachine (0 for none), and magic at off.
func fakeImage(peMachine uint16, off int, magic string) []byte {
	b := make([]byte, 0x400)
	if peMachine != 0 {
		copy(b, "MZ")
		binary.LittleEndian.PutUint32(b[0x3c:], 0x40)
		copy(b[0x40:], "PE\x00\x00")
		binary.LittleEndian.PutUint16(b[0x44:], peMachine)
	}
	if magic != "" {
		copy(b[off:], magic)
	}
	return b
}

func peOutside() []byte {
	b := fakeImage(peMachineARM64, 0, "")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x10000)
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	if _, err := z.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestKernelArch(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"bzImage with an EFI stub", fakeImage(peMachineAMD64, x86BootMagicOff, x86BootMagic), "x86_64"},
		{"bzImage without one", fakeImage(0, x86BootMagicOff, x86BootMagic), "x86_64"},
		{"arm64 Image with an EFI stub", fakeImage(peMachineARM64, arm64ImageMagicOff, arm64ImageMagic), "aarch64"},
		{"arm64 Image without one", fakeImage(0, arm64ImageMagicOff, arm64ImageMagic), "aarch64"},
		{"gzipped arm64 Image", gzipped(t, fakeImage(peMachineARM64, arm64ImageMagicOff, arm64ImageMagic)), "aarch64"},
		{"arm64 EFI zboot", fakeImage(peMachineARM64, 4, "zimg"), "aarch64"},
		{"x86_64 PE only", fakeImage(peMachineAMD64, 0, ""), "x86_64"},
		{"ELF vmlinux, x86_64", fakeELF(elf.EM_X86_64), "x86_64"},
		{"ELF vmlinux, aarch64", fakeELF(elf.EM_AARCH64), "aarch64"},
		{"ELF of another architecture", fakeELF(elf.EM_RISCV), ""},
		{"PE of another architecture", fakeImage(0x5064, 0, ""), ""},
		{"PE header out of the file", peOutside(), ""},
		{"magic cut short", fakeImage(0, x86BootMagicOff, x86BootMagic)[:x86BootMagicOff+2], ""},
		{"gzip of something else", gzipped(t, []byte("hello")), ""},
		{"broken gzip", []byte{0x1f, 0x8b, 0, 0}, ""},
		{"empty", nil, ""},
		{"text", []byte("not a kernel"), ""},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		p := filepath.Join(dir, "k"+string(rune('a'+i)))
		if err := os.WriteFile(p, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := kernelArch(p)
		if got != tt.want || err != nil {
			t.Errorf("%s: kernelArch = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	if _, err := kernelArch(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("kernelArch of a missing file: no error")
	}
}

// TestKernelArchReal reads the kernels of the project's cache
// (tools/fetch-deps, with --arch arm64 for the arm64 one).
func TestKernelArchReal(t *testing.T) {
	for _, name := range testenv.KernelNames() {
		t.Run(name, func(t *testing.T) {
			k := testenv.NeedKernel(t, name)
			if got, err := kernelArch(k.Vmlinuz); got != k.Arch || err != nil {
				t.Errorf("kernelArch(%s) = %q, %v; want %q", k.Vmlinuz, got, err, k.Arch)
			}
			// The bzImage names its release, the module tree's name;
			// arm64's Image does not in its header.
			want := ""
			if k.Arch == "x86_64" {
				want = initrd.KernelRelease(k.Modules)
			}
			if got := bzImageRelease(k.Vmlinuz); got != want {
				t.Errorf("bzImageRelease(%s) = %q, want %q", k.Vmlinuz, got, want)
			}
		})
	}
}

func TestBzImageRelease(t *testing.T) {
	image := func(off uint16, version string) []byte {
		b := fakeImage(0, x86BootMagicOff, x86BootMagic)
		b = append(b, make([]byte, 0x4000)...)
		binary.LittleEndian.PutUint16(b[x86VersionOff:], off)
		if version != "" {
			copy(b[int(off)+0x200:], version)
		}
		return b
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"release and build", image(0x3000, "6.12.95+deb12-amd64 (debian-kernel@lists.debian.org) #1 SMP\x00"), "6.12.95+deb12-amd64"},
		{"release alone", image(0x3000, "6.1.0-48-amd64\x00"), "6.1.0-48-amd64"},
		{"no version", image(0, ""), ""},
		{"offset past the end", image(0xff00, ""), ""},
		{"arm64 Image", fakeImage(0, arm64ImageMagicOff, arm64ImageMagic), ""},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		p := filepath.Join(dir, "k"+string(rune('a'+i)))
		if err := os.WriteFile(p, tt.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if got := bzImageRelease(p); got != tt.want {
			t.Errorf("%s: bzImageRelease = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestRootfsArch(t *testing.T) {
	root := t.TempDir()
	tree(t, root, map[string]string{
		"usr/bin/env":  "x",              // written below
		"bin/script":   "x",              // not ELF
		"bin/sh":       "l:/bin/busybox", // absolute link, taken inside root
		"bin/busybox":  "x",              // written below
		"empty/bin/sh": "x",
	})
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(root, name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/bin/env", fakeELF(elf.EM_X86_64))
	write("bin/busybox", fakeELF(elf.EM_AARCH64))
	tests := []struct {
		root, program  string
		wantArch, from string
	}{
		{root, "/usr/bin/env", "x86_64", "/usr/bin/env"},
		{root, "/bin/script", "aarch64", "/bin/sh"},
		{root, "", "aarch64", "/bin/sh"},
		{filepath.Join(root, "empty"), "/bin/sh", "", ""},
	}
	for _, tt := range tests {
		a, from := rootfsArch(tt.root, tt.program)
		if a != tt.wantArch || from != tt.from {
			t.Errorf("rootfsArch(%q, %q) = %q, %q; want %q, %q", tt.root, tt.program, a, from, tt.wantArch, tt.from)
		}
	}
}

func TestChooseArch(t *testing.T) {
	tests := []struct {
		forced, kernel, root string
		want                 string
		warnings             []string // substrings, one per warning
	}{
		{"", "aarch64", "aarch64", "aarch64", nil},
		{"", "x86_64", "", "x86_64", nil},
		{"aarch64", "x86_64", "", "aarch64", []string{"kernel /k is built for x86_64, not aarch64"}},
		{"", "x86_64", "aarch64", "x86_64", []string{"ROOTFS's /bin/sh is built for aarch64, not x86_64"}},
		{"x86_64", "aarch64", "aarch64", "x86_64", []string{"kernel", "ROOTFS"}},
	}
	for _, tt := range tests {
		got, warnings := chooseArch(tt.forced, "/k", tt.kernel, tt.root, "/bin/sh")
		ok := got == tt.want && len(warnings) == len(tt.warnings)
		for i := 0; ok && i < len(warnings); i++ {
			ok = strings.Contains(warnings[i], tt.warnings[i])
		}
		if !ok {
			t.Errorf("chooseArch(%q, kernel %q, root %q) = %q, %q; want %q, %q", tt.forced, tt.kernel, tt.root, got, warnings, tt.want, tt.warnings)
		}
	}
}

func TestParseArch(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x86_64", "x86_64"},
		{"amd64", "x86_64"},
		{"aarch64", "aarch64"},
		{"arm64", "aarch64"},
		{"riscv64", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := parseArch(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("parseArch(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
