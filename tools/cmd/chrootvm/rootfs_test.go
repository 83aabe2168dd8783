package main

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"virtinit/tools/internal/vm"
)

// tree makes files, directories and links under root from a compact
// description: "d" a directory, "f" a file, "x" an executable file,
// "l:TARGET" a symbolic link.
func tree(t *testing.T, root string, entries map[string]string) {
	t.Helper()
	for name, kind := range entries {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case kind == "d":
			err = os.MkdirAll(p, 0o755)
		case kind == "f":
			err = os.WriteFile(p, []byte(name), 0o644)
		case kind == "x":
			err = os.WriteFile(p, []byte(name), 0o755)
		case len(kind) > 2 && kind[:2] == "l:":
			err = os.Symlink(kind[2:], p)
		default:
			t.Fatalf("bad kind %q", kind)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	outside := t.TempDir()
	tree(t, root, map[string]string{
		"usr/bin/busybox": "x",
		"bin":             "l:usr/bin",
		"usr/bin/sh":      "l:/usr/bin/busybox",
		"usr/bin/up":      "l:../../../../usr/bin/busybox",
		"etc/escape":      "l:" + outside,
		"loop/a":          "l:b",
		"loop/b":          "l:a",
	})
	tests := []struct {
		name, want string
	}{
		{"/bin/sh", "usr/bin/busybox"},
		{"bin/sh", "usr/bin/busybox"},
		{"/usr/bin/up", "usr/bin/busybox"},
		{"/../../usr/bin/busybox", "usr/bin/busybox"},
		{"/", ""},
	}
	for _, tt := range tests {
		got, err := resolveIn(root, tt.name)
		if want := filepath.Join(root, tt.want); got != want || err != nil {
			t.Errorf("resolveIn(root, %q) = %q, %v; want %q", tt.name, got, err, want)
		}
	}
	if _, err := resolveIn(root, "/loop/a"); !errors.Is(err, errLoop) {
		t.Errorf("resolveIn(root, /loop/a) = %v, want a loop error", err)
	}
	// An absolute target is taken inside root, where this one is not.
	if got, err := resolveIn(root, "/etc/escape"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("resolveIn(root, /etc/escape) = %q, %v; want not found", got, err)
	}
}

// TestFindProgramInShare: a program under /run/mnt/TAG/ is looked up in
// the host directory shared as TAG, not in ROOTFS.
func TestFindProgramInShare(t *testing.T) {
	root, share := t.TempDir(), t.TempDir()
	tree(t, share, map[string]string{"build.sh": "x", "notes": "f", "sub/run": "x"})
	shares := []vm.Share{{Tag: "other", Path: root}, {Tag: "s", Path: share}}
	for _, p := range []string{"/run/mnt/s/build.sh", "/run/mnt/s/sub/run", "run/mnt/s/./build.sh"} {
		want := path.Clean("/" + p)
		if got, err := findProgram(root, p, shares); got != want || err != nil {
			t.Errorf("findProgram(%q) = %q, %v; want %q", p, got, err, want)
		}
	}
	// Links resolve as in the guest: out of the share into ROOTFS, from
	// ROOTFS into the share; ROOTFS's own /run is hidden by /init's.
	tree(t, root, map[string]string{"bin/echo": "x", "run/mnt/s/ghost": "x"})
	for link, target := range map[string]string{
		share + "/abs": "/bin/echo", share + "/rel": "../../../bin/echo", share + "/loop": "loop",
		root + "/bin/tool": "/run/mnt/s/build.sh",
	} {
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"/run/mnt/s/abs", "/run/mnt/s/rel", "/bin/tool", "tool"} {
		want := path.Clean("/" + p)
		if p == "tool" {
			want = "/bin/tool"
		}
		if got, err := findProgram(root, p, shares); got != want || err != nil {
			t.Errorf("findProgram(%q) through a link = %q, %v; want %q", p, got, err, want)
		}
	}
	bad := []struct {
		program string
		code    int
		msg     string
	}{
		{"/run/mnt/s/nosuch", exitNotFound, "program /run/mnt/s/nosuch not found in share s"},
		{"/run/mnt/s/loop", exitNotFound, "not found in share s"},
		{"/run/mnt/s/ghost", exitNotFound, "not found in share s"},
		{"/run/mnt/s/notes", exitNotExecutable, "not executable"},
		{"/run/mnt/t/build.sh", exitNotFound, "no share has the tag t"},
	}
	for _, tt := range bad {
		_, err := findProgram(root, tt.program, shares)
		if exitStatus(outcome{err: err}) != tt.code || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("findProgram(%q) = %v, want status %d and %q", tt.program, err, tt.code, tt.msg)
		}
	}
}

func TestFindProgram(t *testing.T) {
	root := t.TempDir()
	tree(t, root, map[string]string{
		"usr/bin/busybox":      "x",
		"bin":                  "l:usr/bin",
		"usr/bin/sh":           "l:/usr/bin/busybox",
		"usr/local/bin/tool":   "x",
		"usr/bin/tool":         "x",
		"usr/sbin/plain":       "f",
		"usr/bin/plain":        "f",
		"usr/bin/dir":          "d",
		"opt/app/run":          "x",
		"usr/bin/dangling":     "l:/nowhere",
		"usr/sbin/onlyplain":   "f",
		"usr/local/sbin/later": "f",
		"usr/bin/later":        "x",
	})
	tests := []struct {
		program, want string
	}{
		{"", "/bin/sh"},
		{"sh", "/usr/bin/sh"},
		{"busybox", "/usr/bin/busybox"},
		{"tool", "/usr/local/bin/tool"},
		{"later", "/usr/bin/later"}, // a non-executable earlier in the search does not stop it
		{"/bin/sh", "/bin/sh"},      // the name is kept: busybox needs it
		{"opt/app/run", "/opt/app/run"},
		{"./opt/app/../app/run", "/opt/app/run"},
	}
	for _, tt := range tests {
		if got, err := findProgram(root, tt.program, nil); got != tt.want || err != nil {
			t.Errorf("findProgram(root, %q) = %q, %v; want %q", tt.program, got, err, tt.want)
		}
	}
	bad := []struct {
		program string
		code    int
	}{
		{"nosuch", exitNotFound},
		{"/nosuch", exitNotFound},
		{"dir", exitNotFound},
		{"dangling", exitNotFound},
		{"plain", exitNotExecutable},
		{"onlyplain", exitNotExecutable},
		{"/usr/bin/plain", exitNotExecutable},
	}
	for _, tt := range bad {
		_, err := findProgram(root, tt.program, nil)
		if err == nil || exitStatus(outcome{err: err}) != tt.code {
			t.Errorf("findProgram(root, %q) = %v, want a program error with status %d", tt.program, err, tt.code)
		}
	}
}
