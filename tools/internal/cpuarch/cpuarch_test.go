package cpuarch

import (
	"debug/elf"
	"os"
	"runtime"
	"strings"
	"testing"
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

// TestReadProgram reads the test binary: a program of the host's
// architecture, static unless cgo linked it.
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
	if p.Static {
		if err := CheckStatic(exe, host); err != nil {
			t.Errorf("CheckStatic(%s) = %v, want nil", exe, err)
		}
	}
	// A Debian host's coreutils are dynamically linked.
	dynamic := false
	for _, prog := range []string{"/usr/bin/env", "/bin/sh"} {
		if p, err := ReadProgram(prog); err == nil && !p.Static {
			dynamic = true
			if err := CheckStatic(prog, host); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
				t.Errorf("CheckStatic(%s) = %v, want dynamically linked", prog, err)
			}
		}
	}
	if !dynamic {
		t.Error("neither /usr/bin/env nor /bin/sh is a dynamically linked program here: nothing tested the dynamic case")
	}
	other := All()[0]
	if other.Name == host.Name {
		other = All()[1]
	}
	if err := CheckStatic(exe, other); err == nil || !strings.Contains(err.Error(), "not "+other.ELF.String()) {
		t.Errorf("CheckStatic(%s, %s) = %v, want a program for another machine", exe, other.Name, err)
	}
	if _, err := ReadProgram("cpuarch.go"); err == nil {
		t.Error("ReadProgram(cpuarch.go), not ELF, gave no error")
	}
}
