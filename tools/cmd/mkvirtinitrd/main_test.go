package main

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"virtinit/tools/internal/initrd"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want *config // nil: an error is expected
	}{
		{[]string{"init", "mods", "out"},
			&config{opts: initrd.Options{Init: "init", ModulesDir: "mods"}, output: "out"}},
		{[]string{"--module", "virtio_blk", "--module=vfat", "-m", "ext4", "init", "mods", "out"},
			&config{opts: initrd.Options{Init: "init", ModulesDir: "mods", Modules: []string{"virtio_blk", "vfat", "ext4"}}, output: "out"}},
		{[]string{"init", "--transport", "mmio", "mods", "--compress=zstd", "out", "--strip-signatures", "-v"},
			&config{opts: initrd.Options{Init: "init", ModulesDir: "mods", Transport: "mmio", Compress: "zstd", StripSignatures: true}, output: "out", verbose: true}},
		{[]string{"--transport=both", "--compress", "gzip", "--", "-init", "mods", "out"},
			&config{opts: initrd.Options{Init: "-init", ModulesDir: "mods", Transport: "both", Compress: "gzip"}, output: "out"}},
		{[]string{"init", "", "out"},
			&config{opts: initrd.Options{Init: "init"}, output: "out"}},
		{[]string{"--compress", "none", "-", "mods", "out"},
			&config{opts: initrd.Options{Init: "-", ModulesDir: "mods", Compress: "none"}, output: "out"}},
		{[]string{"--help"}, &config{help: true}},
		{[]string{"init", "-h", "--bogus"}, &config{help: true}},
		{[]string{}, nil},
		{[]string{"init", "mods"}, nil},
		{[]string{"init", "mods", "out", "extra"}, nil},
		{[]string{"--bogus", "init", "mods", "out"}, nil},
		{[]string{"--module"}, nil},
		{[]string{"--module=", "init", "mods", "out"}, nil},
		{[]string{"--transport", "usb", "init", "mods", "out"}, nil},
		{[]string{"--compress", "lz4", "init", "mods", "out"}, nil},
		{[]string{"--compress"}, nil},
		{[]string{"--strip-signatures=yes", "init", "mods", "out"}, nil},
		{[]string{"", "mods", "out"}, nil},
		{[]string{"init", "mods", ""}, nil},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if tt.want == nil {
			if err == nil {
				t.Errorf("parseArgs(%q) = %+v, want an error", tt.args, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, got, tt.want)
		}
	}
}

func TestSourceDateEpoch(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  bool
	}{
		{"", 0, false},
		{"0", 0, false},
		{"1700000000", 1700000000, false},
		{"4294967295", 4294967295, false},
		{"4294967296", 0, true},
		{"-1", 0, true},
		{"yesterday", 0, true},
		{"1.5", 0, true},
	}
	for _, tt := range tests {
		got, err := sourceDateEpoch(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("sourceDateEpoch(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// elfHeader is the ELF header of a 64-bit little-endian file, with
// neither program nor section headers.
func elfHeader(class elf.Class, typ elf.Type, machine elf.Machine, entry uint64) []byte {
	h := elf.Header64{Type: uint16(typ), Machine: uint16(machine), Version: 1, Entry: entry, Ehsize: 64}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS] = byte(class)
	h.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	h.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, h)
	return b.Bytes()
}

// withInterp is an ELF executable asking for a program interpreter.
func withInterp() []byte {
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

func TestCheckInit(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		data []byte
		want string // "" = accepted
	}{
		{"x86_64", elfHeader(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_X86_64, 0x401000), ""},
		{"aarch64 static-pie", elfHeader(elf.ELFCLASS64, elf.ET_DYN, elf.EM_AARCH64, 0x1000), ""},
		{"script", []byte("#!/bin/sh\necho hi\n"), "is not an ELF executable"},
		{"empty", nil, "is not an ELF executable"},
		{"random", bytes.Repeat([]byte{0x9d, 0x13}, 500), "is not an ELF executable"},
		{"object", elfHeader(elf.ELFCLASS64, elf.ET_REL, elf.EM_X86_64, 0), "not an executable"},
		{"core", elfHeader(elf.ELFCLASS64, elf.ET_CORE, elf.EM_X86_64, 0), "not an executable"},
		{"riscv", elfHeader(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_RISCV, 0x1000), "not x86_64 or aarch64"},
		{"library", elfHeader(elf.ELFCLASS64, elf.ET_DYN, elf.EM_X86_64, 0), "shared library"},
		{"dynamic", withInterp(), "dynamically linked"},
	}
	for _, tt := range tests {
		p := filepath.Join(dir, tt.name)
		if err := os.WriteFile(p, tt.data, 0o755); err != nil {
			t.Fatal(err)
		}
		err := checkInit(p)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("checkInit(%s) = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), p)):
			t.Errorf("checkInit(%s) = %v, want an error naming the file and saying %q", tt.name, err, tt.want)
		}
	}
	if err := checkInit(dir); err == nil {
		t.Errorf("checkInit(a directory) = nil, want an error")
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	init := filepath.Join(dir, "init")
	if err := os.WriteFile(init, elfHeader(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_X86_64, 0x401000), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	mods := filepath.Join(dir, "6.6.6")
	if err := os.MkdirAll(mods, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(mods, "modules.builtin"), []byte("kernel/fs/fuse/virtiofs.ko\nkernel/drivers/virtio/virtio_pci.ko\n"), 0o644)
	out := filepath.Join(dir, "out.img")
	env := func(epoch string) func(string) string {
		return func(k string) string {
			if k == "SOURCE_DATE_EPOCH" {
				return epoch
			}
			return ""
		}
	}

	tests := []struct {
		name     string
		args     []string
		epoch    string
		status   int
		stdout   string // substring expected on stdout
		stderr   string // substring expected on stderr
		wantFile bool
	}{
		{"help", []string{"--help"}, "", 0, "Usage: mkvirtinitrd", "", false},
		{"usage error", []string{"init"}, "", 2, "", "want INIT MODULES_DIR OUTPUT", false},
		{"bad epoch", []string{init, mods, out}, "soon", 2, "", "SOURCE_DATE_EPOCH", false},
		{"missing init", []string{filepath.Join(dir, "nope"), mods, out}, "", 1, "", "nope: no such file", false},
		{"missing modules", []string{init, filepath.Join(dir, "nomods"), out}, "", 1, "", "nomods: no such file", false},
		{"script init", []string{script, mods, out}, "", 1, "", "script is not an ELF executable", false},
		{"output in a missing directory", []string{init, mods, filepath.Join(dir, "nodir", "out.img")}, "", 1, "", "nodir/out.img: no such file", false},
		{"output is a directory", []string{init, mods, dir}, "", 1, "", dir + ": is a directory", false},
		{"unknown module", []string{"--module", "virtio_blk", init, mods, out}, "", 1, "", "virtio_blk not found", false},
		{"mmio missing", []string{"--transport", "mmio", init, mods, out}, "", 1, "", "virtio_mmio not found", false},
		{"ok", []string{"-v", init, mods, out}, "1700000000", 0, "", "built in: virtiofs", true},
	}
	for _, tt := range tests {
		os.Remove(out)
		var stdout, stderr bytes.Buffer
		status := run(tt.args, env(tt.epoch), &stdout, &stderr)
		if status != tt.status {
			t.Errorf("%s: run(%q) = %d, want %d (stderr %q)", tt.name, tt.args, status, tt.status, stderr.String())
		}
		if !strings.Contains(stdout.String(), tt.stdout) {
			t.Errorf("%s: stdout %q, want it to contain %q", tt.name, stdout.String(), tt.stdout)
		}
		if !strings.Contains(stderr.String(), tt.stderr) {
			t.Errorf("%s: stderr %q, want it to contain %q", tt.name, stderr.String(), tt.stderr)
		}
		if status != 0 && !strings.HasPrefix(stderr.String(), "mkvirtinitrd: ") {
			t.Errorf("%s: stderr %q does not name the program", tt.name, stderr.String())
		}
		_, err := os.Stat(out)
		if (err == nil) != tt.wantFile {
			t.Errorf("%s: output exists = %v, want %v", tt.name, err == nil, tt.wantFile)
		}
	}

	// SOURCE_DATE_EPOCH reaches every mtime field: the same epoch gives the
	// same bytes, another epoch other bytes.
	var first []byte
	for _, epoch := range []string{"1700000000", "1700000000", "1700000001"} {
		if status := run([]string{init, mods, out}, env(epoch), &bytes.Buffer{}, &bytes.Buffer{}); status != 0 {
			t.Fatalf("run with SOURCE_DATE_EPOCH=%s = %d", epoch, status)
		}
		data, _ := os.ReadFile(out)
		if first == nil {
			first = data
			if !bytes.Contains(data, []byte("6553f100")) { // 1700000000 in hex
				t.Errorf("archive does not carry SOURCE_DATE_EPOCH as mtime")
			}
			continue
		}
		if same := bytes.Equal(first, data); same != (epoch == "1700000000") {
			t.Errorf("SOURCE_DATE_EPOCH=%s: output equal to the first = %v", epoch, same)
		}
	}
}
