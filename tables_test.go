package main

import (
	"os/exec"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAPIMounts checks the table row by row: a swapped flag in a table
// nobody tests is a classic bug.
func TestAPIMounts(t *testing.T) {
	want := map[string]struct {
		fstype string
		flags  uintptr
		fatal  bool
	}{
		"/sys":           {"sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, true},
		"/dev":           {"devtmpfs", unix.MS_NOSUID, true},
		"/proc":          {"proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, true},
		"/run":           {"tmpfs", unix.MS_NOSUID | unix.MS_NODEV, true},
		"/tmp":           {"tmpfs", unix.MS_NOSUID | unix.MS_NODEV, false},
		"/dev/pts":       {"devpts", unix.MS_NOSUID | unix.MS_NOEXEC, false},
		"/dev/shm":       {"tmpfs", unix.MS_NOSUID | unix.MS_NODEV, false},
		"/sys/fs/cgroup": {"cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, false},
	}
	if len(apiMounts) != len(want) {
		t.Errorf("apiMounts has %d rows, want %d", len(apiMounts), len(want))
	}
	mounted := map[string]bool{"/": true}
	for _, m := range apiMounts {
		w, ok := want[m.target]
		if !ok {
			t.Errorf("apiMounts has unexpected %s", m.target)
			continue
		}
		if m.fstype != w.fstype || m.flags != w.flags || m.fatal != w.fatal {
			t.Errorf("apiMounts %s = %s %#x fatal=%v, want %s %#x fatal=%v", m.target, m.fstype, m.flags, m.fatal, w.fstype, w.flags, w.fatal)
		}
		// A mount point inside another mount must come after it.
		if !mounted[parentDir(m.target)] && parentDir(m.target) != "/sys/fs" {
			t.Errorf("apiMounts mounts %s before its parent %s", m.target, parentDir(m.target))
		}
		mounted[m.target] = true
	}
	for i, m := range apiMounts {
		for _, before := range apiMounts[i+1:] {
			if strings.HasPrefix(m.target, before.target+"/") {
				t.Errorf("apiMounts mounts %s before %s", m.target, before.target)
			}
		}
	}
	// Everything switchRoot moves must be mounted, and nothing else at
	// the top level: the rest would be left in the deleted initramfs.
	var top []string
	for _, m := range apiMounts {
		if parentDir(m.target) == "/" {
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

func TestDevNodes(t *testing.T) {
	want := map[string][3]uint32{ // mode, major, minor
		"/dev/console":      {unix.S_IFCHR | 0o600, 5, 1},
		"/dev/null":         {unix.S_IFCHR | 0o666, 1, 3},
		"/dev/ptmx":         {unix.S_IFCHR | 0o666, 5, 2},
		"/dev/kvm":          {unix.S_IFCHR | 0o666, 10, 232},
		"/dev/loop-control": {unix.S_IFCHR | 0o660, 10, 237},
		"/dev/fuse":         {unix.S_IFCHR | 0o666, 10, 229},
	}
	if len(devNodes) != len(want) {
		t.Errorf("devNodes has %d rows, want %d", len(devNodes), len(want))
	}
	for _, n := range devNodes {
		w, ok := want[n.path]
		if !ok {
			t.Errorf("devNodes has unexpected %s", n.path)
			continue
		}
		if got := [3]uint32{n.mode, n.major, n.minor}; got != w {
			t.Errorf("devNodes %s = %#o %d:%d, want %#o %d:%d", n.path, got[0], got[1], got[2], w[0], w[1], w[2])
		}
	}
	wantLinks := map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0",
		"/dev/stdout": "/proc/self/fd/1", "/dev/stderr": "/proc/self/fd/2",
	}
	if len(devLinks) != len(wantLinks) {
		t.Errorf("devLinks has %d rows, want %d", len(devLinks), len(wantLinks))
	}
	for _, l := range devLinks {
		if wantLinks[l.path] != l.target {
			t.Errorf("devLinks %s -> %s, want -> %q", l.path, l.target, wantLinks[l.path])
		}
	}
}

// allowedDeps are the packages the binary may link: golang.org/x/sys/unix
// and what it pulls in itself (measured with `go list -deps` on an empty
// main importing it: errors, io, iter, bytes, strings, strconv, reflect,
// sort, slices, cmp, math, math/bits, unicode, unicode/utf8, sync,
// sync/atomic, encoding/binary, time, syscall, runtime, unsafe and their
// internal/ packages). Anything else, fmt and os above all, breaks the
// size budget.
var allowedDeps = map[string]bool{
	"unsafe": true, "runtime": true, "errors": true, "sync": true, "sync/atomic": true,
	"io": true, "iter": true, "unicode": true, "unicode/utf8": true, "bytes": true,
	"math": true, "math/bits": true, "strconv": true, "reflect": true, "cmp": true,
	"slices": true, "encoding/binary": true, "sort": true, "strings": true,
	"syscall": true, "time": true, "golang.org/x/sys/unix": true, "virtinit": true,
}

func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.HasPrefix(p, "internal/") || strings.Contains(p, "/internal/") || strings.HasPrefix(p, "vendor/") {
			continue
		}
		if !allowedDeps[p] {
			t.Errorf("the binary depends on %s, which is not in the allow-list", p)
		}
	}
}

func TestItoaMsec(t *testing.T) {
	for _, tt := range []struct {
		us   int64
		want string
	}{{0, "0.000"}, {1, "0.001"}, {999, "0.999"}, {1000, "1.000"}, {1234567, "1234.567"}, {-5, "-0.005"}} {
		if got := msec(tt.us); got != tt.want {
			t.Errorf("msec(%d) = %q, want %q", tt.us, got, tt.want)
		}
	}
	for _, tt := range []struct {
		s  string
		v  int
		ok bool
	}{{"0", 0, true}, {"10", 10, true}, {"", 0, false}, {"-1", 0, false}, {"1x", 0, false}, {"9999999999", 0, false}} {
		if v, ok := atoi(tt.s); v != tt.v || ok != tt.ok {
			t.Errorf("atoi(%q) = %d, %v, want %d, %v", tt.s, v, ok, tt.v, tt.ok)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []struct {
		name string
		mode uint32
	}{{"tool", 0o755}, {"data", 0o644}} {
		fd, err := unix.Open(dir+"/"+f.name, unix.O_CREAT|unix.O_WRONLY, f.mode)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
	}
	unix.Mkdir(dir+"/sub", 0o755)
	env := "/nonexistent::" + dir
	if got, err := lookPath("tool", env); err != nil || got != dir+"/tool" {
		t.Errorf("lookPath(tool) = %q, %v, want %q", got, err, dir+"/tool")
	}
	for _, name := range []string{"data", "sub", "missing"} {
		if got, err := lookPath(name, env); err == nil {
			t.Errorf("lookPath(%q) = %q, want an error", name, got)
		}
	}
	if got, path := programEnv([]string{"A=1"}); len(got) != 2 || got[1] != defaultPath || "PATH="+path != defaultPath {
		t.Errorf("programEnv without PATH = %q, %q, want %q added", got, path, defaultPath)
	}
	if got, path := programEnv([]string{"PATH=/x"}); len(got) != 1 || path != "/x" {
		t.Errorf("programEnv with PATH = %q, %q, want it unchanged and /x", got, path)
	}
}

func parentDir(p string) string {
	i := len(p) - 1
	for i > 0 && p[i] != '/' {
		i--
	}
	if i <= 0 {
		return "/"
	}
	return p[:i]
}
