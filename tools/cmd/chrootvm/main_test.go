package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/testenv"
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
	if err := os.WriteFile(garbage, bytes.Repeat([]byte{0x5a, 0xc3, 0x11}, 3000), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty-file")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		path string // PATH, when it matters
		code int
		msg  string
	}{
		{"usage", []string{"--frob"}, "", exitUsage, "unknown option"},
		{"no rootfs", []string{dir + "/nope"}, "", exitNoRootfs, "/nope does not exist"},
		{"rootfs a file", []string{kernel}, "", exitNoRootfs, "not a directory"},
		{"missing mount", []string{"--mount", "m", dir + "/nope", rootfs}, "", exitNoRootfs, "tag m: " + dir + "/nope does not exist"},
		{"mount a file", []string{"--mount", "m", kernel, rootfs}, "", exitNoRootfs, "is not a directory"},
		{"no kernel in rootfs", []string{rootfs}, "", exitNoKernel, "no kernel in"},
		{"missing --kernel", []string{"--kernel", dir + "/nope", rootfs}, "", exitNoKernel, "--kernel"},
		{"--kernel a directory", []string{"--kernel", dir, rootfs}, "", exitNoKernel, "--kernel " + dir + ": is a directory, not a file"},
		{"missing --modules", []string{"--kernel", kernel, "--modules", dir + "/nope", rootfs}, "", exitNoKernel, "--modules"},
		{"microvm without virtio_mmio", []string{"--kernel", kernel, "--modules", dir + "/empty", "--machine", "microvm", rootfs}, "", exitNoKernel, "virtio_mmio"},
		{"program not found", []string{"--kernel", kernel, rootfs, "nosuch"}, "", exitNotFound, "not found"},
		{"program not executable", []string{"--kernel", kernel, rootfs, "/bin/text"}, "", exitNotExecutable, "not executable"},
		{"unbalanced --append", []string{"--append", `x="a`, "--kernel", kernel, rootfs, "sh", "-i"}, "", exitUsage, "unbalanced double quote"},
		{"no qemu", []string{"--kernel", kernel, rootfs}, dir + "/empty", exitNoQemu, "qemu-system-x86_64 on PATH (install qemu-system-x86)"},
		{"no qemu for aarch64", []string{"--arch", "arm64", "--kernel", kernel, rootfs}, dir + "/empty", exitNoQemu, "qemu-system-aarch64 on PATH (install qemu-system-arm)"},
		{"missing --virtiofsd", []string{"--virtiofsd", dir + "/no-vfsd", "--kernel", kernel, rootfs}, dir + "/fakebin", exitNoVirtiofsd, dir + "/no-vfsd"},
		{"missing $VIRTIOFSD", []string{"--kernel", kernel, rootfs}, dir + "/fakebin", exitNoVirtiofsd, "VIRTIOFSD"},
		{"bad --arch", []string{"--arch", "mips", rootfs}, "", exitUsage, "--arch"},
		{"--kernel of random bytes", []string{"--kernel", garbage, rootfs}, "", exitNoKernel, garbage + " is not a kernel image"},
		{"empty --kernel", []string{"--kernel", empty, rootfs}, "", exitNoKernel, empty + " is not a kernel image"},
		{"--kernel not a kernel, with --arch", []string{"--arch", "x86_64", "--kernel", garbage, rootfs}, "", exitNoKernel, "is not a kernel image"},
		{"program in a missing share", []string{"--kernel", kernel, rootfs, "/run/mnt/s/x"}, "", exitNotFound, "no share has the tag s"},
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
		if strings.Contains(tt.msg, "is not a kernel image") && strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("%s: %d lines on stderr, want one: %q", tt.name, strings.Count(stderr.String(), "\n"), stderr.String())
		}
	}
}

func TestHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--help"}, nil, &stdout, &stderr); code != 0 {
		t.Errorf("run(--help) = %d, want 0", code)
	}
	// Every option is documented.
	for name := range flags {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("--help does not mention %s", name)
		}
	}
	// So is every lever of the boot tuning.
	for _, l := range vm.AllLevers() {
		if !strings.Contains(stdout.String(), "\n  "+l.Name()) {
			t.Errorf("--help does not list the tuning's %s", l.Name())
		}
	}
	// Its exit statuses: TestHelpStatuses.
}

// The boot tests run chrootvm on testenv's busybox root with the kernels
// of the project's cache (tools/fetch-deps) and the /init binary built
// from the repository. A missing part skips them, saying why, or fails
// them under VIRTINIT_REQUIRE_VM=1.

func TestMain(m *testing.M) {
	if os.Getenv(runAsChrootvm) != "" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	testenv.Main(m)
}

var (
	bootOnce sync.Once
	bootRoot string
	bootErr  error
)

// needBoot returns the /init binary and a busybox root, or ends t.
func needBoot(t *testing.T) (initBin, rootfs string) {
	t.Helper()
	testenv.NeedVM(t)
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		testenv.Missing(t, "no qemu-system-x86_64 (run tools/fetch-deps)")
	}
	busybox := testenv.NeedBusybox(t, "amd64")
	initBin, err := testenv.FindInit("amd64")
	if err != nil {
		t.Fatal(err)
	}
	bootOnce.Do(func() {
		dir, err := testenv.TempDir()
		if err != nil {
			bootErr = err
			return
		}
		bootRoot = filepath.Join(dir, "root")
		bootErr = testenv.BusyboxRoot(bootRoot, busybox)
	})
	if bootErr != nil {
		t.Fatalf("busybox root: %v", bootErr)
	}
	return initBin, bootRoot
}

// boot runs chrootvm with a kernel of the cache.
func boot(t *testing.T, version string, args ...string) (code int, stdout string) {
	t.Helper()
	initBin, _ := needBoot(t)
	k := testenv.NeedKernel(t, version)
	argv := append([]string{"--init", initBin, "--kernel", k.Vmlinuz, "--modules", k.Modules}, args...)
	var out, errs bytes.Buffer
	code = run(argv, nil, &out, &errs)
	t.Logf("chrootvm %s: status %d\nstdout:\n%s\nstderr:\n%s", strings.Join(argv, " "), code, out.String(), errs.String())
	return code, out.String()
}

func TestBootStatusArgsMount(t *testing.T) {
	_, rootfs := needBoot(t)
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

// TestBootTuning checks that the boot tuning reaches the guest on q35,
// where it has both kinds of lever, and that --no-tune leaves it out:
// the kernel's command line has the parameters or not, and the HPET,
// which the tuning removes from the machine, is missing from the clock
// sources or there. (/dev/hpet is no sign: the driver makes it without
// the device.)
func TestBootTuning(t *testing.T) {
	_, rootfs := needBoot(t)
	const check = "cat /proc/cmdline; grep -qw hpet /sys/devices/system/clocksource/clocksource0/available_clocksource"
	for _, tune := range []bool{true, false} {
		args := []string{"--machine", "q35", rootfs, "sh", "-c", check}
		if !tune {
			args = append([]string{"--no-tune"}, args...)
		}
		code, stdout := boot(t, "6.12", args...)
		for _, p := range vm.TuneParams("x86_64", "q35") {
			if got := slices.Contains(strings.Fields(stdout), p); got != tune {
				t.Errorf("tuning %v: %s on the kernel command line is %v, want %v (%q)", tune, p, got, tune, stdout)
			}
		}
		// grep exits 0 where the HPET is, 1 where it is not.
		if hpet := code == 0; hpet == tune || code > 1 {
			t.Errorf("tuning %v: status %d of %q, want %d", tune, code, check, map[bool]int{true: 1, false: 0}[tune])
		}
	}
	// On microvm the initrd loads virtio_mmio: without its signature
	// under the tuning, which taints the kernel with TAINT_UNSIGNED_MODULE
	// (bit 13, kernel/panic.c).
	code, stdout := boot(t, "6.12", rootfs, "sh", "-c", "echo $(( $(cat /proc/sys/kernel/tainted) >> 13 & 1 ))")
	if code != 0 || strings.TrimSpace(stdout) != "1" {
		t.Errorf("microvm with the tuning: status %d, unsigned-module taint %q, want 0 and 1", code, stdout)
	}
}

func TestBootModules(t *testing.T) {
	_, rootfs := needBoot(t)
	// 6.1 has virtio_mmio, virtiofs and fuse as modules.
	if code, stdout := boot(t, "6.1", rootfs, "echo", "hello"); code != 0 || strings.TrimSpace(stdout) != "hello" {
		t.Errorf("status %d, stdout %q; want 0, hello", code, stdout)
	}
}

// TestBootTimeout checks that --timeout stops a program that is running:
// the program creates a file on a share once it runs and then sleeps far
// longer than the timeout. The timeout must end the VM with status 124
// after the file appeared. A boot slower than the timeout (a loaded
// machine: the time counts from qemu's start) is tried again with twice
// the timeout, up to 2 minutes.
func TestBootTimeout(t *testing.T) {
	_, rootfs := needBoot(t)
	for timeout := 30 * time.Second; ; timeout *= 2 {
		work := t.TempDir()
		code, _ := boot(t, "6.12", "--timeout", timeout.String(), "--mount", "work", work, rootfs,
			"sh", "-c", "echo > /run/mnt/work/running; sleep 1000; echo > /run/mnt/work/finished")
		if code != exitTimeout {
			t.Fatalf("--timeout %v: status %d, want %d", timeout, code, exitTimeout)
		}
		if _, err := os.Stat(filepath.Join(work, "finished")); err == nil {
			t.Fatalf("--timeout %v: the program finished its sleep 1000", timeout)
		}
		if _, err := os.Stat(filepath.Join(work, "running")); err == nil {
			return // the timeout stopped the running program
		}
		if timeout >= 2*time.Minute {
			t.Fatalf("--timeout %v: the program never started", timeout)
		}
		t.Logf("--timeout %v expired before the program started: the boot was slower; again with twice the time", timeout)
	}
}

// TestPipeWriter: a program's output whose reader has gone (chrootvm ...
// | head) ends the run as SIGPIPE would: status 141, nothing printed.
func TestPipeWriter(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	if _, err := (pipeWriter{w, cancel}).Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write to a pipe without reader: %v, want EPIPE", err)
	}
	var stderr bytes.Buffer
	if code := (&app{stderr: &stderr}).finish(outcome{stop: context.Cause(ctx)}); code != 141 || stderr.Len() != 0 {
		t.Errorf("finish after a broken pipe = %d, printing %q; want 141, nothing", code, stderr.String())
	}
	// Any other error of the writer leaves the run alone.
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	defer cancel2(nil)
	(pipeWriter{failWriter{}, cancel2}).Write([]byte("x"))
	if ctx2.Err() != nil {
		t.Errorf("a write error other than EPIPE ended the run: %v", context.Cause(ctx2))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestDirProblemUnreadable: a directory this user cannot read is said so
// (120), not found missing later in the guest.
// As root, who reads every directory, it runs itself again as nobody.
func TestDirProblemUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		asNobody(t, "TestDirProblemUnreadable")
		return
	}
	dir := filepath.Join(t.TempDir(), "closed")
	if err := os.Mkdir(dir, 0); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dir, 0o700)
	if got := dirProblem(dir); !strings.Contains(got, "cannot be read: permission denied") {
		t.Errorf("dirProblem(a mode 000 directory) = %q, want it cannot be read", got)
	}
	if got := dirProblem(t.TempDir()); got != "" {
		t.Errorf("dirProblem(a readable directory) = %q, want none", got)
	}
}

// TestPanicDevice reads the real module trees: Debian's x86_64 kernels
// have pvpanic_mmio as a module, arm64's 6.1 has no pvpanic at all.
func TestPanicDevice(t *testing.T) {
	want := map[string]string{"6.1": "pvpanic_mmio", "6.12": "pvpanic_mmio", "arm64-6.1": ""}
	for _, name := range testenv.KernelNames() {
		k := testenv.NeedKernel(t, name)
		tree, err := initrd.ReadTree(k.Modules)
		if err != nil {
			t.Fatal(err)
		}
		dev, module := panicDevice(k.Arch, tree)
		if dev != (want[name] != "") || module != want[name] {
			t.Errorf("panicDevice(%s, %s) = %v, %q; want the device with module %q", k.Arch, name, dev, module, want[name])
		}
	}
	if dev, module := panicDevice("x86_64", nil); dev || module != "" {
		t.Errorf("panicDevice without a module tree = %v, %q; want none", dev, module)
	}
}

// asNobody runs the test named test in a copy of this test binary as user
// and group 65534 (nobody), where root's privileges would make it pass
// for the wrong reason, and fails t when it fails. The copy lies in a
// directory nobody may enter (go test's own is root's alone).
func asNobody(t *testing.T, test string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "chrootvm-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "chrootvm.test")
	data, err := os.ReadFile(exe)
	if err == nil {
		err = os.WriteFile(bin, data, 0o755)
	}
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+test+"$", "-test.v")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+test) {
		t.Errorf("%s as nobody: %v\n%s", test, err, out)
	}
}
