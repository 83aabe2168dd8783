package main

import (
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The tables are tested for the properties they must have, not copied:
// a copy would only show that the table equals itself.

// deviceFS are the API filesystems that hold device nodes.
var deviceFS = map[string]bool{"devtmpfs": true, "devpts": true}

// initNeeds are the paths /init itself and osbuild's program rely on: the
// command line, the console and kernel log, the shares' mount points, and
// the directory where osbuild finds its further virtiofs tags
// (docs/facts.md, "osbuild's build VM"). A mount they live on must be fatal,
// and a fatal mount must hold one of them: the boot stops only for what
// it cannot go on without.
var initNeeds = []string{cmdlinePath, "/dev/console", "/dev/kmsg", sharesDir + "/rootfs", virtiofsSysfs + "/x/tag"}

// osbuildNeeds are the filesystems osbuild's program needs inside the VM
// (docs/facts.md, "osbuild's build VM"): /run writable, /dev/shm for container tools, devpts for
// terminals, and cgroup v2, which newer container tools insist on.
var osbuildNeeds = map[string]string{"/run": "tmpfs", "/dev/shm": "tmpfs", "/dev/pts": "devpts", "/sys/fs/cgroup": "cgroup2"}

func TestAPIMounts(t *testing.T) {
	seen := map[string]bool{}
	for i, m := range apiMounts {
		if m.target == "" || m.target[0] != '/' || strings.HasSuffix(m.target, "/") || strings.Contains(m.target, "//") {
			t.Errorf("apiMounts %q: want a clean absolute path", m.target)
		}
		if seen[m.target] {
			t.Errorf("apiMounts mounts %s twice", m.target)
		}
		seen[m.target] = true
		// A mount point inside another mount must come after it.
		for _, later := range apiMounts[i+1:] {
			if strings.HasPrefix(m.target, later.target+"/") {
				t.Errorf("apiMounts mounts %s before %s, which it lies in", m.target, later.target)
			}
		}
		// No set-user-ID programs come from an API filesystem, and all
		// stay writable (programs write to /run, /tmp, sysfs, cgroupfs).
		if m.flags&unix.MS_NOSUID == 0 {
			t.Errorf("apiMounts %s lacks MS_NOSUID", m.target)
		}
		if m.flags&unix.MS_RDONLY != 0 {
			t.Errorf("apiMounts %s has MS_RDONLY", m.target)
		}
		// Device nodes work only where they belong.
		if got, want := m.flags&unix.MS_NODEV != 0, !deviceFS[m.fstype]; got != want {
			t.Errorf("apiMounts %s (%s) has MS_NODEV = %v, want %v", m.target, m.fstype, got, want)
		}
		// The kernel's pseudo-filesystems hold no programs; tmpfs is
		// scratch space where a build may write and run programs.
		if got, want := m.flags&unix.MS_NOEXEC != 0, m.fstype != "tmpfs" && m.fstype != "devtmpfs"; got != want {
			t.Errorf("apiMounts %s (%s) has MS_NOEXEC = %v, want %v", m.target, m.fstype, got, want)
		}
		// Anyone may write to a world-writable directory, so it must be
		// sticky: users cannot remove each other's files.
		if mode := optionValue(m.data, "mode"); len(mode) == 4 && strings.ContainsAny(mode[3:], "2367") && mode[0] != '1' {
			t.Errorf("apiMounts %s has mode=%s: world-writable without the sticky bit", m.target, mode)
		}
	}
	for _, p := range initNeeds {
		if m := mountOf(p); m == nil || !m.fatal {
			t.Errorf("%s is needed, but the mount it lies on (%v) is not fatal", p, m)
		}
	}
	for _, m := range apiMounts {
		if !m.fatal {
			continue
		}
		needed := false
		for _, p := range initNeeds {
			needed = needed || mountOf(p).target == m.target
		}
		if !needed {
			t.Errorf("apiMounts %s is fatal, but nothing /init or osbuild needs lies on it", m.target)
		}
	}
	for target, fstype := range osbuildNeeds {
		if m := mountOf(target + "/x"); m == nil || m.target != target || m.fstype != fstype {
			t.Errorf("osbuild needs %s at %s; apiMounts has %v", fstype, target, m)
		}
	}
	// Everything switchRoot moves must be mounted, and nothing else at
	// the top level: the rest would be left in the deleted initramfs.
	var top []string
	for _, m := range apiMounts {
		if strings.LastIndexByte(m.target, '/') == 0 {
			top = append(top, m.target)
		}
	}
	moved := append([]string(nil), movedMounts...)
	sort.Strings(top)
	sort.Strings(moved)
	if strings.Join(top, " ") != strings.Join(moved, " ") {
		t.Errorf("top-level mounts %q, switchRoot moves %q", top, moved)
	}
}

// mountOf returns the row of apiMounts that path lies on, the deepest.
func mountOf(path string) *apiMount {
	var best *apiMount
	for i, m := range apiMounts {
		if strings.HasPrefix(path, m.target+"/") && (best == nil || len(m.target) > len(best.target)) {
			best = &apiMounts[i]
		}
	}
	return best
}

// optionValue returns the value of key in a mount option string.
func optionValue(data, key string) string {
	for _, o := range strings.Split(data, ",") {
		if k, v, ok := strings.Cut(o, "="); ok && k == key {
			return v
		}
	}
	return ""
}

// TestDevNodes checks the nodes and links against the host's own /dev,
// where the host has them: its kernel made those nodes, so their numbers
// are the kernel's, not a second copy of ours.
func TestDevNodes(t *testing.T) {
	paths, numbers, compared := map[string]bool{}, map[uint64]string{}, 0
	for _, n := range devNodes {
		if !strings.HasPrefix(n.path, "/dev/") || paths[n.path] {
			t.Errorf("devNodes %s: want a unique path in /dev", n.path)
		}
		paths[n.path] = true
		if n.mode&unix.S_IFMT != unix.S_IFCHR {
			t.Errorf("devNodes %s has type %#o, want a character device", n.path, n.mode&unix.S_IFMT)
		}
		dev := unix.Mkdev(n.major, n.minor)
		if other, ok := numbers[dev]; ok {
			t.Errorf("devNodes %s and %s are both %d:%d", n.path, other, n.major, n.minor)
		}
		numbers[dev] = n.path
		var st unix.Stat_t
		if err := unix.Stat(n.path, &st); err != nil {
			continue // the host lacks it
		}
		compared++
		if st.Mode&unix.S_IFMT != n.mode&unix.S_IFMT || st.Rdev != dev {
			t.Errorf("devNodes %s is %#o %d:%d, the host's is %#o %d:%d", n.path, n.mode&unix.S_IFMT, n.major, n.minor,
				st.Mode&unix.S_IFMT, unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
	}
	// What is typed on the console is for root alone.
	for _, n := range devNodes {
		if n.path == "/dev/console" && n.mode&0o077 != 0 {
			t.Errorf("devNodes /dev/console has mode %#o: others may read the console", n.mode&0o777)
		}
	}
	for _, l := range devLinks {
		if !strings.HasPrefix(l.path, "/dev/") || !strings.HasPrefix(l.target, "/proc/self/fd") {
			t.Errorf("devLinks %s -> %s: want a link in /dev to /proc/self/fd", l.path, l.target)
		}
		if target, err := os.Readlink(l.path); err == nil {
			compared++
			if target != l.target {
				t.Errorf("devLinks %s -> %s, the host's -> %s", l.path, l.target, target)
			}
		}
	}
	if compared == 0 {
		skipOrFail(t, "the host has none of the device nodes and links: nothing to compare them with")
	}
}

// TestDependencies keeps the binary small: main's own imports are
//
//   - unsafe: pointers handed to the kernel, by the rules that
//     pointers_test.go checks;
//   - runtime: runtime.KeepAlive after those calls, and LockOSThread
//     around spawn's fork (spawn.go);
//   - golang.org/x/sys/unix: the system call numbers, constants and
//     Syscall6.
//
// Anything more (strconv, strings, sort, time, fmt, os) costs kilobytes.
// And nothing beyond those reaches the binary: its dependencies are those
// of x/sys/unix and no more.
var ownImports = map[string]bool{"unsafe": true, "runtime": true, "golang.org/x/sys/unix": true}

func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list -f {{.Imports}}: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !ownImports[p] {
			t.Errorf("main imports %s, which is not in the allow-list", p)
		}
	}
	unixDeps, err := exec.Command("go", "list", "-deps", "golang.org/x/sys/unix").Output()
	if err != nil {
		t.Fatalf("go list -deps golang.org/x/sys/unix: %v", err)
	}
	allowed := map[string]bool{"virtinit": true}
	for _, p := range strings.Fields(string(unixDeps)) {
		allowed[p] = true
	}
	out, err = exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if !allowed[p] && !ownImports[p] {
			t.Errorf("the binary depends on %s, which x/sys/unix does not bring", p)
		}
	}
}

func TestParseConsoleLevel(t *testing.T) {
	for _, tt := range []struct {
		printk, ignore string
		want           int
	}{
		{"4\t4\t1\t7\n", "N\n", 4}, // quiet
		{"7\t4\t1\t7\n", "N\n", 7}, // the default
		{"10\t4\t1\t7\n", "", 10},  // debug
		{"7\t4\t1\t7\n", "Y\n", 8}, // ignore_loglevel: every level
		{"", "", 0},                // unknown: copy everything
		{"x", "N", 0},
	} {
		if got := parseConsoleLevel(tt.printk, tt.ignore); got != tt.want {
			t.Errorf("parseConsoleLevel(%q, %q) = %d, want %d", tt.printk, tt.ignore, got, tt.want)
		}
	}
}
