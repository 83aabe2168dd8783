package main

import (
	"encoding/binary"
	"fmt"
)

// The aarch64 stamp program: the same steps as the x86-64 one (stamp.go),
// in A64 machine code, made here instruction by instruction. Each
// instruction is one 32-bit little-endian word; the encoders below build
// them from the field layouts of the Arm Architecture Reference Manual
// (ARM DDI 0487), section C6 ("A64 Base Instruction Descriptions"), and
// each one names the instruction it makes.
//
// Linux arm64 takes the system call number in x8 and the arguments in
// x0-x5, and returns in x0 (include/uapi/asm-generic/unistd.h).

// Linux arm64 system call numbers (include/uapi/asm-generic/unistd.h).
const (
	a64SysIoctl        = 29
	a64SysWrite        = 64
	a64SysExitGroup    = 94 // exit is 93; like the x86-64 program, exit the whole group
	a64SysClockGettime = 113
	a64SysReboot       = 142
	a64SysGetpid       = 172
)

// A64 registers: 31 is sp or xzr/wzr depending on the instruction.
const (
	x0, x1, x2, x3, x4, x5, x6, x7, x8 = 0, 1, 2, 3, 4, 5, 6, 7, 8
	a64SP                              = 31
	a64ZR                              = 31
)

// a64 collects A64 instructions with 19-bit branches to labels.
type a64 struct {
	code   []uint32
	labels map[string]int
	fixups map[int]string // index of a CBNZ or B.cond -> its label
}

func (a *a64) op(w uint32)       { a.code = append(a.code, w) }
func (a *a64) label(name string) { a.labels[name] = len(a.code) }

// MOVZ Xd, #imm16, LSL #(16*hw): sf=1 opc=10 100101 hw imm16 Rd.
func (a *a64) movz(rd, imm16, hw uint32) { a.op(0xd2800000 | hw<<21 | imm16<<5 | rd) }

// MOVK Xd, #imm16, LSL #(16*hw): sf=1 opc=11 100101 hw imm16 Rd.
func (a *a64) movk(rd, imm16, hw uint32) { a.op(0xf2800000 | hw<<21 | imm16<<5 | rd) }

// mov64 loads a 64-bit constant with a MOVZ and a MOVK for each further
// non-zero half-word.
func (a *a64) mov64(rd uint32, v uint64) {
	a.movz(rd, uint32(v&0xffff), 0)
	for hw := uint32(1); hw < 4; hw++ {
		if h := uint32(v >> (16 * hw) & 0xffff); h != 0 {
			a.movk(rd, h, hw)
		}
	}
}

// SVC #0: 11010100 000 imm16=0 000 01.
func (a *a64) svc() { a.op(0xd4000001) }

// ADD Xd|SP, Xn|SP, #imm12: sf=1 op=0 S=0 100010 sh=0 imm12 Rn Rd.
func (a *a64) addImm(rd, rn, imm uint32) { a.op(0x91000000 | imm<<10 | rn<<5 | rd) }

// SUB Xd|SP, Xn|SP, #imm12: sf=1 op=1 S=0 100010 sh=0 imm12 Rn Rd.
func (a *a64) subImm(rd, rn, imm uint32) { a.op(0xd1000000 | imm<<10 | rn<<5 | rd) }

// ADD Wd, Wn, #imm12: sf=0 op=0 S=0 100010 sh=0 imm12 Rn Rd.
func (a *a64) addImmW(rd, rn, imm uint32) { a.op(0x11000000 | imm<<10 | rn<<5 | rd) }

// CMP Xn, #imm12 = SUBS XZR, Xn, #imm12: sf=1 op=1 S=1 100010 sh=0 imm12 Rn 11111.
func (a *a64) cmpImm(rn, imm uint32) { a.op(0xf1000000 | imm<<10 | rn<<5 | a64ZR) }

// SUB Xd, Xn, Xm (shifted register, LSL #0): sf=1 op=1 S=0 01011 shift=00 0 Rm imm6=0 Rn Rd.
func (a *a64) sub(rd, rn, rm uint32) { a.op(0xcb000000 | rm<<16 | rn<<5 | rd) }

// MOV Xd, Xm = ORR Xd, XZR, Xm: sf=1 opc=01 01010 shift=00 N=0 Rm imm6=0 Rn=11111 Rd.
func (a *a64) mov(rd, rm uint32) { a.op(0xaa000000 | rm<<16 | a64ZR<<5 | rd) }

// MADD Xd, Xn, Xm, Xa (Xa + Xn*Xm): sf=1 00 11011 000 Rm o0=0 Ra Rn Rd.
func (a *a64) madd(rd, rn, rm, ra uint32) { a.op(0x9b000000 | rm<<16 | ra<<10 | rn<<5 | rd) }

// MSUB Xd, Xn, Xm, Xa (Xa - Xn*Xm): sf=1 00 11011 000 Rm o0=1 Ra Rn Rd.
func (a *a64) msub(rd, rn, rm, ra uint32) { a.op(0x9b008000 | rm<<16 | ra<<10 | rn<<5 | rd) }

// UDIV Xd, Xn, Xm: sf=1 0 0 11010110 Rm 00001 o1=0 Rn Rd.
func (a *a64) udiv(rd, rn, rm uint32) { a.op(0x9ac00800 | rm<<16 | rn<<5 | rd) }

// LDP Xt1, Xt2, [Xn|SP, #imm] (signed offset): opc=10 101 0 010 L=1 imm7 Rt2 Rn Rt; imm7 = imm/8.
func (a *a64) ldp(rt, rt2, rn uint32, imm int32) {
	a.op(0xa9400000 | uint32(imm/8)&0x7f<<15 | rt2<<10 | rn<<5 | rt)
}

// STRB Wt, [Xn|SP] (unsigned offset 0): size=00 111 0 01 opc=00 imm12=0 Rn Rt.
func (a *a64) strb(rt, rn uint32) { a.op(0x39000000 | rn<<5 | rt) }

// STRB Wt, [Xn|SP, #simm9]! (pre-index): size=00 111 0 00 opc=00 0 imm9 11 Rn Rt.
func (a *a64) strbPre(rt, rn uint32, imm int32) {
	a.op(0x38000c00 | uint32(imm)&0x1ff<<12 | rn<<5 | rt)
}

// STR Xt, [Xn|SP, #simm9]! (pre-index): size=11 111 0 00 opc=00 0 imm9 11 Rn Rt.
func (a *a64) strPre(rt, rn uint32, imm int32) {
	a.op(0xf8000c00 | uint32(imm)&0x1ff<<12 | rn<<5 | rt)
}

// CBNZ Xt, label: sf=1 011010 op=1 imm19 Rt.
func (a *a64) cbnz(rt uint32, label string) {
	a.fixups[len(a.code)] = label
	a.op(0xb5000000 | rt)
}

// B.NE label: 0101010 0 imm19 0 cond=0001.
func (a *a64) bne(label string) {
	a.fixups[len(a.code)] = label
	a.op(0x54000000 | 1)
}

// link fills in the imm19 fields (bits 5-23, in instructions from the
// branch) and returns the code as bytes.
func (a *a64) link() ([]byte, error) {
	for at, name := range a.fixups {
		to, ok := a.labels[name]
		if !ok {
			return nil, fmt.Errorf("stamp: no label %q", name)
		}
		rel := to - at
		if rel < -(1<<18) || rel >= 1<<18 {
			return nil, fmt.Errorf("stamp: branch to %q out of range", name)
		}
		a.code[at] |= uint32(rel) & 0x7ffff << 5
	}
	b := make([]byte, 0, 4*len(a.code))
	for _, w := range a.code {
		b = binary.LittleEndian.AppendUint32(b, w)
	}
	return b, nil
}

// stampCodeA64 is the aarch64 program's machine code.
func stampCodeA64() ([]byte, error) {
	a := &a64{labels: map[string]int{}, fixups: map[int]string{}}
	a.subImm(a64SP, a64SP, stampFrame)                                 // sub sp, sp, #64
	a.movz(x8, a64SysClockGettime, 0)                                  // mov x8, clock_gettime
	a.movz(x0, clockBoottime, 0)                                       // mov x0, CLOCK_BOOTTIME
	a.addImm(x1, a64SP, 0)                                             // mov x1, sp
	a.svc()                                                            // svc #0
	a.ldp(x2, x3, a64SP, 0)                                            // ldp x2, x3, [sp]: tv_sec, tv_nsec
	a.mov64(x4, 1_000_000_000)                                         // mov x4, 1e9 (movz, movk)
	a.madd(x2, x2, x4, x3)                                             // madd x2, x2, x4, x3: x2 = tv_sec*1e9 + tv_nsec
	a.addImm(x1, a64SP, stampTextEnd)                                  // add x1, sp, #63: the end of the text
	a.movz(x5, '\n', 0)                                                // mov x5, '\n'
	a.strb(x5, x1)                                                     // strb w5, [x1]
	a.movz(x6, 10, 0)                                                  // mov x6, 10
	a.label("digit")                                                   //
	a.udiv(x7, x2, x6)                                                 // udiv x7, x2, x6: x7 = x2 / 10
	a.msub(x5, x7, x6, x2)                                             // msub x5, x7, x6, x2: x5 = x2 - x7*10, the digit
	a.addImmW(x5, x5, '0')                                             // add w5, w5, #'0'
	a.strbPre(x5, x1, -1)                                              // strb w5, [x1, #-1]!
	a.mov(x2, x7)                                                      // mov x2, x7
	a.cbnz(x2, "digit")                                                // cbnz x2, digit
	a.mov64(x5, binary.LittleEndian.Uint64([]byte(stampMarkerWithNL))) // mov x5, "\nBOOTNS=" (movz, 3 movk)
	a.strPre(x5, x1, -stampMarkerImmBytes)                             // str x5, [x1, #-8]!
	a.addImm(x2, a64SP, stampFrame)                                    // add x2, sp, #64
	a.sub(x2, x2, x1)                                                  // sub x2, x2, x1: the length
	a.movz(x0, 1, 0)                                                   // mov x0, 1 (x1 is the text)
	a.movz(x8, a64SysWrite, 0)                                         // mov x8, write
	a.svc()                                                            // svc #0
	a.movz(x8, a64SysGetpid, 0)                                        // mov x8, getpid
	a.svc()                                                            // svc #0
	a.cmpImm(x0, 1)                                                    // cmp x0, #1
	a.bne("exit")                                                      // b.ne exit
	a.movz(x0, 1, 0)                                                   // mov x0, 1
	a.movz(x1, tcsbrk, 0)                                              // mov x1, TCSBRK
	a.movz(x2, 1, 0)                                                   // mov x2, 1
	a.movz(x8, a64SysIoctl, 0)                                         // mov x8, ioctl
	a.svc()                                                            // svc #0
	a.mov64(x0, rebootMagic1)                                          // mov x0, MAGIC1
	a.mov64(x1, rebootMagic2)                                          // mov x1, MAGIC2
	a.mov64(x2, rebootCmdPowerOff)                                     // mov x2, POWER_OFF
	a.movz(x3, 0, 0)                                                   // mov x3, 0
	a.movz(x8, a64SysReboot, 0)                                        // mov x8, reboot
	a.svc()                                                            // svc #0
	a.label("exit")                                                    // (reboot failed: exit, the kernel panics)
	a.movz(x0, 0, 0)                                                   // mov x0, 0
	a.movz(x8, a64SysExitGroup, 0)                                     // mov x8, exit_group
	a.svc()                                                            // svc #0
	return a.link()
}
