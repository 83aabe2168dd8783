package testenv

import (
	"debug/elf"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"virtinit/tools/internal/cpuarch/cpuarchtest"
)

// recorder is a testing.TB that records how a test would have ended.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	r.skipped = true
	r.msg = format
	if len(args) > 0 {
		r.msg = args[0].(string)
	}
}
func (r *recorder) Skip(args ...any) {
	r.skipped = true
	r.msg = args[0].(string)
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
	if len(args) > 0 {
		r.msg = args[0].(string)
	}
}

func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		env                   string
		wantSkip, wantFailure bool
	}{
		{"", true, false},
		{"0", true, false},
		{"1", false, true},
	} {
		t.Setenv(RequireEnv, tt.env)
		r := &recorder{TB: t}
		Missing(r, "no %s here", "kernel")
		if r.skipped != tt.wantSkip || r.failed != tt.wantFailure {
			t.Errorf("%s=%q: Missing skipped %v, failed %v; want %v, %v", RequireEnv, tt.env, r.skipped, r.failed, tt.wantSkip, tt.wantFailure)
		}
		if !strings.Contains(r.msg, "no kernel here") {
			t.Errorf("%s=%q: Missing's message %q lacks the reason", RequireEnv, tt.env, r.msg)
		}
	}
}

func TestRepoAndCache(t *testing.T) {
	repo, err := Repo()
	if err != nil {
		t.Fatal(err)
	}
	// This package is tools/internal/testenv of the repository.
	if wd, _ := os.Getwd(); wd != filepath.Join(repo, "tools", "internal", "testenv") {
		t.Errorf("Repo() = %s, but the test runs in %s", repo, wd)
	}
	for _, tt := range []struct{ env, want string }{
		{"", filepath.Join(repo, ".cache")},
		{"/abs/cache", "/abs/cache"},
		{"../.cache", filepath.Join(repo, ".cache")}, // relative to tools/, as make check passes it
	} {
		t.Setenv("VIRTINIT_CACHE", tt.env)
		if got, err := Cache(); got != tt.want || err != nil {
			t.Errorf("VIRTINIT_CACHE=%q: Cache() = %q, %v; want %q", tt.env, got, err, tt.want)
		}
	}
}

func TestFindKernel(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("VIRTINIT_CACHE", cache)
	if _, err := FindKernel("6.12"); err == nil || !strings.Contains(err.Error(), "run tools/fetch-deps") {
		t.Errorf("FindKernel in an empty cache: %v, want an error that says to run tools/fetch-deps", err)
	}
	if _, err := FindKernel("arm64-6.1"); err == nil || !strings.Contains(err.Error(), "--arch arm64") {
		t.Errorf("FindKernel(arm64-6.1) in an empty cache: %v, want an error that names --arch arm64", err)
	}
	if _, err := FindKernel("5.10"); err == nil || !strings.Contains(err.Error(), "6.12") {
		t.Errorf("FindKernel(5.10): %v, want an error that lists the known kernels", err)
	}
	// fetch-deps's layout: links to the image and to lib/modules/KVER.
	dir := filepath.Join(cache, "arm64", "kernels", "6.1")
	mustMkdir(t, filepath.Join(dir, "lib", "modules", "6.1.0-1-arm64"))
	mustMkdir(t, filepath.Join(dir, "boot"))
	mustWrite(t, filepath.Join(dir, "boot", "vmlinuz-6.1.0-1-arm64"), nil, 0o644)
	mustSymlink(t, "boot/vmlinuz-6.1.0-1-arm64", filepath.Join(dir, "vmlinuz"))
	mustSymlink(t, "lib/modules/6.1.0-1-arm64", filepath.Join(dir, "modules"))
	k, err := FindKernel("arm64-6.1")
	if err != nil {
		t.Fatal(err)
	}
	if k.Vmlinuz != filepath.Join(dir, "vmlinuz") || k.Modules != filepath.Join(dir, "modules") || k.GOARCH != "arm64" || k.Arch != "aarch64" {
		t.Errorf("FindKernel(arm64-6.1) = %+v", k)
	}
}

func TestFindInitFromEnv(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "initrd")
	mustWrite(t, bin, cpuarchtest.ELF(elf.ELFCLASS64, elf.ET_EXEC, elf.EM_AARCH64, 0x401000), 0o755)
	t.Setenv("VIRTINIT_INIT_ARM64", bin)
	if got, err := FindInit("arm64"); got != bin || err != nil {
		t.Errorf("FindInit(arm64) = %q, %v; want %q from VIRTINIT_INIT_ARM64", got, err, bin)
	}
	t.Setenv("VIRTINIT_INIT", bin)
	if _, err := FindInit("amd64"); err == nil || !strings.Contains(err.Error(), "VIRTINIT_INIT") {
		t.Errorf("FindInit(amd64) with an arm64 binary in VIRTINIT_INIT: %v, want an error naming the variable", err)
	}
}

func TestBusyboxRoot(t *testing.T) {
	dir := t.TempDir()
	busybox := filepath.Join(dir, "busybox")
	mustWrite(t, busybox, []byte("the busybox"), 0o755)
	root := filepath.Join(dir, "root")
	for range 2 { // a second run on the same directory changes nothing
		if err := BusyboxRoot(root, busybox, "sh", "cat", "busybox"); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range RootDirs {
		if st, err := os.Stat(filepath.Join(root, d)); err != nil || !st.IsDir() {
			t.Errorf("%s is not a directory: %v", d, err)
		}
	}
	if st, err := os.Stat(filepath.Join(root, "bin", "busybox")); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("bin/busybox: %v, %v; want mode 0755", st, err)
	}
	if data, err := os.ReadFile(filepath.Join(root, "bin", "sh")); string(data) != "the busybox" || err != nil {
		t.Errorf("bin/sh reads %q, %v; want the busybox", data, err)
	}
	if target, err := os.Readlink(filepath.Join(root, "bin", "cat")); target != "busybox" || err != nil {
		t.Errorf("bin/cat -> %q, %v; want busybox", target, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "bin", "ls")); err == nil {
		t.Errorf("bin/ls exists, but only sh and cat were asked for")
	}
	if data, _ := os.ReadFile(filepath.Join(root, "etc", "passwd")); !strings.HasPrefix(string(data), "root:x:0:0:") {
		t.Errorf("etc/passwd = %q, want a root entry", data)
	}
	// A file in the way of an applet's link is an error, not replaced.
	mustWrite(t, filepath.Join(root, "bin", "echo"), []byte("mine"), 0o755)
	if err := BusyboxRoot(root, busybox, "echo"); err == nil {
		t.Errorf("BusyboxRoot over a bin/echo of its own: no error")
	}
}

func TestNeedVM(t *testing.T) {
	old := flag.Lookup("test.short").Value.String()
	t.Cleanup(func() { flag.Set("test.short", old) })
	for _, short := range []bool{false, true} {
		if err := flag.Set("test.short", strconv.FormatBool(short)); err != nil {
			t.Fatal(err)
		}
		r := &recorder{TB: t}
		NeedVM(r)
		if r.skipped != short || r.failed {
			t.Errorf("-short=%v: NeedVM skipped %v, failed %v; want a skip only under -short", short, r.skipped, r.failed)
		}
	}
}

func mustMkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
