package main

import (
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"

	"virtinit/tools/internal/cpuarch"
)

// The stamp program is what the benchmark times: the final program that
// /init execs, and the null init of the floor boots. It is a static x86-64
// ELF of a few hundred bytes, made here byte by byte so the benchmark
// needs no compiler. Every read of the program is a round trip over
// virtiofs whose wait shows in the figure, so it must be tiny, and it
// reads the clock with its first instructions:
//
//	clock_gettime(CLOCK_BOOTTIME, &ts)
//	write(1, "\nBOOTNS=<ts in nanoseconds>\n")
//	if getpid() == 1 {                      // never power off a host
//		ioctl(1, TCSBRK, 1)              // tcdrain: let the serial line drain
//		reboot(LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_POWER_OFF, 0)
//	}
//	exit_group(0)
//
// Run anywhere but as PID 1, it prints the time and exits 0, which is how
// its test runs it.

// stampMarker starts the line the stamp program prints.
const stampMarker = "BOOTNS="

// stampLine finds the stamp program's line in a console output.
var stampLine = regexp.MustCompile(`(?m)^` + stampMarker + `([0-9]+)\r?$`)

// parseStamp returns the CLOCK_BOOTTIME, in nanoseconds, that the stamp
// program printed in out.
func parseStamp(out []byte) (int64, error) {
	m := stampLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %s line in the console output", stampMarker)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// Linux x86-64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl)
// and constants (include/uapi/linux/reboot.h, time.h, asm-generic/ioctls.h).
const (
	sysWrite        = 1
	sysIoctl        = 16
	sysGetpid       = 39
	sysReboot       = 169
	sysClockGettime = 228
	sysExitGroup    = 231

	clockBoottime       = 7
	tcsbrk              = 0x5409
	rebootMagic1        = 0xfee1dead
	rebootMagic2        = 0x28121969
	rebootCmdPowerOff   = 0x4321fedc
	stampLoadAddress    = 0x400000
	elfHeaderSize       = 64
	programHeaderSize   = 56
	stampFrame          = 64 // bytes of stack: the timespec, then the text
	stampTextEnd        = stampFrame - 1
	stampMarkerWithNL   = "\n" + stampMarker
	stampMarkerImmBytes = 8
)

// asm collects machine code with rel8 jumps to labels.
type asm struct {
	code   []byte
	labels map[string]int
	fixups map[int]string // offset of a rel8 byte -> its label
}

func (a *asm) emit(b ...byte) { a.code = append(a.code, b...) }

func (a *asm) imm32(op []byte, v uint32) {
	a.emit(op...)
	a.code = binary.LittleEndian.AppendUint32(a.code, v)
}

func (a *asm) label(name string) { a.labels[name] = len(a.code) }

// jump8 emits a short jump (opcode op) to a label.
func (a *asm) jump8(op byte, label string) {
	a.emit(op, 0)
	a.fixups[len(a.code)-1] = label
}

func (a *asm) link() ([]byte, error) {
	for at, name := range a.fixups {
		to, ok := a.labels[name]
		if !ok {
			return nil, fmt.Errorf("stamp: no label %q", name)
		}
		rel := to - (at + 1)
		if rel < -128 || rel > 127 {
			return nil, fmt.Errorf("stamp: jump to %q out of range", name)
		}
		a.code[at] = byte(int8(rel))
	}
	return a.code, nil
}

// stampCode is the program's machine code.
func stampCode() ([]byte, error) {
	a := &asm{labels: map[string]int{}, fixups: map[int]string{}}
	movEAX := []byte{0xb8}
	movEDI := []byte{0xbf}
	movESI := []byte{0xbe}
	movEDX := []byte{0xba}
	syscall := []byte{0x0f, 0x05}

	a.emit(0x48, 0x83, 0xec, stampFrame) // sub rsp, 64
	a.imm32(movEAX, sysClockGettime)     // mov eax, clock_gettime
	a.imm32(movEDI, clockBoottime)       // mov edi, CLOCK_BOOTTIME
	a.emit(0x48, 0x89, 0xe6)             // mov rsi, rsp
	a.emit(syscall...)

	// rax = tv_sec*1e9 + tv_nsec
	a.emit(0x48, 0x8b, 0x04, 0x24)                   // mov rax, [rsp]
	a.imm32([]byte{0x48, 0x69, 0xc0}, 1_000_000_000) // imul rax, rax, 1e9
	a.emit(0x48, 0x03, 0x44, 0x24, 0x08)             // add rax, [rsp+8]
	a.emit(0x48, 0x8d, 0x7c, 0x24, stampTextEnd)     // lea rdi, [rsp+63]
	a.emit(0xc6, 0x07, '\n')                         // mov byte [rdi], '\n'
	a.imm32([]byte{0xb9}, 10)                        // mov ecx, 10
	a.label("digit")                                 //
	a.emit(0x31, 0xd2)                               // xor edx, edx
	a.emit(0x48, 0xf7, 0xf1)                         // div rcx
	a.emit(0x80, 0xc2, '0')                          // add dl, '0'
	a.emit(0x48, 0xff, 0xcf)                         // dec rdi
	a.emit(0x88, 0x17)                               // mov [rdi], dl
	a.emit(0x48, 0x85, 0xc0)                         // test rax, rax
	a.jump8(0x75, "digit")                           // jnz digit
	a.emit(0x48, 0xb8)                               // mov rax, "\nBOOTNS="
	a.emit([]byte(stampMarkerWithNL)...)             //
	a.emit(0x48, 0x83, 0xef, stampMarkerImmBytes)    // sub rdi, 8
	a.emit(0x48, 0x89, 0x07)                         // mov [rdi], rax
	a.emit(0x48, 0x8d, 0x54, 0x24, stampFrame)       // lea rdx, [rsp+64]
	a.emit(0x48, 0x29, 0xfa)                         // sub rdx, rdi
	a.emit(0x48, 0x89, 0xfe)                         // mov rsi, rdi
	a.imm32(movEDI, 1)                               // mov edi, 1
	a.imm32(movEAX, sysWrite)                        // mov eax, write
	a.emit(syscall...)                               //
	a.imm32(movEAX, sysGetpid)                       // mov eax, getpid
	a.emit(syscall...)                               //
	a.emit(0x83, 0xf8, 0x01)                         // cmp eax, 1
	a.jump8(0x75, "exit")                            // jne exit
	a.imm32(movEAX, sysIoctl)                        // mov eax, ioctl
	a.imm32(movEDI, 1)                               // mov edi, 1
	a.imm32(movESI, tcsbrk)                          // mov esi, TCSBRK
	a.imm32(movEDX, 1)                               // mov edx, 1
	a.emit(syscall...)                               //
	a.imm32(movEAX, sysReboot)                       // mov eax, reboot
	a.imm32(movEDI, rebootMagic1)                    // mov edi, MAGIC1
	a.imm32(movESI, rebootMagic2)                    // mov esi, MAGIC2
	a.imm32(movEDX, rebootCmdPowerOff)               // mov edx, POWER_OFF
	a.emit(0x45, 0x31, 0xd2)                         // xor r10d, r10d
	a.emit(syscall...)                               //
	a.label("exit")                                  // (reboot failed: exit, the kernel panics)
	a.imm32(movEAX, sysExitGroup)                    // mov eax, exit_group
	a.emit(0x31, 0xff)                               // xor edi, edi
	a.emit(syscall...)                               //
	return a.link()
}

// stampELF is the x86-64 program: an ELF header, one PT_LOAD program
// header mapping the file read-execute at stampLoadAddress, and the code.
func stampELF() ([]byte, error) { return stampELFFor("amd64") }

// stampELFFor is the program for a GOARCH: "amd64" (stampCode) or
// "arm64" (stampCodeA64, stampa64.go). Both have the same layout.
func stampELFFor(goarch string) ([]byte, error) {
	var code []byte
	var err error
	align := uint64(0x1000)
	switch goarch {
	case "amd64":
		code, err = stampCode()
	case "arm64":
		code, err = stampCodeA64()
		align = 0x10000 // pages may be 64K on arm64
	default:
		return nil, fmt.Errorf("stamp: no program for %s", goarch)
	}
	if err != nil {
		return nil, err
	}
	a, _ := cpuarch.Lookup(goarch)
	machine := uint16(a.ELF)
	const codeOff = elfHeaderSize + programHeaderSize
	size := uint64(codeOff + len(code))
	le := binary.LittleEndian
	f := []byte{0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little endian */, 1 /* version */, 0 /* System V */}
	f = append(f, make([]byte, 8)...)                // padding of e_ident
	f = le.AppendUint16(f, 2)                        // e_type ET_EXEC
	f = le.AppendUint16(f, machine)                  // e_machine
	f = le.AppendUint32(f, 1)                        // e_version
	f = le.AppendUint64(f, stampLoadAddress+codeOff) // e_entry
	f = le.AppendUint64(f, elfHeaderSize)            // e_phoff
	f = le.AppendUint64(f, 0)                        // e_shoff: no sections
	f = le.AppendUint32(f, 0)                        // e_flags
	f = le.AppendUint16(f, elfHeaderSize)            // e_ehsize
	f = le.AppendUint16(f, programHeaderSize)        // e_phentsize
	f = le.AppendUint16(f, 1)                        // e_phnum
	f = le.AppendUint16(f, 64)                       // e_shentsize
	f = le.AppendUint16(f, 0)                        // e_shnum
	f = le.AppendUint16(f, 0)                        // e_shstrndx
	f = le.AppendUint32(f, 1)                        // p_type PT_LOAD
	f = le.AppendUint32(f, 5)                        // p_flags PF_R|PF_X
	f = le.AppendUint64(f, 0)                        // p_offset
	f = le.AppendUint64(f, stampLoadAddress)         // p_vaddr
	f = le.AppendUint64(f, stampLoadAddress)         // p_paddr
	f = le.AppendUint64(f, size)                     // p_filesz
	f = le.AppendUint64(f, size)                     // p_memsz
	f = le.AppendUint64(f, align)                    // p_align
	return append(f, code...), nil
}

// entryMarker starts the line where the Go floor prints the time of its
// first instruction.
const entryMarker = "ENTRYNS="

var entryLine = regexp.MustCompile(`(?m)^` + entryMarker + `([0-9]+)\r?$`)

// parseEntry returns the CLOCK_BOOTTIME, in nanoseconds, at which the Go
// floor's first instruction ran.
func parseEntry(out []byte) (int64, error) {
	m := entryLine.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %s line in the console output", entryMarker)
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

// goStampSource is the Go floor: a Go program that prints CLOCK_BOOTTIME
// as the first thing its main does, and powers off, like the stamp
// program. Its entry point (goStampEntry, linked with -E) reads the clock
// before the Go runtime starts, so one boot tells both when the kernel
// had exec'd it and when the runtime reached main. Booted as /init,
// padded to our /init's size, it shows what the Go runtime's start costs
// before any main runs.
const goStampSource = `// Command gostamp is the benchmark's Go floor (tools/cmd/bench/stamp.go).
package main

import (
	"syscall"
	"unsafe"
)

// entryTS is set by _rt0_stamp, the entry point, before the runtime starts.
var entryTS syscall.Timespec

func itoa(v int64) string {
	var b [24]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			return string(b[i:])
		}
	}
}

func main() {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, 7 /* CLOCK_BOOTTIME */, uintptr(unsafe.Pointer(&ts)), 0)
	syscall.Write(1, []byte("\n` + stampMarker + `"+itoa(ts.Sec*1e9+ts.Nsec)+"\n` + entryMarker + `"+itoa(entryTS.Sec*1e9+entryTS.Nsec)+"\n"))
	if syscall.Getpid() == 1 {
		syscall.RawSyscall(syscall.SYS_IOCTL, 1, 0x5409 /* TCSBRK: tcdrain */, 1)
		syscall.RawSyscall6(syscall.SYS_REBOOT, syscall.LINUX_REBOOT_MAGIC1, syscall.LINUX_REBOOT_MAGIC2, syscall.LINUX_REBOOT_CMD_POWER_OFF, 0, 0, 0)
	}
}
`

// goStampEntry is the Go floor's entry point, in Go's assembler.
const goStampEntry = `#include "textflag.h"

// _rt0_stamp reads CLOCK_BOOTTIME into main·entryTS, then jumps to the
// runtime's own entry point. The registers it clobbers (AX, DI, SI, CX,
// R11) carry nothing at process entry: _rt0_amd64 reads argc and argv
// from the stack.
TEXT _rt0_stamp(SB),NOSPLIT|NOFRAME,$0
	MOVQ	$228, AX	// SYS_clock_gettime
	MOVQ	$7, DI		// CLOCK_BOOTTIME
	LEAQ	main·entryTS(SB), SI
	SYSCALL
	JMP	_rt0_amd64_linux(SB)
`

// goStampEntryArm64 is the Go floor's entry point on arm64: the same as
// goStampEntry. _rt0_arm64 reads argc and argv from the stack, so the
// registers it clobbers (R0, R1, R8) carry nothing it needs.
const goStampEntryArm64 = `#include "textflag.h"

TEXT _rt0_stamp(SB),NOSPLIT|NOFRAME,$0
	MOVD	$113, R8	// SYS_clock_gettime
	MOVD	$7, R0		// CLOCK_BOOTTIME
	MOVD	$main·entryTS(SB), R1
	SVC
	B	_rt0_arm64_linux(SB)
`
