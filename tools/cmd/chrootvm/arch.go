package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// arch is what differs between the architectures chrootvm boots. They
// are named as qemu names them (qemu-system-x86_64, qemu-system-aarch64).
type arch struct {
	goarch      string      // GOARCH: the /init binary's directory under out/
	console     string      // the serial console: the 8250 UART of a PC, the PL011 of virt
	machine     elf.Machine // of the /init binary and the root's programs
	qemuPackage string      // the Debian package of the emulator
}

var arches = map[string]arch{
	"x86_64":  {goarch: "amd64", console: "ttyS0", machine: elf.EM_X86_64, qemuPackage: "qemu-system-x86"},
	"aarch64": {goarch: "arm64", console: "ttyAMA0", machine: elf.EM_AARCH64, qemuPackage: "qemu-system-arm"},
}

// archAliases are the Go names of the architectures, which --arch takes
// too (`make build GOARCH=arm64`).
var archAliases = map[string]string{"amd64": "x86_64", "arm64": "aarch64"}

// parseArch reads the value of --arch.
func parseArch(s string) (string, error) {
	if a, ok := archAliases[s]; ok {
		s = a
	}
	if _, ok := arches[s]; !ok {
		return "", usagef("--arch %q: want x86_64 or aarch64", s)
	}
	return s, nil
}

// archOfMachine names the architecture of an ELF machine, or "".
func archOfMachine(m elf.Machine) string {
	for name, a := range arches {
		if a.machine == m {
			return name
		}
	}
	return ""
}

// Where a kernel image tells its architecture.
const (
	// x86BootMagic is the boot protocol's header signature, at 0x202 of
	// every bzImage (Documentation/arch/x86/boot.rst).
	x86BootMagic    = "HdrS"
	x86BootMagicOff = 0x202
	// arm64ImageMagic is at 0x38 of an arm64 Image, compressed or not
	// (Documentation/arch/arm64/booting.rst).
	arm64ImageMagic    = "ARM\x64"
	arm64ImageMagicOff = 0x38
	// peMachineAMD64 and peMachineARM64 are the COFF machine types of a
	// PE image (an EFI zboot kernel, whose payload is compressed).
	peMachineAMD64 = 0x8664
	peMachineARM64 = 0xaa64
)

// headerSize is how much of a kernel image kernelArch reads.
const headerSize = 4096

// kernelArch tells the architecture of a kernel image from its header:
// a bzImage (x86_64), an arm64 Image, either of them gzip-compressed (as
// some distributions ship the arm64 one), a PE image (EFI zboot) or an
// ELF vmlinux. It returns "" for anything else.
func kernelArch(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, headerSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	head = head[:n]
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) {
		z, err := gzip.NewReader(bytes.NewReader(head))
		if err != nil {
			return "", nil
		}
		inner := make([]byte, headerSize)
		n, _ := io.ReadFull(z, inner)
		head = inner[:n]
	}
	return headerArch(head), nil
}

// headerArch reads the architecture from the first bytes of an
// uncompressed kernel image.
func headerArch(b []byte) string {
	at := func(off int, magic string) bool {
		return len(b) >= off+len(magic) && string(b[off:off+len(magic)]) == magic
	}
	switch {
	// Both images may carry a PE header for EFI too: their own magic
	// comes first.
	case at(x86BootMagicOff, x86BootMagic):
		return "x86_64"
	case at(arm64ImageMagicOff, arm64ImageMagic):
		return "aarch64"
	case at(0, "\x7fELF"):
		if f, err := elf.NewFile(bytes.NewReader(b)); err == nil {
			return archOfMachine(f.Machine)
		}
	case at(0, "MZ") && len(b) >= 0x40:
		pe := int(binary.LittleEndian.Uint32(b[0x3c:]))
		if pe < 0 || !at(pe, "PE\x00\x00") || len(b) < pe+6 {
			return ""
		}
		switch binary.LittleEndian.Uint16(b[pe+4:]) {
		case peMachineAMD64:
			return "x86_64"
		case peMachineARM64:
			return "aarch64"
		}
	}
	return ""
}

// elfArch tells the architecture of an ELF file, or "" when it is not
// ELF (a script) or of an architecture chrootvm does not boot.
func elfArch(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	return archOfMachine(f.Machine)
}

// rootPrograms are the programs of ROOTFS whose architecture is the
// root's, after PROGRAM itself.
var rootPrograms = []string{"/bin/sh", "/usr/bin/sh", "/sbin/init", "/usr/lib/systemd/systemd", "/bin/busybox"}

// rootfsArch tells the architecture of the programs in ROOTFS: that of
// the first ELF file among program and rootPrograms. It returns "" and
// the program it read when none is ELF.
func rootfsArch(root, program string) (name, from string) {
	for _, p := range append([]string{program}, rootPrograms...) {
		if p == "" {
			continue
		}
		host, err := resolveIn(root, p)
		if err != nil {
			continue
		}
		if a := elfArch(host); a != "" {
			return a, p
		}
	}
	return "", ""
}

// chooseArch picks the architecture to emulate: the one given with
// --arch, else the kernel's, else that of ROOTFS's programs. It returns
// warnings for the parts that do not fit the choice: the guest would not
// run them.
func chooseArch(forced, kernelImage, kernelsArch, rootsArch, rootProgram string) (string, []string, error) {
	a := forced
	if a == "" {
		a = kernelsArch
	}
	if a == "" {
		a = rootsArch
	}
	if a == "" {
		return "", nil, fmt.Errorf("cannot tell the architecture of the kernel %s nor of the programs in ROOTFS; pass --arch %s", kernelImage, strings.Join(archNames(), "|"))
	}
	var warnings []string
	if kernelsArch != "" && kernelsArch != a {
		warnings = append(warnings, fmt.Sprintf("warning: the kernel %s is built for %s, not %s", kernelImage, kernelsArch, a))
	}
	if rootsArch != "" && rootsArch != a {
		warnings = append(warnings, fmt.Sprintf("warning: ROOTFS's %s is built for %s, not %s", rootProgram, rootsArch, a))
	}
	return a, warnings, nil
}

func archNames() []string {
	var names []string
	for name := range arches {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
