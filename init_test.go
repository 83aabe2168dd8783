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

// TestProgram checks the one resolution of the program both ways of
// starting it use: a path is taken as it is, a name is looked for in
// PATH, and a name not found is ENOENT for the status record.
func TestProgram(t *testing.T) {
	dir := t.TempDir()
	fd, err := unix.Open(dir+"/tool", unix.O_CREAT|unix.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	env := []string{"PATH=" + dir}
	for _, tc := range []struct {
		init, path string
		errno      unix.Errno
	}{
		{"tool", dir + "/tool", 0},
		{"/bin/anything", "/bin/anything", 0},
		{"missing", "", unix.ENOENT},
	} {
		path, _, errno, err := program(&config{init: tc.init, env: env})
		if path != tc.path || errno != tc.errno || (err != nil) != (tc.errno != 0) {
			t.Errorf("program(%q) = %q, %v, %v, want %q, %v", tc.init, path, errno, err, tc.path, tc.errno)
		}
	}
}

// TestPanicString checks that a panic's message reaches the fatal line,
// whether the runtime's (an error) or our own code's (a string).
func TestPanicString(t *testing.T) {
	for _, tc := range []struct {
		r    any
		want string
	}{
		{errorString("index out of range"), "index out of range"},
		{"unreachable step", "unreachable step"},
		{42, "panic"},
	} {
		if got := panicString(tc.r); got != tc.want {
			t.Errorf("panicString(%v) = %q, want %q", tc.r, got, tc.want)
		}
	}
}

// TestConsoleStdioKeepsPath checks that consoleStdio, failing to open
// the console's terminal, leaves consoleActive alone: a second call
// reads the list of consoles again, not the terminal's path.
func TestConsoleStdioKeepsPath(t *testing.T) {
	list := t.TempDir() + "/active"
	fd, err := unix.Open(list, unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	unix.Write(fd, []byte("virtinit-no-such-tty\n"))
	unix.Close(fd)
	defer func(old string) { consoleActive = old }(consoleActive)
	consoleActive = list
	if io := consoleStdio(); io.ctty || io.fds != [3]int{0, 1, 2} {
		t.Errorf("consoleStdio() = %+v, want /dev/console's fds without a terminal", io)
	}
	if consoleActive != list {
		t.Errorf("consoleStdio changed consoleActive to %q, want %q", consoleActive, list)
	}
}
