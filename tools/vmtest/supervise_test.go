package vmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// The supervised run (rd.supervise) on real kernels, with the ports made
// by vm.Config.Ports: virtio_console is a module on 6.1 (the initrd
// brings it) and built in on 6.12. The status record is read from its
// port, never from the console.

// superviseBoot is one boot of a supervised run.
type superviseBoot struct {
	mode    string   // "ports", "tty" or "console"
	argv    []string // /init.argv
	rawArgv []byte   // /init.argv as it is, when set (argv must be nil)
	stdin   []byte   // virtinit.stdin (ports mode)
	cmdline string   // more words
	shares  []vm.Share
	ports   []string // the ports the host offers; nil: those of the mode
}

// superviseResult is what the host read from the ports.
type superviseResult struct {
	status, stdout, stderr, tty string
	res                         *vm.Result
}

var modePorts = map[string][]string{
	"ports":   {"virtinit.status", "virtinit.stdin", "virtinit.stdout", "virtinit.stderr"},
	"tty":     {"virtinit.status", "virtinit.tty"},
	"console": nil,
}

func bootSupervised(t *testing.T, k kernel, b superviseBoot) superviseResult {
	t.Helper()
	path := filepath.Join(t.TempDir(), "initrd")
	var extra []initrd.File
	if b.rawArgv != nil {
		extra = append(extra, initrd.File{Name: initrd.ArgvPath, Mode: 0o100644, Data: b.rawArgv})
	}
	if _, err := initrd.WriteFile(path, initrd.Options{
		Init:       k.guest.init,
		ModulesDir: k.modules,
		Modules:    []string{"virtio_console"}, // built in on 6.12: skipped
		Transport:  k.guest.transport,
		Argv:       b.argv,
		Extra:      extra,
	}); err != nil {
		t.Fatalf("initrd.WriteFile: %v", err)
	}
	var status, stdout, stderr, tty bytes.Buffer
	names := b.ports
	if names == nil {
		names = modePorts[b.mode]
	}
	var ports []vm.Port
	for _, n := range names {
		p := vm.Port{Name: n}
		switch n {
		case "virtinit.status":
			p.Out = &status
		case "virtinit.stdin":
			p.In = bytes.NewReader(b.stdin)
		case "virtinit.stdout":
			p.Out = &stdout
		case "virtinit.stderr":
			p.Out = &stderr
		case "virtinit.tty":
			// Not closed before the end: qemu drops the whole
			// connection of a socket chardev at the end of its input,
			// and the terminal's output with it. A terminal's end of
			// input is a ^D, not the port's.
			pr, pw := io.Pipe()
			go pw.Write(b.stdin)
			defer pw.Close()
			p.Console, p.In, p.Out = true, pr, &tty
		}
		ports = append(ports, p)
	}
	res := boot(t, machineConfig(k, vm.Config{
		Initrd:   path,
		Append:   "rootfs=rootfs rd.supervise=" + b.mode + " " + b.cmdline,
		Shares:   append([]vm.Share{{Tag: "rootfs", Path: k.guest.rootfs, ReadOnly: true}}, b.shares...),
		Ports:    ports,
		NoReboot: true,
		Ending:   vm.QemuExit{}, // the end is qemu's exit, whatever the console says
	}))
	if res.TimedOut {
		t.Errorf("the VM did not end within %v", bootTimeout)
	}
	if bytes.Contains(res.Output, []byte("Kernel panic")) {
		t.Errorf("the kernel panicked")
	}
	return superviseResult{status.String(), stdout.String(), stderr.String(), tty.String(), res}
}

// expectStatus checks the record.
func (r superviseResult) expectStatus(t *testing.T, want string) {
	t.Helper()
	if r.status != want {
		t.Errorf("status record %q, want %q", r.status, want)
	}
}

func TestSupervise(t *testing.T) {
	// A file with the execute bit that is neither ELF nor script.
	junk := t.TempDir()
	if err := os.WriteFile(filepath.Join(junk, "junk"), []byte("\x00\x01 not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	stdin := make([]byte, 256<<10)
	rand.Read(stdin)
	scenarios := []struct {
		name    string
		kernels []string
		run     func(*testing.T, kernel)
	}{
		// stdin byte for byte, then end of file (cat ends); stdout and
		// stderr apart and byte-exact; arguments with awkward bytes from
		// /init.argv; the status port's node removed; exit N.
		{"ports-exit", allKernels, func(t *testing.T, k kernel) {
			script := `cat; printf '%s|' "$@"; echo err >&2; echo "nofile $(ulimit -Sn)" >&2
for p in /sys/class/virtio-ports/*; do
  n=$(cat $p/name); [ -e /dev/${p##*/} ] && echo "node $n" >&2
done
exit 7`
			args := []string{"x\ny", `"q'`, "", "--", "init=/bad", "\xff\xfe"}
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: append([]string{"/bin/sh", "-c", script, "sh"}, args...), stdin: stdin})
			r.expectStatus(t, "start\nexit 7\n")
			if want := string(stdin) + strings.Join(args, "|") + "|"; r.stdout != want {
				t.Errorf("stdout: %d bytes, want %d (stdin, then the arguments); tail %q", len(r.stdout), len(want), tail(r.stdout))
			}
			if want := "err\nnofile 1024\nnode virtinit.stdin\nnode virtinit.stdout\nnode virtinit.stderr\n"; r.stderr != want {
				t.Errorf("stderr %q, want %q (init's limit of open files; the status port's node removed)", r.stderr, want)
			}
			if _, ok := initrdLine(r.res.Output, "program exited with status 7"); !ok {
				t.Errorf("no initrd: line on the console telling the status")
			}
		}},
		// A program that kills itself: as PID 1 the kernel would ignore it.
		{"ports-signal", allKernels, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: []string{"/bin/sh", "-c", "kill -9 $$"}})
			r.expectStatus(t, "start\nsignal 9\n")
		}},
		{"exec-enoent", allKernels, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: []string{"/bin/missing"}})
			r.expectStatus(t, "exec 2 exec /bin/missing: no such file or directory\n")
		}},
		{"exec-eacces", allKernels, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: []string{"/bin/notexec"}})
			r.expectStatus(t, "exec 13 exec /bin/notexec: permission denied\n")
		}},
		{"exec-enoexec", allKernels, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: []string{"/run/mnt/junk/junk"}, cmdline: "mount-ro=junk",
				shares: []vm.Share{{Tag: "junk", Path: junk, ReadOnly: true}}})
			r.expectStatus(t, "exec 8 exec /run/mnt/junk/junk: exec format error\n")
		}},
		// A share that does not mount, after the status port is open.
		{"fatal-share", allKernels, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: []string{"/bin/true"}, cmdline: "mount=nosuch rd.timeout=1"})
			if !strings.HasPrefix(r.status, `fatal virtiofs tag "nosuch" not found: `) || !strings.HasSuffix(r.status, "\n") || strings.Count(r.status, "\n") != 1 {
				t.Errorf("status record %q, want one line `fatal virtiofs tag \"nosuch\" not found: ...`", r.status)
			}
		}},
		// A malformed /init.argv, read once the status port is open.
		{"fatal-argv", []string{"6.12"}, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", rawArgv: []byte("/bin/true")})
			r.expectStatus(t, "fatal /init.argv: does not end in NUL\n")
		}},
		// A port of the mode missing: the status port is open already.
		{"fatal-missing-port", []string{"6.12"}, func(t *testing.T, k kernel) {
			r := bootSupervised(t, k, superviseBoot{mode: "ports", argv: []string{"/bin/true"}, cmdline: "rd.timeout=1",
				ports: []string{"virtinit.status", "virtinit.stdin", "other.port"}})
			want := `fatal virtio-serial port "virtinit.stdout" not found: the kernel has "virtinit.status" "virtinit.stdin" "other.port"` + "\n"
			if r.status != want {
				t.Errorf("status record %q, want %q", r.status, want)
			}
		}},
		// The tty mode: fds 0-2 and the controlling terminal are the
		// virtconsole port's hvc terminal.
		{"tty", allKernels, func(t *testing.T, k kernel) {
			script := `read pid comm state ppid pgrp sid tty rest </proc/self/stat
[ "$sid" = "$pid" ] && [ "$tty" != 0 ] && [ -t 0 ] && [ -t 1 ] && echo "ctty $(readlink /proc/self/fd/0)"
read line; echo "got $line"; exit 5`
			r := bootSupervised(t, k, superviseBoot{mode: "tty", argv: []string{"/bin/sh", "-c", script}, stdin: []byte("typed\n")})
			r.expectStatus(t, "start\nexit 5\n")
			if !strings.Contains(r.tty, "ctty /dev/hvc0") || !strings.Contains(r.tty, "got typed") {
				t.Errorf("tty output %q, want the controlling terminal /dev/hvc0 and the line typed", r.tty)
			}
		}},
		// /init.argv without rd.supervise: the default flow, the checker
		// as PID 1, with the file's program and arguments in place of
		// init= and the words after --.
		{"default-argv", []string{"6.1", "arm64-6.1"}, func(t *testing.T, k kernel) {
			args := []string{"with space", "", `"quoted"`, "--", "init=/x", "\xff"}
			var pl plan
			pl.add("pid1", "pid1")
			pl.add("argv", "argv", append([]string{"checker"}, args...)...)
			argv, err := contract.ArgvFile(append([]string{checkerInit}, args...))
			if err != nil {
				t.Fatal(err)
			}
			path := buildInitrd(t, k, initrd.File{Name: initrd.ArgvPath, Mode: 0o100644, Data: argv})
			res := standardBoot(t, k, path, k.guest.rootfs, &pl, "mount-ro=checker init=/bin/false -- ignored")
			expectChecks(t, res, &pl)
		}},
		// The console mode: the console's own terminal is the program's
		// controlling terminal; the status is told on the console only.
		{"console", allKernels, func(t *testing.T, k kernel) {
			script := `read pid comm state ppid pgrp sid tty rest </proc/self/stat
[ "$sid" = "$pid" ] && [ "$tty" != 0 ] && [ -t 0 ] && echo "CTTY $(readlink /proc/self/fd/0)"; exit 3`
			r := bootSupervised(t, k, superviseBoot{mode: "console", argv: []string{"/bin/sh", "-c", script}})
			if !bytes.Contains(r.res.Output, []byte("CTTY /dev/"+k.guest.console)) {
				t.Errorf("the program did not have /dev/%s as its controlling terminal", k.guest.console)
			}
			if _, ok := initrdLine(r.res.Output, "program exited with status 3"); !ok {
				t.Errorf("no `initrd: program exited with status 3` on the console")
			}
		}},
	}
	scenarios = append(scenarios, struct {
		name    string
		kernels []string
		run     func(*testing.T, kernel)
	}{"console-ctrl-c", allKernels, testConsoleCtrlC})
	for _, name := range kernelNames {
		for _, s := range scenarios {
			if !slices.Contains(s.kernels, name) {
				continue
			}
			t.Run(name+"/"+s.name, func(t *testing.T) {
				t.Parallel()
				_, k := need(t, name)
				s.run(t, k)
			})
		}
	}
}

func tail(s string) string {
	if len(s) > 80 {
		return s[len(s)-80:]
	}
	return s
}

// testConsoleCtrlC types Ctrl-C on the serial console once the program
// is running in console mode: the console's terminal is the program's
// controlling terminal, so its line discipline sends SIGINT to the
// program's process group (as PID 1's child, the program may die of it).
func testConsoleCtrlC(t *testing.T, k kernel) {
	path := filepath.Join(t.TempDir(), "initrd")
	if _, err := initrd.WriteFile(path, initrd.Options{
		Init:       k.guest.init,
		ModulesDir: k.modules,
		Transport:  k.guest.transport,
		Argv:       []string{"/bin/sh", "-c", "echo READY-FOR-CTRL-C; sleep 600; echo not interrupted"},
	}); err != nil {
		t.Fatalf("initrd.WriteFile: %v", err)
	}
	console := &markWriter{mark: []byte("READY-FOR-CTRL-C"), seen: make(chan struct{})}
	// An OS pipe: exec hands it to qemu as it is, where an io.Reader
	// would need a copying goroutine that Run waits for.
	keys, typist, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer keys.Close()
	defer typist.Close()
	go func() {
		select {
		case <-console.seen:
			typist.Write([]byte{0x03})
		case <-time.After(bootTimeout):
		}
	}()
	c := machineConfig(k, vm.Config{
		Initrd:   path,
		Append:   "rootfs=rootfs rd.supervise",
		Shares:   []vm.Share{{Tag: "rootfs", Path: k.guest.rootfs, ReadOnly: true}},
		NoReboot: true,
		Ending:   vm.QemuExit{},
		Console:  console,
		Stdin:    keys,
		Timeout:  bootTimeout,
	})
	bootSlots <- struct{}{}
	res, err := vm.Run(context.Background(), c)
	<-bootSlots
	if err != nil {
		t.Fatalf("vm.Run: %v", err)
	}
	out := console.bytes()
	if res.TimedOut {
		t.Errorf("the VM did not end within %v: Ctrl-C did not end the program", bootTimeout)
	}
	if _, ok := initrdLine(out, "program killed by signal 2"); !ok {
		t.Errorf("no `initrd: program killed by signal 2` on the console")
	}
	if bytes.Contains(out, []byte("not interrupted")) {
		t.Errorf("the program was not interrupted")
	}
	if t.Failed() {
		t.Logf("console:\n%s", out)
	}
}

// markWriter keeps what is written and closes seen once mark appears.
type markWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	mark []byte
	seen chan struct{}
	once sync.Once
}

func (w *markWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(w.buf.Bytes(), w.mark) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func (w *markWriter) bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.buf.Bytes())
}
