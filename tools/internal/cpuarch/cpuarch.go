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
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
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
	Class   elf.Class
	Type    elf.Type
	Entry   uint64
	Static  bool // no PT_INTERP: it needs no dynamic loader
}

// Arch is the program's architecture, if virtinit boots it.
func (p Program) Arch() (Arch, bool) { return OfELF(p.Machine) }

// ReadProgram reads the ELF header and program headers of the file at
// path. A file that is not ELF (a script) is a *ProgramError.
func ReadProgram(path string) (Program, error) {
	f, err := os.Open(path)
	if err != nil {
		return Program{}, err
	}
	defer f.Close()
	e, err := elf.NewFile(f)
	var fe *elf.FormatError
	switch {
	case errors.As(err, &fe) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return Program{}, &ProgramError{Path: path, Why: "is not an ELF executable"}
	case err != nil:
		return Program{}, err
	}
	defer e.Close()
	p := Program{Machine: e.Machine, Class: e.Class, Type: e.Type, Entry: e.Entry, Static: true}
	for _, prog := range e.Progs {
		if prog.Type == elf.PT_INTERP {
			p.Static = false
		}
	}
	return p, nil
}

// ProgramError says why a file is not a static program of an
// architecture virtinit boots.
type ProgramError struct {
	Path string
	Why  string // "is not an ELF executable", "is built for aarch64, not x86_64", ...
}

func (e *ProgramError) Error() string { return e.Path + " " + e.Why }

// CheckStatic makes sure that path is what a guest root of nothing else,
// or an initrd, can run: a static 64-bit ELF executable (static-pie
// included) of the architecture named want, or of any architecture
// virtinit boots when want is "". A dynamically linked one would find no
// loader. Every such check of the tools is this one.
func CheckStatic(path, want string) error {
	p, err := ReadProgram(path)
	if err != nil {
		return err
	}
	wants := strings.Join(Names(), " or ")
	if w, ok := Lookup(want); ok {
		wants = w.Name
	} else if want != "" {
		return fmt.Errorf("%s: no architecture %q (want %s)", path, want, wants)
	}
	a, ok := p.Arch()
	why := ""
	switch {
	case p.Type != elf.ET_EXEC && p.Type != elf.ET_DYN:
		why = "is an ELF " + p.Type.String() + ", not an executable"
	case !ok || p.Class != elf.ELFCLASS64:
		why = "is built for " + p.Machine.String() + " (" + p.Class.String() + "), not " + wants
	case want != "" && a.Name != wants:
		why = "is built for " + a.Name + ", not " + wants
	case !p.Static:
		why = "is a dynamically linked " + a.Name + " program, not a static one"
	case p.Type == elf.ET_DYN && p.Entry == 0:
		why = "is a shared library, not an executable"
	default:
		return nil
	}
	return &ProgramError{Path: path, Why: why}
}
