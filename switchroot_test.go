package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// The deletion walk needs to be PID 1 on a tmpfs: the test re-executes
// itself inside new mount and PID namespaces, where it is PID 1 and may
// mount a tmpfs of its own; as an ordinary user, in a new user namespace
// too, which gives it the privilege. Nothing is mounted in the host's
// namespace.
const nsChildEnv = "VIRTINIT_TEST_NS_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(nsChildEnv); dir != "" {
		os.Exit(nsChild(dir))
	}
	if scenario := os.Getenv(superviseEnv); scenario != "" {
		superviseChild(scenario) // never returns
	}
	if ask := os.Getenv(askEnv); ask != "" {
		os.Exit(askChild(ask))
	}
	os.Exit(m.Run())
}

func TestRemoveInitramfs(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("/proc/self/exe", "-test.run=^$")
	cmd.Env = append(os.Environ(), nsChildEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWPID}
	what := "mount and PID namespaces"
	if os.Getuid() != 0 {
		// Root may mount already; anyone else gets the privilege
		// inside a user namespace of its own.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWUSER
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		what = "user, mount and PID namespaces"
	}
	out, err := cmd.CombinedOutput()
	if err != nil && isNamespaceDenied(err) {
		skipOrFail(t, "cannot create %s here (%v): the deletion walk is not tested", what, err)
	}
	if err != nil {
		t.Fatalf("namespace child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "child done") {
		t.Fatalf("namespace child did not finish:\n%s", out)
	}
	for _, want := range []string{
		"initrd: " + dir + "/api/a: options mode=0700,virtinit-no-such-option rejected, mounting without them\n",
		"initrd: mount virtinit-no-such-fs on " + dir + "/api/b: no such device\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("mountAll output lacks %q:\n%s", want, out)
		}
	}
}

// skipOrFail skips a test whose privileged part cannot run here, saying
// why, or fails it under VIRTINIT_REQUIRE_VM=1 (make check and CI, where
// everything must run), as tools/internal/testenv.Missing does for the
// tools module, which this module cannot import.
func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("VIRTINIT_REQUIRE_VM") == "1" {
		t.Fatalf(format+" (VIRTINIT_REQUIRE_VM=1: everything must run)", args...)
	}
	t.Skipf(format, args...)
}

func isNamespaceDenied(err error) bool {
	return strings.Contains(err.Error(), "operation not permitted") ||
		strings.Contains(err.Error(), "invalid argument") ||
		strings.Contains(err.Error(), "no space left")
}

func TestRemoveInitramfsRefusesNonPID1(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err := removeInitramfs(dir)
	if err == nil || !strings.Contains(err.Error(), "not PID 1") {
		t.Errorf("removeInitramfs as pid %d = %v, want a refusal", os.Getpid(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keep")); err != nil {
		t.Errorf("removeInitramfs refused but %s/keep is gone: %v", dir, err)
	}
}

// nsChild runs as PID 1 of its namespaces and returns the exit status.
func nsChild(dir string) int {
	fail := func(format string, args ...any) int {
		os.Stderr.WriteString("FAIL: " + fmt.Sprintf(format, args...) + "\n")
		return 1
	}
	if os.Getpid() != 1 {
		return fail("child is pid %d, want 1", os.Getpid())
	}
	// Keep every mount of this test inside its own namespace.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fail("make / private: %v", err)
	}
	root := filepath.Join(dir, "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fail("setup: %v", err)
	}
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, ""); err != nil {
		return fail("mount tmpfs: %v", err)
	}
	// The tree to delete: files, nested directories, a symlink to a
	// directory outside, a fifo, a read-only file, and two mount points.
	outside := filepath.Join(dir, "outside")
	var setup []error
	try := func(err error) { setup = append(setup, err) }
	try(os.MkdirAll(outside, 0o755))
	try(os.WriteFile(filepath.Join(outside, "precious"), []byte("x"), 0o644))
	for _, d := range []string{"a/b/c/d", "empty", "mnt", "proc", "usr/lib/modules"} {
		try(os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	try(os.WriteFile(filepath.Join(root, "init"), make([]byte, 1<<20), 0o755))
	try(os.WriteFile(filepath.Join(root, "a/b/c/d/file"), []byte("x"), 0o444))
	try(os.WriteFile(filepath.Join(root, "usr/lib/modules/001-fuse.ko"), []byte("x"), 0o644))
	try(os.Symlink(outside, filepath.Join(root, "link")))
	try(unix.Mkfifo(filepath.Join(root, "a/fifo"), 0o600))
	try(unix.Mount("tmpfs", filepath.Join(root, "mnt"), "tmpfs", 0, ""))
	try(os.WriteFile(filepath.Join(root, "mnt/keep"), []byte("x"), 0o644))
	try(unix.Mount("proc", filepath.Join(root, "proc"), "proc", 0, ""))
	if err := errors.Join(setup...); err != nil {
		return fail("setup: %v", err)
	}

	if msg := testMountAll(dir); msg != "" {
		return fail("%s", msg)
	}

	// A root that is neither ramfs nor tmpfs is refused, untouched.
	if err := removeInitramfs(filepath.Join(root, "proc")); err == nil || !strings.Contains(err.Error(), "not an initramfs") {
		return fail("removeInitramfs(proc) = %v, want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(root, "proc/self")); err != nil {
		return fail("proc was touched: %v", err)
	}

	if err := removeInitramfs(root); err != nil {
		return fail("removeInitramfs(%s) = %v", root, err)
	}
	names, _ := readDirNames(root)
	sort.Strings(names)
	if got := strings.Join(names, " "); got != "mnt proc" {
		return fail("after removeInitramfs %s holds %q, want only the mount points \"mnt proc\"", root, got)
	}
	if _, err := os.Stat(filepath.Join(root, "mnt/keep")); err != nil {
		return fail("file under a mount point was deleted: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "precious")); err != nil {
		return fail("file behind a symlink was deleted: %v", err)
	}
	// The memory is given back: the tmpfs holds no blocks beyond the
	// two directories left.
	var fs unix.Statfs_t
	if err := unix.Statfs(root, &fs); err != nil {
		return fail("statfs: %v", err)
	}
	if fs.Blocks > 0 && fs.Blocks-fs.Bfree > 2 {
		return fail("tmpfs still uses %d blocks after removal", fs.Blocks-fs.Bfree)
	}
	os.Stdout.WriteString("child done\n")
	return 0
}

// testMountAll runs mountAll on a table of tmpfs mounts below dir: options
// the kernel rejects are dropped (the mount happens without them, so /a
// gets tmpfs's default mode), an optional mount that fails is skipped, and
// a fatal one that fails stops the table there. The parent test checks the
// warnings on the output.
func testMountAll(dir string) string {
	d := filepath.Join(dir, "api")
	table := []apiMount{
		{"tmpfs", d + "/a", unix.MS_NOSUID, "mode=0700,virtinit-no-such-option", true},
		{"virtinit-no-such-fs", d + "/b", 0, "", false},
		{"tmpfs", d + "/c/d", unix.MS_NODEV, "mode=0711", true},
		{"virtinit-no-such-fs", d + "/e", 0, "", true},
		{"tmpfs", d + "/f", 0, "", true},
	}
	err := mountAll(table)
	if err == nil || !strings.Contains(err.Error(), "mount virtinit-no-such-fs on "+d+"/e: no such device") {
		return fmt.Sprintf("mountAll = %v, want the fatal failure of %s/e", err, d)
	}
	var fs unix.Statfs_t
	for _, tt := range []struct {
		path    string
		mounted bool
		mode    uint32
	}{
		{d + "/a", true, 0o777}, {d + "/b", false, 0}, {d + "/c/d", true, 0o711}, {d + "/f", false, 0},
	} {
		// Not there at all (after the fatal failure) is not mounted.
		err := unix.Statfs(tt.path, &fs)
		if got := err == nil && fs.Type == unix.TMPFS_MAGIC; got != tt.mounted {
			return fmt.Sprintf("%s mounted = %v, want %v", tt.path, got, tt.mounted)
		}
		var st unix.Stat_t
		if err := unix.Stat(tt.path, &st); err == nil && tt.mounted && st.Mode&0o777 != tt.mode {
			return fmt.Sprintf("%s has mode %o, want %o (mounted without its options?)", tt.path, st.Mode&0o777, tt.mode)
		}
	}
	return ""
}
