// Package cpuarchtest makes small ELF files for the tests of code that
// reads them (cpuarch.CheckStatic and its users).
package cpuarchtest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// ELF is the ELF header of a 64-bit little-endian file, with
// neither program nor section headers.
func ELF(class elf.Class, typ elf.Type, machine elf.Machine, entry uint64) []byte {
	h := elf.Header64{Type: uint16(typ), Machine: uint16(machine), Version: 1, Entry: entry, Ehsize: 64}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(class)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, h)
	return b.Bytes()
}

// Dynamic is an x86-64 ELF executable asking for a program interpreter.
func Dynamic() []byte {
	h := elf.Header64{Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: 1, Entry: 0x401000,
		Phoff: 64, Ehsize: 64, Phentsize: 56, Phnum: 1}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	p := elf.Prog64{Type: uint32(elf.PT_INTERP), Off: 120, Filesz: 28, Memsz: 28}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, h)
	binary.Write(&b, binary.LittleEndian, p)
	b.WriteString("/lib64/ld-linux-x86-64.so.2\x00")
	return b.Bytes()
}
