// Package cpuarch is the one table of the architectures virtinit boots:
// for each, its names (qemu's and Go's), the guest's serial console, the
// ELF machine of its programs, the qemu binary and the Debian package
// that has it, the CPU model emulated under TCG and the default qemu
// machine. tools/internal/vm owns it; chrootvm, mkvirtinitrd, the VM
// tests and the benchmark ask it instead of keeping a copy. It also
// answers, in one place, what an ELF file is built for and whether it
// is static.
//
// It imports nothing of the tools module, so any package, the test
// support included, may use it.
package cpuarch

import (
	"debug/elf"
	"fmt"
	"runtime"
)

// Arch is one architecture.
type Arch struct {
	// Name is qemu's name: qemu-system-NAME, vm.Config.Arch.
	Name string
	// GOARCH is Go's: the /init binary's directory under out/.
	GOARCH string
	// Console is the guest's serial console: the 8250 UART of a PC,
	// the PL011 of virt.
	Console string
	// ELF is the machine of the /init binary and the root's programs.
	ELF elf.Machine
	// Qemu is the system emulator's program; QemuPackage the Debian
	// package that installs it.
	Qemu, QemuPackage string
	// TCGCPU is the CPU model emulated under TCG. On x86_64, "max"
	// offers every feature TCG can emulate, so kernels built for
	// x86-64-v2 (RHEL 9) boot too. On aarch64 "max" is the slow one: it
	// has pointer authentication, whose QARMA cipher TCG computes in
	// software at every signed return. Debian's 6.1 reached the program
	// in a median 9.9 s of guest time and 7.3 s of host CPU time with
	// it, 2.2 s and 2.1 s with "max,pauth-impdef=on", and 1.7 s and
	// 1.64 s with cortex-a57 (a72, a53 and neoverse-n1 within noise of
	// it). cortex-a57 is also what osbuild asks for.
	TCGCPU string
	// Machine is the qemu machine when none is asked for (vm's machines
	// table says what each one is).
	Machine string
}

// all are the architectures, the default first.
var all = []Arch{
	{Name: "x86_64", GOARCH: "amd64", Console: "ttyS0", ELF: elf.EM_X86_64,
		Qemu: "qemu-system-x86_64", QemuPackage: "qemu-system-x86", TCGCPU: "max", Machine: "q35"},
	{Name: "aarch64", GOARCH: "arm64", Console: "ttyAMA0", ELF: elf.EM_AARCH64,
		Qemu: "qemu-system-aarch64", QemuPackage: "qemu-system-arm", TCGCPU: "cortex-a57", Machine: "virt"},
}

// All returns every architecture, the default (x86_64) first.
func All() []Arch {
	return append([]Arch(nil), all...)
}

// Default is the architecture when none is named: x86_64.
func Default() Arch { return all[0] }

// Names lists the architectures' qemu names, the default first.
func Names() []string {
	names := make([]string, len(all))
	for i, a := range all {
		names[i] = a.Name
	}
	return names
}

// Lookup finds an architecture by its qemu name ("x86_64", "aarch64")
// or its Go name ("amd64", "arm64").
func Lookup(name string) (Arch, bool) {
	for _, a := range all {
		if name == a.Name || name == a.GOARCH {
			return a, true
		}
	}
	return Arch{}, false
}

// OfELF finds the architecture of an ELF machine.
func OfELF(m elf.Machine) (Arch, bool) {
	for _, a := range all {
		if a.ELF == m {
			return a, true
		}
	}
	return Arch{}, false
}

// Host is the architecture of the machine running this program; ok is
// false on one virtinit does not boot.
func Host() (a Arch, ok bool) {
	return Lookup(runtime.GOARCH)
}

// Program is what an ELF file says of itself.
type Program struct {
	Machine elf.Machine
	Static  bool // no PT_INTERP: it needs no dynamic loader
}

// Arch is the program's architecture, if virtinit boots it.
func (p Program) Arch() (Arch, bool) { return OfELF(p.Machine) }

// ReadProgram reads the ELF header and program headers of the file at
// path. A file that is not ELF (a script) is an error.
func ReadProgram(path string) (Program, error) {
	f, err := elf.Open(path)
	if err != nil {
		return Program{}, err
	}
	defer f.Close()
	p := Program{Machine: f.Machine, Static: true}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			p.Static = false
		}
	}
	return p, nil
}

// CheckStatic makes sure that path is a program for a that needs no
// dynamic loader: what a guest root of nothing else, or an initrd, can
// run.
func CheckStatic(path string, a Arch) error {
	p, err := ReadProgram(path)
	if err != nil {
		return err
	}
	if p.Machine != a.ELF {
		return fmt.Errorf("%s is a program for %v, not %v", path, p.Machine, a.ELF)
	}
	if !p.Static {
		return fmt.Errorf("%s is dynamically linked", path)
	}
	return nil
}
