package main

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/cpuarch"
)

// The architectures chrootvm boots are cpuarch's, named as qemu names
// them (qemu-system-x86_64, qemu-system-aarch64).

// parseArch reads the value of --arch: qemu's name or Go's
// (`make build GOARCH=arm64`).
func parseArch(s string) (string, error) {
	a, ok := cpuarch.Lookup(s)
	if !ok {
		return "", cli.Usagef("--arch %q: want %s", s, strings.Join(cpuarch.Names(), " or "))
	}
	return a.Name, nil
}

// archOfMachine names the architecture of an ELF machine, or "".
func archOfMachine(m elf.Machine) string {
	a, _ := cpuarch.OfELF(m)
	return a.Name
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

// x86VersionOff is where a bzImage's header holds the offset, less 0x200,
// of its version string ("6.12.95+deb12-amd64 (debian-kernel@...) #1 ..."),
// which the setup code carries (Documentation/arch/x86/boot.rst,
// kernel_version).
const x86VersionOff = 0x20e

// bzImageRelease returns the kernel release a bzImage names, or "" for
// another image or one that does not tell. It reads the header and the
// string, a few hundred bytes: it runs on every start.
func bzImageRelease(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	head := make([]byte, x86VersionOff+2)
	if _, err := f.ReadAt(head, 0); err != nil || string(head[x86BootMagicOff:x86BootMagicOff+len(x86BootMagic)]) != x86BootMagic {
		return ""
	}
	off := int64(binary.LittleEndian.Uint16(head[x86VersionOff:]))
	if off == 0 {
		return ""
	}
	s := make([]byte, 256)
	n, _ := f.ReadAt(s, off+0x200)
	if i := bytes.IndexAny(s[:n], " \x00"); i > 0 {
		return string(s[:i])
	}
	return ""
}

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
	p, err := cpuarch.ReadProgram(path)
	if err != nil {
		return ""
	}
	return archOfMachine(p.Machine)
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
// --arch, else the kernel's, which makePlan has always read (a file that
// is not a kernel image ends the plan before). It returns warnings for
// the parts that do not fit the choice: the guest would not run them.
func chooseArch(forced, kernelImage, kernelsArch, rootsArch, rootProgram string) (string, []string) {
	a := forced
	if a == "" {
		a = kernelsArch
	}
	var warnings []string
	if kernelsArch != a {
		warnings = append(warnings, fmt.Sprintf("warning: the kernel %s is built for %s, not %s", kernelImage, kernelsArch, a))
	}
	if rootsArch != "" && rootsArch != a {
		warnings = append(warnings, fmt.Sprintf("warning: ROOTFS's %s is built for %s, not %s", rootProgram, rootsArch, a))
	}
	return a, warnings
}
