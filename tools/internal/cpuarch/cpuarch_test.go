package cpuarch

import (
	"bytes"
	"debug/elf"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"virtinit/tools/internal/cpuarch/cpuarchtest"
)

func TestLookup(t *testing.T) {
	for _, a := range All() {
		for _, name := range []string{a.Name, a.GOARCH} {
			if got, ok := Lookup(name); !ok || got != a {
				t.Errorf("Lookup(%q) = %+v, %v; want %s", name, got, ok, a.Name)
			}
		}
		if got, ok := OfELF(a.ELF); !ok || got.Name != a.Name {
			t.Errorf("OfELF(%v) = %s, %v; want %s", a.ELF, got.Name, ok, a.Name)
		}
		if a.Qemu != "qemu-system-"+a.Name {
			t.Errorf("%s: qemu binary %s, want qemu-system-%s", a.Name, a.Qemu, a.Name)
		}
	}
	for _, bad := range []string{"", "x86-64", "riscv64", "X86_64"} {
		if a, ok := Lookup(bad); ok {
			t.Errorf("Lookup(%q) = %s, want none", bad, a.Name)
		}
	}
	if _, ok := OfELF(elf.EM_RISCV); ok {
		t.Error("OfELF(EM_RISCV) found an architecture")
	}
	if Default().Name != "x86_64" || Names()[0] != "x86_64" {
		t.Errorf("Default() = %s, Names() = %v; want x86_64 first", Default().Name, Names())
	}
}

func TestCheckStatic(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		want string // the architecture asked for
		why  string // "" = accepted
	}{
		{"x86_64", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_X86_64, 0x401000), "", ""},
		{"x86_64 asked for", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_X86_64, 0x401000), "x86_64", ""},
		{"aarch64 static-pie", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_DYN, elf.EM_AARCH64, 0x1000), "arm64", ""},
		{"script", []byte("#!/bin/sh\necho hi\n"), "", "is not an ELF executable"},
		{"empty", nil, "", "is not an ELF executable"},
		{"random", bytes.Repeat([]byte{0x9d, 0x13}, 500), "", "is not an ELF executable"},
		{"object", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_REL, elf.EM_X86_64, 0), "", "is an ELF ET_REL, not an executable"},
		{"core", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_CORE, elf.EM_X86_64, 0), "", "is an ELF ET_CORE, not an executable"},
		{"riscv", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_RISCV, 0x1000), "", "is built for EM_RISCV (ELFCLASS64), not x86_64 or aarch64"},
		{"32-bit", cpuarchtest.ELF(elf.ELFCLASS32, elf.ET_EXEC, elf.EM_X86_64, 0x1000), "", "is built for EM_X86_64 (ELFCLASS32), not x86_64 or aarch64"},
		{"other arch", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_AARCH64, 0x1000), "x86_64", "is built for aarch64, not x86_64"},
		{"library", cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_DYN, elf.EM_X86_64, 0), "", "is a shared library, not an executable"},
		{"dynamic", cpuarchtest.Dynamic(), "", "is a dynamically linked x86_64 program, not a static one"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
		if err := os.WriteFile(p, tt.data, 0o755); err != nil {
			t.Fatal(err)
		}
		err := CheckStatic(p, tt.want)
		var pe *ProgramError
		switch {
		case tt.why == "" && err != nil:
			t.Errorf("CheckStatic(%s, %q) = %v, want nil", tt.name, tt.want, err)
		case tt.why != "" && (!errors.As(err, &pe) || pe.Path != p || pe.Why != tt.why):
			t.Errorf("CheckStatic(%s, %q) = %v, want %s %s", tt.name, tt.want, err, p, tt.why)
		}
	}
	if err := CheckStatic(filepath.Join(dir, "x86_64"), "riscv64"); err == nil || !strings.Contains(err.Error(), `no architecture "riscv64"`) {
		t.Errorf("CheckStatic(riscv64) = %v, want no architecture", err)
	}
	if err := CheckStatic(dir, ""); err == nil {
		t.Error("CheckStatic(a directory) = nil, want an error")
	}
	if err := CheckStatic(filepath.Join(dir, "missing"), ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("CheckStatic(a missing file) = %v, want ErrNotExist", err)
	}
}

// TestReadProgram reads the test binary: a program of the host's
// architecture.
func TestReadProgram(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p, err := ReadProgram(exe)
	if err != nil {
		t.Fatalf("ReadProgram(%s): %v", exe, err)
	}
	host, ok := Host()
	if !ok {
		t.Skipf("virtinit does not boot GOARCH %s", runtime.GOARCH)
	}
	if a, ok := p.Arch(); !ok || a.Name != host.Name {
		t.Errorf("ReadProgram(%s).Arch() = %s, %v; want %s", exe, a.Name, ok, host.Name)
	}
}
