package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The supervised run is tested in a re-executed test binary that is PID 1
// of new user, mount and PID namespaces: supervise runs a real program
// with the host's /bin/sh, and its power-off at the end is reboot(2) in a
// PID namespace, which ends that namespace's init with SIGINT instead of
// the machine (kernel/pid_namespace.c, reboot_pid_ns). The status record
// and the program's stdio are files of the test's directory.
const superviseEnv = "VIRTINIT_TEST_SUPERVISE"

type superviseCase struct {
	name   string
	init   string   // the program; a name is looked up in PATH
	args   []string // its arguments
	stdin  string
	status string // the record, with DIR for the test's directory
	stdout string
	ctty   bool   // stdio on a pseudo-terminal that becomes the controlling terminal
	ask    string // the program is this test binary, asking as askChild says
}

var superviseCases = []superviseCase{
	// stdin reaches the program, then end of file (cat ends); the
	// program's exit status is the record.
	{name: "exit", init: "/bin/sh", args: []string{"-c", `read x; echo "got:$x"; cat; echo err >&2; exit 3`},
		stdin: "line1\nrest\x00\xff", status: "start\nexit 3\n", stdout: "got:line1\nrest\x00\xff"},
	{name: "exit0", init: "sh", args: []string{"-c", "exit 0"}, status: "start\nexit 0\n"},
	// A program that kills itself with a signal, which PID 1 could not.
	{name: "signal", init: "/bin/sh", args: []string{"-c", "kill -9 $$"}, status: "start\nsignal 9\n"},
	{name: "enoent", init: "DIR/missing", status: "exec 2 exec DIR/missing: no such file or directory\n"},
	{name: "eacces", init: "DIR/notexec", status: "exec 13 exec DIR/notexec: permission denied\n"},
	{name: "enoexec", init: "DIR/junk", status: "exec 8 exec DIR/junk: exec format error\n"},
	{name: "notinpath", init: "virtinit-no-such-program", status: `exec 2 init program "virtinit-no-such-program" not found in the new root's PATH` + "\n"},
	// An orphan that ends while the program runs is reaped, and its
	// status is not taken for the program's.
	{name: "orphan-reaped", init: "/bin/sh", args: []string{"-c", "(sh -c 'exit 9' &); sleep 0.2; exit 6"}, status: "start\nexit 6\n"},
	// An orphan still running when the program ends is killed: without
	// the kill, the end would wait for it (rd.timeout is 600 s here, the
	// test gives up after 60).
	{name: "orphan-killed", init: "/bin/sh", args: []string{"-c", "sleep 1000 & exit 4"}, status: "start\nexit 4\n"},
	// The program leads a new session whose controlling terminal is its
	// stdin.
	{name: "ctty", init: "/bin/sh", args: []string{"-c", `read pid comm state ppid pgrp sid tty rest </proc/self/stat; [ "$sid" = "$pid" ] && [ "$tty" != 0 ] && [ -t 0 ]`},
		status: "start\nexit 0\n", ctty: true},
	{name: "no-ctty", init: "/bin/sh", args: []string{"-c", `read pid comm state ppid pgrp sid tty rest </proc/self/stat; [ "$sid" = "$pid" ] && [ "$tty" = 0 ]`},
		status: "start\nexit 0\n"},
	// The soft limit of open files is the kernel's for init, not the
	// one package syscall raised for /init itself.
	{name: "nofile", init: "/bin/sh", args: []string{"-c", `[ "$(ulimit -Sn)" = 1024 ] || { ulimit -Sn; exit 1; }`}, status: "start\nexit 0\n"},
	// A record is one line.
	{name: "newline", init: "DIR/two\nlines", status: "exec 2 exec DIR/two lines: no such file or directory\n"},
	// /init survives every signal a program can send it (the Go
	// runtime's handlers would end it for most): the program's own
	// status comes after them. SIGTERM is a shutdown request, below.
	{name: "signals-survived", init: "/bin/sh", args: []string{"-c", `for s in 1 2 3 4 5 6 7 8 10 11 12 13 14 16 17 18 20 21 22 23 24 25 26 27 28 29 30 31 34 50 64; do
		[ "$s" = 10 ] || [ "$s" = 12 ] || kill -$s 1 || exit 1
	done; kill -9 1; kill -19 1; exit 5`}, status: "start\nexit 5\n"},
	// busybox's poweroff, halt and reboot without -f signal PID 1.
	{name: "poweroff-signal", init: "/bin/sh", args: []string{"-c", "kill -USR2 1; sleep 100; exit 3"}, status: "start\nshutdown poweroff\n"},
	{name: "halt-signal", init: "/bin/sh", args: []string{"-c", "kill -USR1 1; sleep 100; exit 3"}, status: "start\nshutdown halt\n"},
	{name: "reboot-signal", init: "/bin/sh", args: []string{"-c", "kill -TERM 1; sleep 100; exit 3"}, status: "start\nshutdown reboot\n"},
	// An orphan asks, after the program has ended: the program's end
	// came first. (The request is answered or the orphan killed.)
	{name: "request-after-exit", init: "/bin/sh", args: []string{"-c", "(sleep 0.3; kill -USR2 1) & exit 2"}, status: "start\nexit 2\n"},
	// With -f they call reboot(2), here from this test binary, as
	// tgkill and rt_sigqueueinfo send the signals.
	{name: "poweroff-f", ask: "reboot 4321fedc", status: "start\nshutdown poweroff\n"},
	{name: "halt-f", ask: "reboot cdef0123", status: "start\nshutdown halt\n"},
	{name: "reboot-f", ask: "reboot 01234567", status: "start\nshutdown reboot\n"},
	{name: "reboot2", ask: "reboot a1b2c3d4", status: "start\nshutdown reboot\n"},
	{name: "tgkill", ask: "tgkill 12", status: "start\nshutdown poweroff\n"},
	{name: "sigqueue", ask: "sigqueue 10", status: "start\nshutdown halt\n"},
	// Not requests: Ctrl-Alt-Del's setting goes on to the kernel
	// (EINVAL in a PID namespace: exit 22), as does a request of a
	// process without the capability the call needs (EPERM from the
	// kernel: exit 1) or of another PID namespace, whose PID 1 is its
	// own (kill succeeds there: exit 0).
	{name: "cad-off", ask: "reboot 0", status: "start\nexit 22\n"},
	{name: "reboot-nocap", ask: "nocap reboot 4321fedc", status: "start\nexit 1\n"},
	{name: "kill-nocap", ask: "nocap kill 12", status: "start\nexit 0\n"},
	{name: "other-pidns", init: "unshare", args: []string{"--pid", "--fork", "/bin/sh", "-c", "kill -USR2 1; kill -TERM 1; exit 6"}, status: "start\nexit 6\n"},
}

func TestSupervise(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		skipOrFail(t, "no /bin/sh to supervise: %v", err)
	}
	for _, tt := range superviseCases {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "stdin"), []byte(tt.stdin), 0o644)
			os.WriteFile(filepath.Join(dir, "notexec"), []byte("#!/bin/sh\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "junk"), []byte("\x00\x01junk"), 0o755)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, "/proc/self/exe", "-test.run=^$")
			cmd.Env = append(os.Environ(), superviseEnv+"="+tt.name, "VIRTINIT_TEST_DIR="+dir)
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID,
				UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
				GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
			}
			out, err := cmd.CombinedOutput()
			if err != nil && isNamespaceDenied(err) {
				skipOrFail(t, "cannot create user, mount and PID namespaces here (%v): the supervised run is not tested", err)
			}
			if ctx.Err() != nil {
				t.Fatalf("the supervised run did not end within 60 s (an orphan not killed?):\n%s", out)
			}
			// The end is a power-off: in a PID namespace, its init ends
			// with SIGINT.
			var ee *exec.ExitError
			if !errorsAs(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
				t.Fatalf("namespace init ended with %v, want the power-off's SIGINT:\n%s", err, out)
			}
			status, _ := os.ReadFile(filepath.Join(dir, "status"))
			if want := strings.ReplaceAll(tt.status, "DIR", dir); string(status) != want {
				t.Errorf("status record %q, want %q\n%s", status, want, out)
			}
			stdout, _ := os.ReadFile(filepath.Join(dir, "stdout"))
			if string(stdout) != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout, tt.stdout)
			}
			if tt.name == "exit" {
				if stderr, _ := os.ReadFile(filepath.Join(dir, "stderr")); string(stderr) != "err\n" {
					t.Errorf("stderr %q, want %q", stderr, "err\n")
				}
			}
		})
	}
}

func errorsAs(err error, ee **exec.ExitError) bool {
	e, ok := err.(*exec.ExitError)
	*ee = e
	return ok
}

// superviseChild runs one case of superviseCases as PID 1 of its
// namespaces, with the files of VIRTINIT_TEST_DIR as the ports.
func superviseChild(name string) {
	dir := os.Getenv("VIRTINIT_TEST_DIR")
	var tt superviseCase
	for _, c := range superviseCases {
		if c.name == name {
			tt = c
		}
	}
	// /proc of this PID namespace: /init reads a requester's
	// namespaces and capabilities there. The mount stays in this mount
	// namespace, a slave of the host's.
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		os.Stderr.WriteString("mount /proc: " + err.Error() + "\n")
		os.Exit(1)
	}
	c := defaultConfig()
	c.supervise, c.timeout = "ports", 600
	c.init, c.args = strings.ReplaceAll(tt.init, "DIR", dir), tt.args
	c.env = []string{"PATH=/usr/bin:/bin"}
	if tt.ask != "" {
		c.init, _ = os.Executable()
		c.env = append(c.env, askEnv+"="+tt.ask)
	}
	openFile := func(name string, flags int) int {
		fd, err := unix.Open(filepath.Join(dir, name), flags|unix.O_CLOEXEC, 0o644)
		if err != nil {
			os.Stderr.WriteString("open " + name + ": " + err.Error() + "\n")
			os.Exit(1)
		}
		return fd
	}
	statusFD = openFile("status", unix.O_WRONLY|unix.O_CREAT)
	progStdio.fds = [3]int{openFile("stdin", unix.O_RDONLY), openFile("stdout", unix.O_WRONLY|unix.O_CREAT), openFile("stderr", unix.O_WRONLY|unix.O_CREAT)}
	if tt.ctty {
		master := openFile("../../../../../../../../../dev/ptmx", unix.O_RDWR|unix.O_NOCTTY)
		if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
			os.Stderr.WriteString("unlock pty: " + err.Error() + "\n")
			os.Exit(1)
		}
		n, err := unix.IoctlGetInt(master, unix.TIOCGPTN)
		if err != nil {
			os.Stderr.WriteString("pty number: " + err.Error() + "\n")
			os.Exit(1)
		}
		tty := openFile("../../../../../../../../../dev/pts/"+itoa(int64(n)), unix.O_RDWR|unix.O_NOCTTY)
		progStdio = stdio{fds: [3]int{tty, tty, tty}, ctty: true}
	}
	supervise(c)
}
