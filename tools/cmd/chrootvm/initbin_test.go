package main

import (
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"virtinit/tools/internal/cpuarch/cpuarchtest"
	"virtinit/tools/internal/testenv"
)

func TestSourceRoot(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"src/tools/cmd/chrootvm/x": "f",
		"other/go.mod":             "f",
	})
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("src/go.mod", "// comment\nmodule virtinit\n\ngo 1.24\n")
	write("src/tools/go.mod", "module virtinit/tools\n")
	write("other/go.mod", "module \"example.com/virtinit\"\n")
	tests := []struct{ start, want string }{
		{"src/tools/cmd/chrootvm", "src"},
		{"src", "src"},
		{"other", ""},
	}
	for _, tt := range tests {
		want := ""
		if tt.want != "" {
			want = filepath.Join(dir, tt.want)
		}
		if got := sourceRoot(filepath.Join(dir, tt.start)); got != want {
			t.Errorf("sourceRoot(%q) = %q, want %q", tt.start, got, want)
		}
	}
}

func TestFindInitGiven(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	amd64 := write("amd64", fakeELF(elf.EM_X86_64))
	arm64 := write("arm64", fakeELF(elf.EM_AARCH64))
	script := write("script", []byte("#!/bin/sh\n"))
	dynamic := write("dynamic", cpuarchtest.Dynamic())
	tests := []struct {
		given, arch string
		err         string
	}{
		{amd64, "x86_64", ""},
		{arm64, "aarch64", ""},
		{amd64, "aarch64", "--init " + amd64 + " is built for x86_64, not aarch64"},
		{arm64, "x86_64", "is built for aarch64, not x86_64"},
		{script, "x86_64", "is not an ELF executable"},
		{dynamic, "x86_64", "is a dynamically linked x86_64 program, not a static one"},
		{filepath.Join(dir, "missing"), "x86_64", "no such file"},
		{dir, "x86_64", "--init " + dir + ": is a directory, not a file"},
		{"/dev/null", "x86_64", "is not a regular file"},
	}
	for _, tt := range tests {
		got, err := findInit(tt.given, tt.arch)
		if tt.err == "" && (got != tt.given || err != nil) || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("findInit(%q, %s) = %q, %v; want error %q", tt.given, tt.arch, got, err, tt.err)
		}
	}
}

// TestFindInitSourceTree finds the binary of each architecture in a
// source tree around the working directory, passing over the other's.
func TestFindInitSourceTree(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"tools/x": "f", "out/amd64/x": "f", "out/arm64/x": "f"})
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("go.mod", []byte("module virtinit\n"))
	// out/initrd is the host's build: x86_64 here. Only it exists at first.
	hostInit := write("out/initrd", fakeELF(elf.EM_X86_64))
	testenv.Chdir(t, filepath.Join(dir, "tools"))
	if got, err := findInit("", "x86_64"); got != hostInit || err != nil {
		t.Errorf("findInit(x86_64) = %q, %v; want %q", got, err, hostInit)
	}
	if _, err := findInit("", "aarch64"); err == nil || !strings.Contains(err.Error(), "make build GOARCH=arm64") || !strings.Contains(err.Error(), "passed over "+hostInit) {
		t.Errorf("findInit(aarch64) with only an x86_64 binary: %v, want an error naming `make build GOARCH=arm64` and %s", err, hostInit)
	}
	armInit := write("out/arm64/initrd", fakeELF(elf.EM_AARCH64))
	amdInit := write("out/amd64/initrd", fakeELF(elf.EM_X86_64))
	for a, want := range map[string]string{"x86_64": amdInit, "aarch64": armInit} {
		if got, err := findInit("", a); got != want || err != nil {
			t.Errorf("findInit(%s) = %q, %v; want %q", a, got, err, want)
		}
	}
}
