package main

import (
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"virtinit/tools/internal/contract"
)

func TestRecordStatus(t *testing.T) {
	tests := []struct {
		in     string
		status int
		kind   string
		text   string
	}{
		{"exit 0\n", 0, "exit", ""},
		{"exit 3\n", 3, "exit", ""},
		{"exit 255\n", 255, "exit", ""},
		{"signal 9\n", 137, "signal", ""},
		{"signal 2\n", 130, "signal", ""},
		{"exec 2 exec /bin/nope: no such file or directory\n", exitNotFound, "exec", "exec /bin/nope: no such file or directory"},
		{"exec 8 exec /x: exec format error\n", exitNotExecutable, "exec", "exec /x: exec format error"},
		{"exec 13 exec /x: permission denied\n", exitNotExecutable, "exec", "exec /x: permission denied"},
		{"fatal mount virtiofs rootfs on /sysroot: no such device\n", exitNoBoot, "fatal", "mount virtiofs rootfs on /sysroot: no such device"},
		// Not records: the guest died before writing one, or the bytes
		// are not what /init writes.
		{"", exitNoBoot, "", ""},
		{"exit 3", exitNoBoot, "", ""},
		{"exit 3\nexit 4\n", exitNoBoot, "", ""},
		{"exit 256\n", exitNoBoot, "", ""},
		{"exit -1\n", exitNoBoot, "", ""},
		{"exit 03\n", exitNoBoot, "", ""},
		{"exit\n", exitNoBoot, "", ""},
		{"signal 0\n", exitNoBoot, "", ""},
		{"exec x text\n", exitNoBoot, "", ""},
		{"exec 0 text\n", exitNoBoot, "", ""},
		{"reboot: Power down\n", exitNoBoot, "", ""},
		// The program started: its end, a shutdown it asked for, data
		// lost; or no end at all, which is no failed boot.
		{"start\nexit 4\n", 4, "exit", ""},
		{"start\nshutdown poweroff\n", 0, "shutdown", "poweroff"},
		{"start\nshutdown halt\n", 0, "shutdown", "halt"},
		{"start\nshutdown reboot\n", 0, "shutdown", "reboot"},
		{"start\nshutdown now\n", exitGuestDied, "", ""},
		{"start\nwriteback out 28 no space left on device\nexit 0\n", exitLost, "exit", ""},
		{"start\noom 1\nsignal 9\n", 137, "signal", ""},
		{"start\noom 1\nwriteback out 28 no space left on device\nsignal 9\n", exitLost, "signal", ""},
		{"start\noom x\nsignal 9\n", exitGuestDied, "", ""},
		{"start\n", exitGuestDied, "", ""},
		{"start\nexit 4", exitGuestDied, "", ""},
		{"start\nexit 4\nexit 5\n", exitGuestDied, "", ""},
		{"start\nstart\nexit 4\n", exitGuestDied, "", ""},
		{"start", exitNoBoot, "", ""},
		{"exit 4\nstart\n", exitNoBoot, "", ""},
	}
	for _, tt := range tests {
		r, ok := contract.ParseRecord([]byte(tt.in))
		if strings.Contains(tt.in, "oom 1") && ok && r.OOMKills != 1 {
			t.Errorf("ParseRecord(%q) = %+v, want 1 OOM kill", tt.in, r)
		}
		status := exitStatus(outcome{record: r, recorded: ok})
		if status != tt.status || r.Kind != tt.kind || r.Text != tt.text {
			t.Errorf("ParseRecord(%q) = %+v, status %d; want kind %q, text %q, status %d", tt.in, r, status, tt.kind, tt.text, tt.status)
		}
	}
}

func TestBootLines(t *testing.T) {
	console := "[    0.1] Linux version 6.1\r\nnoise\r\n" +
		"initrd: mount virtiofs rootfs on /sysroot: no such device (rd.emergency=poweroff)\r\n" +
		"[    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n---[ end\r\n"
	got := bootLines([]byte(console))
	want := []string{
		"initrd: mount virtiofs rootfs on /sysroot: no such device (rd.emergency=poweroff)",
		"[    0.9] Kernel panic - not syncing: VFS: Unable to mount root fs",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("bootLines = %q, want %q", got, want)
	}
	many := strings.Repeat("initrd: x\n", 30)
	if got := bootLines([]byte(many)); len(got) != 10 {
		t.Errorf("bootLines of 30 lines kept %d, want the last 10", len(got))
	}
}

func TestEscapeReader(t *testing.T) {
	escaped := 0
	r := &escapeReader{r: strings.NewReader("ls\r\x03more\x1dafter"), escaped: func() { escaped++ }}
	got, err := io.ReadAll(r)
	if string(got) != "ls\r\x03more" || err != nil || escaped != 1 {
		t.Errorf("escapeReader read %q, %v, escaped %d times; want %q, nil, once", got, err, escaped, "ls\r\x03more")
	}
	r = &escapeReader{r: strings.NewReader("plain\x03"), escaped: func() { escaped++ }}
	if got, _ := io.ReadAll(r); string(got) != "plain\x03" || escaped != 1 {
		t.Errorf("escapeReader without the key read %q, escaped %d; want all of it, no escape", got, escaped-1)
	}
}

func TestCrlfWriter(t *testing.T) {
	var b bytes.Buffer
	w := crlfWriter{&b}
	io.WriteString(w, "a\nb\r\nc")
	if b.String() != "a\r\nb\r\nc" {
		t.Errorf("crlfWriter wrote %q, want %q", b.String(), "a\r\nb\r\nc")
	}
}

func TestLimitedBuffer(t *testing.T) {
	var l limitedBuffer
	l.Write([]byte("exit 0\n"))
	if string(l.Bytes()) != "exit 0\n" {
		t.Errorf("limitedBuffer = %q", l.Bytes())
	}
	l.Write(make([]byte, 5000))
	if l.Bytes() != nil {
		t.Errorf("limitedBuffer past its limit kept %d bytes, want none", len(l.Bytes()))
	}
}

// TestTempDirs: a run's directory is locked while it lives; a directory
// whose chrootvm is gone (no lock) is removed by the next run, a live
// one and other files are not.
func TestTempDirs(t *testing.T) {
	tmp := t.TempDir()
	live, err := makeTempDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(live.path), tempPrefix) {
		t.Errorf("temporary directory %s is not named %s*", live.path, tempPrefix)
	}
	stale := filepath.Join(tmp, tempPrefix+"12345")
	if err := os.MkdirAll(filepath.Join(stale, "virtinit-vm-1"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"initrd", tempMarker} {
		if err := os.WriteFile(filepath.Join(stale, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	other := filepath.Join(tmp, "other-dir")
	file := filepath.Join(tmp, tempPrefix+"file")
	// A user's directories named like chrootvm's: without the marker,
	// or not named as makeTempDir names them (the marker there too).
	users := filepath.Join(tmp, tempPrefix+"54321")
	named := filepath.Join(tmp, tempPrefix+"mywork")
	for _, d := range []string{other, users, named} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "notes"), []byte("precious"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(named, tempMarker), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	removed := cleanStale(tmp)
	if len(removed) != 1 || removed[0] != stale {
		t.Errorf("cleanStale removed %q, want only %s", removed, stale)
	}
	if _, err := os.Lstat(filepath.Join(live.path, tempMarker)); err != nil {
		t.Errorf("a run's directory lacks its marker: %v", err)
	}
	for _, p := range []string{live.path, other, file, users + "/notes", named + "/notes"} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("cleanStale removed %s: %v", p, err)
		}
	}
	live.remove()
	if _, err := os.Lstat(live.path); err == nil {
		t.Errorf("remove left %s", live.path)
	}
}

// runAsChrootvm makes the test binary run chrootvm's main (see TestMain).
const runAsChrootvm = "CHROOTVM_TEST_RUN"

// fakeParts makes the host parts chrootvm looks for before it boots: a
// kernel image, a /init binary, a busybox-like root, a qemu that sleeps
// a while and fails, and a virtiofsd. It returns chrootvm's arguments
// and the environment to run it with.
func fakeParts(t *testing.T, qemuSleep string) ([]string, []string, string) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{"root/bin/sh": "x", "bin": "d", "tmp": "d"})
	kernel := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(kernel, fakeImage(peMachineAMD64, x86BootMagicOff, x86BootMagic), 0o644); err != nil {
		t.Fatal(err)
	}
	// A static x86_64 ELF header passes for /init: nothing runs it.
	self := filepath.Join(dir, "init")
	if err := os.WriteFile(self, fakeELF(elf.EM_X86_64), 0o755); err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{
		"qemu-system-x86_64": "#!/bin/sh\nexec sleep " + qemuSleep + "\n",
		"virtiofsd":          "#!/bin/sh\ncase \"$1\" in --help) echo '--shared-dir --readonly --sandbox';; *) exec sleep 30;; esac\n",
	}
	for name, s := range scripts {
		if err := os.WriteFile(filepath.Join(dir, "bin", name), []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "tmp")
	env := append(os.Environ(), runAsChrootvm+"=1", "TMPDIR="+tmp,
		"PATH="+filepath.Join(dir, "bin")+":"+os.Getenv("PATH"), "VIRTIOFSD="+filepath.Join(dir, "bin", "virtiofsd"))
	return []string{"--kernel", kernel, "--init", self, filepath.Join(dir, "root"), "/bin/sh"}, env, tmp
}

// TestEarlySignal sends SIGINT to chrootvm at moments spread over its
// first 100 ms: however early it comes, nothing is left in TMPDIR.
func TestEarlySignal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chrootvm 11 times")
	}
	args, env, tmp := fakeParts(t, "5")
	for ms := 0; ms <= 100; ms += 10 {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if left, _ := os.ReadDir(tmp); len(left) > 0 {
			t.Errorf("SIGINT after %d ms: %s left in TMPDIR (stderr %q)", ms, left[0].Name(), stderr.String())
			for _, e := range left {
				os.RemoveAll(filepath.Join(tmp, e.Name()))
			}
		}
	}
}

// TestHangupIgnored: under nohup (SIGHUP ignored when chrootvm starts) a
// SIGHUP does not stop the run.
func TestHangupIgnored(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chrootvm")
	}
	args, env, _ := fakeParts(t, "1")
	// The children must not inherit this process's disposition of
	// SIGHUP: under nohup it is ignored, which a shell cannot undo and
	// exec keeps. With a handler of its own here, exec gives them the
	// default (execve(2)), and each case sets up its own.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for _, ignored := range []bool{true, false} {
		trap := ""
		if ignored {
			trap = "trap '' HUP; "
		}
		cmd, stderr := start(t, env, "/bin/sh", append([]string{"-c", trap + `exec "$0" "$@"`, os.Args[0]}, args...)...)
		// Until the fake qemu runs: then chrootvm has set up its signals.
		waitChild(cmd.Process.Pid, "sleep")
		cmd.Process.Signal(syscall.SIGHUP)
		err := cmd.Wait()
		code := cmd.ProcessState.ExitCode()
		hung := strings.Contains(stderr.String(), "interrupted by hangup")
		if ignored && (hung || code == 128+int(syscall.SIGHUP)) {
			t.Errorf("SIGHUP ignored on entry: chrootvm stopped by it (%v, stderr %q)", err, stderr.String())
		}
		if !ignored && (!hung || code != 128+int(syscall.SIGHUP)) {
			t.Errorf("SIGHUP not ignored: status %d, stderr %q; want %d, interrupted", code, stderr.String(), 128+int(syscall.SIGHUP))
		}
	}
}

// start starts the program with env, its stderr kept.
func start(t *testing.T, env []string, name string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// waitChild waits until a descendant of pid runs the program name, 20 s
// at most.
func waitChild(pid int, name string) {
	for deadline := time.Now().Add(20 * time.Second); !hasChild(pid, name) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
}

// hasChild tells whether a descendant of pid runs the program name.
func hasChild(pid int, name string) bool {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	parents := map[string]string{}
	comms := map[string]string{}
	for _, p := range stats {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(data)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(s[j+1:])
		if len(f) < 2 {
			continue
		}
		id := strings.TrimSpace(s[:i])
		parents[id], comms[id] = f[1], s[i+1:j]
	}
	want := strconv.Itoa(pid)
	for id, comm := range comms {
		if comm != name {
			continue
		}
		for p := parents[id]; p != "" && p != "0" && p != "1"; p = parents[p] {
			if p == want {
				return true
			}
		}
	}
	return false
}

// TestKilledRunCleaned: the temporary directory of a chrootvm killed by
// SIGKILL stays behind, and the next run removes it, before anything
// else (here it fails at once, on a missing ROOTFS).
func TestKilledRunCleaned(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chrootvm")
	}
	args, env, tmp := fakeParts(t, "30")
	cmd, _ := start(t, env, os.Args[0], args...)
	waitChild(cmd.Process.Pid, "sleep")
	cmd.Process.Kill()
	cmd.Wait()
	left, _ := filepath.Glob(filepath.Join(tmp, tempPrefix+"*"))
	if len(left) != 1 {
		t.Fatalf("a SIGKILLed chrootvm left %q, want its one temporary directory", left)
	}
	next := exec.Command(os.Args[0], filepath.Join(tmp, "no-such-root"))
	next.Env = env
	out, _ := next.CombinedOutput()
	if !strings.Contains(string(out), "does not exist") {
		t.Errorf("the next run said %q, want the missing ROOTFS", out)
	}
	if _, err := os.Lstat(left[0]); err == nil {
		t.Errorf("the next run left %s", left[0])
	}
}

// TestTerminalRestoredOnSignal: chrootvm on a terminal puts it into raw
// mode for the run, and a SIGTERM during the run gives it back as it was.
func TestTerminalRestoredOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chrootvm")
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer master.Close()
	var n uint32
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Fatal(e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Fatal(e)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	go io.Copy(io.Discard, master)
	before, err := getTermios(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	args, env, _ := fakeParts(t, "30")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	raw := false
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if tio, err := getTermios(int(slave.Fd())); err == nil && tio.Lflag&syscall.ICANON == 0 {
			raw = true
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if !raw {
		t.Errorf("chrootvm on a terminal did not put it into raw mode")
	}
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d, want %d", code, 128+int(syscall.SIGTERM))
	}
	after, err := getTermios(int(slave.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("the terminal's mode after a SIGTERM: %+v, want it as before: %+v", *after, *before)
	}
}
