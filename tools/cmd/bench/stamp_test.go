package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// uptimeNS reads CLOCK_BOOTTIME from /proc/uptime, with its 10 ms
// resolution.
func uptimeNS(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Skipf("no /proc/uptime: %v", err)
	}
	s, err := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return int64(s * 1e9)
}

// TestStampRuns runs the stamp program on the host, where it is not PID 1
// and so prints the time and exits: the printed time must lie between two
// readings of the host's boot clock.
func TestStampRuns(t *testing.T) {
	prog, err := stampELF()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "stamp")
	if err := os.WriteFile(path, prog, 0o755); err != nil {
		t.Fatal(err)
	}
	before := uptimeNS(t)
	out, err := exec.Command(path).Output()
	after := uptimeNS(t)
	if err != nil {
		t.Fatalf("stamp: %v (output %q)", err, out)
	}
	ns, err := parseStamp(out)
	if err != nil {
		t.Fatalf("parseStamp(%q): %v", out, err)
	}
	// /proc/uptime truncates to hundredths of a second.
	if ns < before || ns > after+1e7 {
		t.Errorf("stamp printed %d ns, want between %d and %d", ns, before, after+1e7)
	}
	if !bytes.HasPrefix(out, []byte("\n"+stampMarker)) || !bytes.HasSuffix(out, []byte("\n")) {
		t.Errorf("stamp output %q, want \\n%sDIGITS\\n", out, stampMarker)
	}
}

// TestStampELF checks the program's headers as the kernel reads them.
func TestStampELF(t *testing.T) {
	for _, tt := range []struct {
		goarch  string
		machine elf.Machine
	}{{"amd64", elf.EM_X86_64}, {"arm64", elf.EM_AARCH64}} {
		t.Run(tt.goarch, func(t *testing.T) { testStampELF(t, tt.goarch, tt.machine) })
	}
}

func testStampELF(t *testing.T, goarch string, machine elf.Machine) {
	prog, err := stampELFFor(goarch)
	if err != nil {
		t.Fatal(err)
	}
	if len(prog) > 512 {
		t.Errorf("stamp program is %d bytes, want a tiny one (at most 512)", len(prog))
	}
	f, err := elf.NewFile(bytes.NewReader(prog))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != machine || f.Type != elf.ET_EXEC || f.Class != elf.ELFCLASS64 {
		t.Errorf("stamp ELF is %v %v %v, want %v ET_EXEC ELFCLASS64", f.Machine, f.Type, f.Class, machine)
	}
	if len(f.Progs) != 1 {
		t.Fatalf("stamp has %d program headers, want 1", len(f.Progs))
	}
	p := f.Progs[0]
	if p.Type != elf.PT_LOAD || p.Flags != elf.PF_R|elf.PF_X || p.Filesz != uint64(len(prog)) {
		t.Errorf("stamp segment %v %v filesz %d, want PT_LOAD R+X filesz %d", p.Type, p.Flags, p.Filesz, len(prog))
	}
	if f.Entry < p.Vaddr+elfHeaderSize+programHeaderSize || f.Entry >= p.Vaddr+p.Memsz {
		t.Errorf("stamp entry %#x outside its code (%#x + %d)", f.Entry, p.Vaddr, p.Memsz)
	}
}

func TestParseStamp(t *testing.T) {
	tests := []struct {
		out  string
		want int64
		ok   bool
	}{
		{"\r\nBOOTNS=1864232383\r\n[    1.86] reboot: Power down\r\n", 1864232383, true},
		{"noise\nBOOTNS=5\n", 5, true},
		{"initrd: debug 1.0 - exec /stamp\r\n\r\nBOOTNS=1771100000\r\n", 1771100000, true},
		{"xBOOTNS=12\n", 0, false},   // not at a line start
		{"BOOTNS=12 ms\n", 0, false}, // not the whole line
		{"BOOTNS=\n", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseStamp([]byte(tt.out))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseStamp(%q) = %d, %v; want %d, ok %v", tt.out, got, err, tt.want, tt.ok)
		}
	}
}

// TestGoStampRuns builds the Go floor and runs it on the host, where it is
// not PID 1: it must print its entry time, then main's, both between two
// readings of the host's boot clock.
func TestGoStampRuns(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to build the Go floor")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gostamp")
	if err := buildGoStamp(dir, bin, "amd64"); err != nil {
		t.Fatal(err)
	}
	before := uptimeNS(t)
	out, err := exec.Command(bin).Output()
	after := uptimeNS(t)
	if err != nil {
		t.Fatalf("gostamp: %v (output %q)", err, out)
	}
	main, err := parseStamp(out)
	if err != nil {
		t.Fatalf("parseStamp(%q): %v", out, err)
	}
	entry, err := parseEntry(out)
	if err != nil {
		t.Fatalf("parseEntry(%q): %v", out, err)
	}
	if entry < before || entry > main || main > after+1e7 {
		t.Errorf("gostamp: entry %d, main %d; want %d <= entry <= main <= %d", entry, main, before, after+1e7)
	}
}

// TestStampA64 checks instructions of the aarch64 program against
// encodings from the Arm ARM's examples and GNU as, and that its
// branches land where they should.
func TestStampA64(t *testing.T) {
	a := &a64{labels: map[string]int{}, fixups: map[int]string{}}
	a.subImm(a64SP, a64SP, 64) // sub sp, sp, #64
	a.addImm(x1, a64SP, 0)     // mov x1, sp
	a.svc()                    // svc #0
	a.cmpImm(x0, 1)            // cmp x0, #1
	a.udiv(x0, x1, x2)         // udiv x0, x1, x2
	a.ldp(29, 30, a64SP, 0)    // ldp x29, x30, [sp]
	a.strPre(30, a64SP, -16)   // str x30, [sp, #-16]!
	a.madd(x0, x1, x2, a64ZR)  // mul x0, x1, x2
	a.mov(x0, x1)              // mov x0, x1
	a.label("l")
	a.movz(x8, 113, 0) // mov x8, #113
	a.cbnz(x2, "l")    // cbnz x2, .-4
	a.bne("l")         // b.ne .-8
	code, err := a.link()
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{0xd10103ff, 0x910003e1, 0xd4000001, 0xf100041f, 0x9ac20820, 0xa9407bfd, 0xf81f0ffe, 0x9b027c20, 0xaa0103e0,
		0xd2800e28, 0xb5ffffe2, 0x54ffffc1}
	for i, w := range want {
		if got := binary.LittleEndian.Uint32(code[4*i:]); got != w {
			t.Errorf("instruction %d = %#08x, want %#08x", i, got, w)
		}
	}
}
