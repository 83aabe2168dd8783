package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The ends of issue 17, with chrootvm, a busybox root and real kernels:
// whatever the program does to the guest (halts it, asks for a shutdown,
// signals PID 1, panics the kernel, leaves data the host cannot take) or
// the host does to qemu, the run ends at once and says what happened.

// TestChrootvmEnds runs one boot per case, on 6.12 (and on 6.1 and arm64
// where the kernel matters), with the C daemon and the Rust one where the
// daemon matters.
func TestChrootvmEnds(t *testing.T) {
	cases := []struct {
		name    string
		options []string
		program string // run by /bin/sh -c
		want    int
		stderr  string // a message chrootvm must print; "" for silence
		kernels []string
	}{
		// A halt, power-off or reboot asked for with -f (reboot(2)) or
		// through PID 1's signals (busybox without -f): status 0, the
		// program's own status (3) never comes.
		{"halt-f", nil, "halt -f; sleep 30; exit 3", 0, "", []string{"6.12", "6.1", "arm64-6.1"}},
		{"poweroff-f", nil, "poweroff -f; sleep 30; exit 3", 0, "", []string{"6.12"}},
		{"reboot-f", nil, "reboot -f; sleep 30; exit 3", 0, "", []string{"6.12"}},
		{"poweroff", nil, "poweroff; sleep 30; exit 3", 0, "", []string{"6.12", "arm64-6.1"}},
		{"halt", nil, "halt; sleep 30; exit 3", 0, "", []string{"6.12"}},
		{"reboot", nil, "reboot; sleep 30; exit 3", 0, "", []string{"6.12"}},
		// Every signal a program can send PID 1 (SIGTERM is reboot's):
		// /init survives them and reports the program's status.
		{"signals", nil, `for s in HUP INT QUIT ILL TRAP ABRT BUS FPE SEGV PIPE ALRM STKFLT CHLD CONT TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS 34 64 KILL STOP; do
			kill -$s 1 || exit 9
		done; sleep 1; exit 5`, 5, "", []string{"6.12", "6.1", "arm64-6.1"}},
		// The kernel panics while the program runs, told to wait
		// forever: qemu's pvpanic device ends the VM.
		{"panic-wait", nil, "echo 0 >/proc/sys/kernel/panic; echo c >/proc/sysrq-trigger; sleep 30", 118, "the kernel panicked", []string{"6.12", "6.1"}},
		{"panic", nil, "echo c >/proc/sysrq-trigger; sleep 30", 118, "the kernel panicked", []string{"arm64-6.1"}},
		// The kernel powers off by itself (sysrq o): no word from /init.
		// The kernel's OOM killer kills the program: 137, as SIGKILL,
		// and said.
		{"oom", []string{"--memory", "256M"}, "echo 1 >/proc/sys/vm/overcommit_memory; exec dd if=/dev/zero of=/dev/null bs=400M count=1", 137, "ran out of memory", []string{"6.12"}},
		{"sysrq-poweroff", nil, "echo o >/proc/sysrq-trigger; sleep 30", 118, "the guest died while the program ran", []string{"6.12"}},
	}
	for _, name := range kernelNames {
		for _, c := range cases {
			if !slices.Contains(c.kernels, name) {
				continue
			}
			t.Run(name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				p, k := need(t, name)
				k = withDaemon(t, k, daemonsOn(name)[0])
				bin := buildTool(t, p, "chrootvm")
				args := append(append(chrootvmArgs(k), c.options...), "--virtiofsd", k.fsd.path, "--timeout", "100", k.guest.rootfs, "/bin/sh", "-c", c.program)
				r := runChrootvmIO(t, bin, args, nil)
				if r.code != c.want {
					t.Errorf("exit status %d, want %d\nstderr:\n%s", r.code, c.want, r.stderr)
				}
				if c.stderr != "" && (!bytes.Contains(r.stderr, []byte("chrootvm: ")) || !bytes.Contains(r.stderr, []byte(c.stderr))) {
					t.Errorf("stderr lacks %q:\n%s", c.stderr, r.stderr)
				}
				if c.stderr == "" && bytes.Contains(r.stderr, []byte("chrootvm: ")) {
					t.Errorf("chrootvm said something:\n%s", r.stderr)
				}
			})
		}
	}
}

// TestChrootvmQemuKilled kills qemu while the program runs, with SIGTERM
// (which qemu handles: it exits 0) and with SIGKILL, and then the
// --mount share's virtiofsd with SIGTERM: not "did not boot", and the
// daemon that died is named (not every daemon as "exited: <nil>").
func TestChrootvmQemuKilled(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL, 0} {
		name := "qemu-" + strconv.Itoa(int(sig))
		if sig == 0 {
			name = "virtiofsd"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, k := need(t, "6.12")
			bin := buildTool(t, p, "chrootvm")
			bootSlots <- struct{}{}
			defer func() { <-bootSlots }()
			ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
			defer cancel()
			share := t.TempDir()
			cmd := exec.CommandContext(ctx, bin, append(chrootvmArgs(k), "--mount", "work", share, k.guest.rootfs, "/bin/sh", "-c", "echo running; sleep 100")...)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			if line != "running\n" {
				cmd.Wait()
				t.Fatalf("the program's first line %q, want running\nstderr:\n%s", line, stderr.Bytes())
			}
			victim, want := childNamed(cmd.Process.Pid, "qemu-system"), "signal "+strconv.Itoa(int(sig))
			if sig == 0 {
				// The second daemon: the --mount share's.
				victim, sig, want = nthDaemon(cmd.Process.Pid, 1), syscall.SIGTERM, "virtiofsd for work ("+share+") exited first"
			}
			if victim == 0 {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("no process to kill among chrootvm's children")
			}
			syscall.Kill(victim, sig)
			err = cmd.Wait()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 118 || !strings.Contains(stderr.String(), "the guest died while the program ran") || !strings.Contains(stderr.String(), want) {
				t.Errorf("exit status %d (%v), want 118 saying %q\nstderr:\n%s", code, err, want, stderr.Bytes())
			}
		})
	}
}

// nthDaemon returns the pid of the n-th (from 0) virtiofsd that descends
// from pid, in the order the daemons started (pids rise), or 0.
func nthDaemon(pid, n int) int {
	var found []int
	var walk func(int)
	walk = func(p int) {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		if strings.HasPrefix(string(comm), "virtiofsd") {
			found = append(found, p)
			return
		}
		tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(p) + "/task/*/children")
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			for _, c := range strings.Fields(string(b)) {
				child, _ := strconv.Atoi(c)
				walk(child)
			}
		}
	}
	walk(pid)
	slices.Sort(found)
	if n < len(found) {
		return found[n]
	}
	return 0
}

// childNamed returns the pid of a child of pid whose command starts with
// prefix, or 0.
func childNamed(pid int, prefix string) int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, c := range strings.Fields(string(b)) {
			comm, _ := os.ReadFile("/proc/" + c + "/comm")
			if strings.HasPrefix(string(comm), prefix) {
				n, _ := strconv.Atoi(c)
				return n
			}
		}
	}
	return 0
}

// TestChrootvmWritebackLost: a program maps 1 MiB of a file on a
// read-write share MAP_SHARED, writes it and exits without msync; the
// share is a 512 KiB tmpfs (mounted in a mount namespace of chrootvm's
// own, which its virtiofsd inherits), so the host cannot take it all.
// chrootvm must say so, naming the share, with status 117; with room
// enough the same program's data arrives and the status is 0.
func TestChrootvmWritebackLost(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to mount a small tmpfs in a mount namespace")
	}
	for _, name := range []string{"6.12"} {
		for _, dn := range daemonsOn(name) {
			t.Run(name+"/"+dn, func(t *testing.T) {
				t.Parallel()
				p, k := need(t, name)
				k = withDaemon(t, k, dn)
				bin := buildTool(t, p, "chrootvm")
				in, out := t.TempDir(), t.TempDir()
				checker, err := os.ReadFile(k.guest.checker)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(in, "checker"), checker, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, size := range []string{"512k", "4m"} {
					// With the C virtiofsd 512 KiB arrive, the rest is
					// zeros, and the guest's syncfs sees no error: the
					// daemon answers with a short count, which the
					// guest's write-back takes for success. chrootvm
					// then sees the share's filesystem full.
					args := append(chrootvmArgs(k), "--virtiofsd", k.fsd.path, "--mount-ro", "in", in, "--mount", "out", out,
						k.guest.rootfs, "/run/mnt/in/checker", "mmap-write", "/run/mnt/out/big", "1048576")
					script := `mount -t tmpfs -o size=` + size + ` lost "$1" && shift && exec "$@"`
					r := runChrootvmIO(t, "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", out, bin}, args...), nil)
					switch {
					case size == "512k" && (r.code != 117 || !bytes.Contains(r.stderr, []byte(out+" (tag out)"))):
						t.Errorf("a full share: exit status %d, want 117 with a message naming %s\nstderr:\n%s", r.code, out, r.stderr)
					case size == "512k" && !k.fsd.rust && !bytes.Contains(r.stderr, []byte("may have been lost")):
						t.Errorf("a full share with the C virtiofsd: the message does not say the data may have been lost\nstderr:\n%s", r.stderr)
					case size != "512k" && r.code != 0:
						t.Errorf("a share with room: exit status %d, want 0\nstderr:\n%s", r.code, r.stderr)
					}
				}
				// A share full before the run, which the program only
				// reads: nothing was written, nothing lost.
				args := append(chrootvmArgs(k), "--virtiofsd", k.fsd.path, "--mount", "out", out, k.guest.rootfs, "/bin/sh", "-c", "ls /run/mnt/out >/dev/null")
				script := `mount -t tmpfs -o size=512k lost "$1" && { cat /dev/zero >"$1/filler" 2>/dev/null; shift && exec "$@"; }`
				r := runChrootvmIO(t, "unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh", out, bin}, args...), nil)
				if r.code != 0 {
					t.Errorf("a share full before the run, only read: exit status %d, want 0\nstderr:\n%s", r.code, r.stderr)
				}
			})
		}
	}
}

// TestChrootvmPaths: directories the C virtiofsd's own parsing would
// change are shared as named or refused: a ROOTFS and a --mount PATH
// that are symbolic links to directories work with both daemons, and a
// path with a backslash is refused with the C one (its -o parser would
// share ".../rootx" for ".../root\x").
func TestChrootvmPaths(t *testing.T) {
	for _, dn := range daemonsOn("6.12") {
		t.Run(dn, func(t *testing.T) {
			t.Parallel()
			p, k := need(t, "6.12")
			k = withDaemon(t, k, dn)
			bin := buildTool(t, p, "chrootvm")
			dir := t.TempDir()
			out := filepath.Join(dir, `out\x`)
			for _, d := range []string{filepath.Join(dir, "outx"), filepath.Join(dir, "real")} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			root, share := filepath.Join(dir, "root-link"), filepath.Join(dir, "share-link")
			if err := os.Symlink(k.guest.rootfs, root); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(dir, "real"), share); err != nil {
				t.Fatal(err)
			}
			args := append(chrootvmArgs(k), "--virtiofsd", k.fsd.path, "--mount", "s", share, root, "sh", "-c", "echo hi >/run/mnt/s/f")
			if r := runChrootvmIO(t, bin, args, nil); r.code != 0 {
				t.Errorf("symbolic links: exit status %d, want 0\nstderr:\n%s", r.code, r.stderr)
			} else if got, err := os.ReadFile(filepath.Join(dir, "real", "f")); err != nil || string(got) != "hi\n" {
				t.Errorf("the share's file: %q, %v", got, err)
			}
			args = append(chrootvmArgs(k), "--virtiofsd", k.fsd.path, "--mount", "o", out, k.guest.rootfs, "sh", "-c", "echo hi >/run/mnt/o/f")
			r := runChrootvmIO(t, bin, args, nil)
			if _, err := os.Stat(filepath.Join(dir, "outx", "f")); err == nil {
				t.Errorf("the program wrote into outx, not the directory named")
			}
			switch {
			case k.fsd.rust && r.code != 0:
				t.Errorf("a backslash with the Rust daemon: exit status %d, want 0\nstderr:\n%s", r.code, r.stderr)
			case !k.fsd.rust && (r.code == 0 || !bytes.Contains(r.stderr, []byte("backslash")) || !bytes.Contains(r.stderr, []byte("Rust virtiofsd"))):
				t.Errorf("a backslash with the C daemon: exit status %d, want a refusal naming the Rust virtiofsd\nstderr:\n%s", r.code, r.stderr)
			}
		})
	}
}
