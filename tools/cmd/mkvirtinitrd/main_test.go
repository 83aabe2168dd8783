package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/cpuarch/cpuarchtest"
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
		{[]string{"--overlay", "init", "mods", "out"},
			&config{opts: initrd.Options{Init: "init", ModulesDir: "mods", Modules: []string{"overlay"}}, output: "out"}},
		{[]string{"init", "--transport", "mmio", "mods", "--compress=zstd", "out", "--strip-signatures", "-v"},
			&config{opts: initrd.Options{Init: "init", ModulesDir: "mods", Transport: "mmio", Compress: "zstd", StripSignatures: true}, output: "out", verbose: true}},
		{[]string{"--transport=both", "--compress", "gzip", "--", "-init", "mods", "out"},
			&config{opts: initrd.Options{Init: "-init", ModulesDir: "mods", Transport: "both", Compress: "gzip"}, output: "out"}},
		{[]string{"init", "", "out"},
			&config{opts: initrd.Options{Init: "init"}, output: "out"}},
		{[]string{"--compress", "none", "-", "mods", "out"},
			&config{opts: initrd.Options{Init: "-", ModulesDir: "mods", Compress: "none"}, output: "out"}},
		{[]string{"--help"}, &config{help: true}},
		{[]string{"init", "-h"}, &config{help: true}},
		{[]string{"-h", "--bogus"}, nil},
		{[]string{}, nil},
		{[]string{"init", "mods"}, nil},
		{[]string{"init", "mods", "out", "extra"}, nil},
		{[]string{"--bogus", "init", "mods", "out"}, nil},
		{[]string{"--module"}, nil},
		{[]string{"--overlay=yes", "init", "mods", "out"}, nil},
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

// TestCheckInit: INIT is checked by cpuarch.CheckStatic (whose tests
// cover every kind of file), and the error names it as INIT.
func TestCheckInit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := checkInit(p); err == nil || err.Error() != "INIT "+p+" is not an ELF executable" {
		t.Errorf("checkInit(a script) = %v, want INIT %s is not an ELF executable", err, p)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if pr, err := cpuarch.ReadProgram(exe); err == nil && pr.Static {
		if err := checkInit(exe); err != nil {
			t.Errorf("checkInit(the static test binary) = %v, want nil", err)
		}
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	init := filepath.Join(dir, "init")
	if err := os.WriteFile(init, cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_X86_64, 0x401000), 0o755); err != nil {
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
	if err := os.WriteFile(filepath.Join(mods, "modules.builtin"), []byte("kernel/fs/fuse/virtiofs.ko\nkernel/drivers/virtio/virtio_pci.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A kernel with overlay built in.
	modsOverlay := filepath.Join(dir, "6.6.7")
	if err := os.MkdirAll(modsOverlay, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(modsOverlay, "modules.builtin"), []byte("kernel/fs/fuse/virtiofs.ko\nkernel/drivers/virtio/virtio_pci.ko\nkernel/fs/overlayfs/overlay.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{"overlay missing", []string{"--overlay", init, mods, out}, "", 1, "", "overlay not found", false},
		{"overlay built in", []string{"-v", "--overlay", init, modsOverlay, out}, "", 0, "", "built in: overlay", true},
		{"mmio missing", []string{"--transport", "mmio", init, mods, out}, "", 1, "", "virtio_mmio not found", false},
		{"ok", []string{"-v", init, mods, out}, "1700000000", 0, "", "built in: virtiofs", true},
	}
	for _, tt := range tests {
		if err := os.Remove(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
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
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
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

// TestUsageTables: --help names every option, transport and compression
// that parseArgs takes, from their tables.
func TestUsageTables(t *testing.T) {
	for name := range flags {
		if !strings.Contains(usage, name+" ") && !strings.Contains(usage, name+",") {
			t.Errorf("--help does not document %s", name)
		}
	}
	for _, v := range append(initrd.TransportNames(), initrd.Compressions...) {
		if !strings.Contains(usage, v) {
			t.Errorf("--help does not name %s", v)
		}
	}
	names := initrd.TransportNames()
	if len(names) != len(initrd.Transports) {
		t.Errorf("TransportNames %q, want the %d keys of Transports", names, len(initrd.Transports))
	}
	for _, n := range names {
		if _, ok := initrd.Transports[n]; !ok {
			t.Errorf("TransportNames has %s, which Transports lacks", n)
		}
	}
}
