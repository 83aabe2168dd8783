package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"virtinit/tools/internal/vm"
)

// TestRunEarlyExits checks the exit statuses of what chrootvm finds wrong
// before booting anything.
func TestRunEarlyExits(t *testing.T) {
	dir := t.TempDir()
	rootfs := filepath.Join(dir, "root")
	kernel := filepath.Join(dir, "vmlinuz")
	tree(t, dir, map[string]string{
		"root/bin/sh":   "x",
		"root/bin/text": "f",
		"vmlinuz":       "f",
		"empty":         "d",
		"garbage":       "f",
		"fakebin":       "d",
	})
	// A qemu that is found, so that the virtiofsd comes next.
	if err := os.WriteFile(filepath.Join(dir, "fakebin", "qemu-system-x86_64"), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kernel, fakeImage(peMachineAMD64, x86BootMagicOff, x86BootMagic), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage")
	tests := []struct {
		name string
		args []string
		path string // PATH, when it matters
		code int
		msg  string
	}{
		{"usage", []string{"--frob"}, "", exitUsage, "unknown option"},
		{"no rootfs", []string{dir + "/nope"}, "", exitNoRootfs, "ROOTFS"},
		{"rootfs a file", []string{kernel}, "", exitNoRootfs, "not a directory"},
		{"missing mount", []string{"--mount", "m", dir + "/nope", rootfs}, "", exitNoRootfs, "tag m"},
		{"no kernel in rootfs", []string{rootfs}, "", exitNoKernel, "no kernel in"},
		{"missing --kernel", []string{"--kernel", dir + "/nope", rootfs}, "", exitNoKernel, "--kernel"},
		{"missing --modules", []string{"--kernel", kernel, "--modules", dir + "/nope", rootfs}, "", exitNoKernel, "--modules"},
		{"microvm without virtio_mmio", []string{"--kernel", kernel, "--modules", dir + "/empty", "--machine", "microvm", rootfs}, "", exitNoKernel, "virtio_mmio"},
		{"program not found", []string{"--kernel", kernel, rootfs, "nosuch"}, "", exitNotFound, "not found"},
		{"program not executable", []string{"--kernel", kernel, rootfs, "/bin/text"}, "", exitNotExecutable, "not executable"},
		{"argument the kernel cannot carry", []string{"--kernel", kernel, rootfs, "sh", `"`}, "", exitUsage, "double quote"},
		{"no qemu", []string{"--kernel", kernel, rootfs}, dir + "/empty", exitNoQemu, "qemu-system-x86_64 on PATH (install qemu-system-x86)"},
		{"no qemu for aarch64", []string{"--arch", "arm64", "--kernel", kernel, rootfs}, dir + "/empty", exitNoQemu, "qemu-system-aarch64 on PATH (install qemu-system-arm)"},
		{"missing --virtiofsd", []string{"--virtiofsd", dir + "/no-vfsd", "--kernel", kernel, rootfs}, dir + "/fakebin", exitNoVirtiofsd, dir + "/no-vfsd"},
		{"missing $VIRTIOFSD", []string{"--kernel", kernel, rootfs}, dir + "/fakebin", exitNoVirtiofsd, "VIRTIOFSD"},
		{"bad --arch", []string{"--arch", "mips", rootfs}, "", exitUsage, "--arch"},
		{"unknown architecture", []string{"--kernel", garbage, rootfs}, "", exitUsage, "pass --arch"},
		{"machine of another architecture", []string{"--arch", "aarch64", "--kernel", kernel, "--machine", "q35", rootfs}, "", exitUsage, "--machine q35 cannot have aarch64"},
	}
	for _, tt := range tests {
		if tt.path != "" {
			t.Setenv("PATH", tt.path)
		}
		vfsd := ""
		if tt.name == "missing $VIRTIOFSD" {
			vfsd = dir + "/no-vfsd"
		}
		t.Setenv(vm.VirtiofsdEnv, vfsd)
		var stdout, stderr bytes.Buffer
		code := run(tt.args, nil, &stdout, &stderr)
		if code != tt.code || !strings.Contains(stderr.String(), tt.msg) {
			t.Errorf("%s: run(%q) = %d, stderr %q; want %d and a message containing %q", tt.name, tt.args, code, stderr.String(), tt.code, tt.msg)
		}
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, nil, &stdout, &stderr); code != 0 {
		t.Errorf("run(--help) = %d, want 0", code)
	}
	// Every option and every status of chrootvm's own is documented.
	for name := range flags {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("--help does not mention %s", name)
		}
	}
	for _, code := range []string{"2 ", "120", "121", "122", "123", "124", "125", "126", "127"} {
		if !strings.Contains(stdout.String(), "\n  "+code) {
			t.Errorf("--help does not document exit status %s", code)
		}
	}
}

// The boot tests run chrootvm on a busybox root with the kernels of the
// project's cache (tools/fetch-deps) and the /init binary built from the
// repository. They are skipped, saying why, when a part is missing.

var (
	bootOnce  sync.Once
	bootDir   string // removed by TestMain
	bootInit  string
	bootRoot  string
	bootCache string
	bootSkip  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bootDir != "" {
		os.RemoveAll(bootDir)
	}
	os.Exit(code)
}

func needBoot(t *testing.T) (initBin, rootfs, cache string) {
	t.Helper()
	if testing.Short() {
		t.Skip("boot tests are not short")
	}
	bootOnce.Do(func() { bootSkip = prepareBoot() })
	if bootSkip != "" {
		t.Skip(bootSkip)
	}
	return bootInit, bootRoot, bootCache
}

func prepareBoot() string {
	bootCache = os.Getenv("VIRTINIT_CACHE")
	if bootCache == "" {
		bootCache = filepath.Join("..", "..", "..", ".cache")
	}
	for _, v := range []string{"6.1", "6.12"} {
		if _, err := os.Stat(filepath.Join(bootCache, "kernels", v, "vmlinuz")); err != nil {
			return "no " + v + " kernel in the cache (run tools/fetch-deps): " + err.Error()
		}
	}
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		return "no busybox (install busybox-static)"
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		return "no qemu-system-x86_64"
	}
	dir, err := os.MkdirTemp("", "chrootvm-test-")
	if err != nil {
		return err.Error()
	}
	bootDir = dir
	bootInit = filepath.Join(dir, "initrd")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bootInit, ".")
	build.Dir = filepath.Join("..", "..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return "build the /init binary: " + err.Error() + "\n" + string(out)
	}
	bootRoot = filepath.Join(dir, "root")
	for _, d := range []string{"bin", "dev", "proc", "sys", "run", "tmp"} {
		if err := os.MkdirAll(filepath.Join(bootRoot, d), 0o755); err != nil {
			return err.Error()
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err.Error()
	}
	if err := os.WriteFile(filepath.Join(bootRoot, "bin", "busybox"), data, 0o755); err != nil {
		return err.Error()
	}
	for _, applet := range []string{"sh", "true", "echo", "sleep"} {
		if err := os.Symlink("busybox", filepath.Join(bootRoot, "bin", applet)); err != nil {
			return err.Error()
		}
	}
	return ""
}

// boot runs chrootvm with a kernel of the cache.
func boot(t *testing.T, version string, args ...string) (code int, stdout string) {
	t.Helper()
	initBin, _, cache := needBoot(t)
	k := filepath.Join(cache, "kernels", version)
	argv := append([]string{"--init", initBin, "--kernel", k + "/vmlinuz", "--modules", k + "/modules"}, args...)
	var out, errs bytes.Buffer
	code = run(argv, nil, &out, &errs)
	t.Logf("chrootvm %s: status %d\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), code, out.String(), errs.String())
	return code, out.String()
}

func TestBootStatusArgsMount(t *testing.T) {
	_, rootfs, _ := needBoot(t)
	work := t.TempDir()
	code, stdout := boot(t, "6.12", "--mount", "work", work, rootfs,
		"sh", "-c", "for a; do echo $a; done > /run/mnt/work/args; echo to-stdout; exit 3", "sh", "a b", "", "c")
	if code != 3 {
		t.Errorf("status %d, want 3", code)
	}
	if got, err := os.ReadFile(filepath.Join(work, "args")); string(got) != "a b\n\nc\n" || err != nil {
		t.Errorf("arguments the program got: %q, %v; want %q", got, err, "a b\n\nc\n")
	}
	if strings.TrimSpace(stdout) != "to-stdout" {
		t.Errorf("stdout %q, want only the program's output", stdout)
	}
}

func TestBootModules(t *testing.T) {
	_, rootfs, _ := needBoot(t)
	// 6.1 has virtio_mmio, virtiofs and fuse as modules.
	if code, stdout := boot(t, "6.1", rootfs, "echo", "hello"); code != 0 || strings.TrimSpace(stdout) != "hello" {
		t.Errorf("status %d, stdout %q; want 0, hello", code, stdout)
	}
}

func TestBootTimeout(t *testing.T) {
	_, rootfs, _ := needBoot(t)
	if code, _ := boot(t, "6.12", "--timeout", "5s", rootfs, "sleep", "1000"); code != exitTimeout {
		t.Errorf("status %d, want %d", code, exitTimeout)
	}
}
