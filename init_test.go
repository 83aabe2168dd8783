package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

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
