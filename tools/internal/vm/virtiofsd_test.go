package vm

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Excerpts of the --help texts of the two implementations.
const (
	helpC = `usage: /usr/lib/qemu/virtiofsd [options]

    -h   --help                print help
    -o cache=<mode>            cache mode. could be one of "auto, always, none"
    -o source=PATH             shared directory tree
    --socket-path=PATH         path for the vhost-user socket
    --fd=FDNUM                 fd number of vhost-user socket
`
	helpRust = `Usage: virtiofsd [OPTIONS]

Options:
      --shared-dir <shared-dir>  Shared directory path
      --readonly                 Share directory in read-only mode
      --socket-path <socket-path>  vhost-user socket path
      --fd <fd>                  File descriptor for the listening socket
      --sandbox <sandbox>        Sandbox mechanism [default: namespace] [possible values: namespace, chroot, none]
`
	helpRustOld = `Usage: virtiofsd [OPTIONS]
      --shared-dir <shared-dir>  Shared directory path
      --fd <fd>                  File descriptor for the listening socket
`
)

func TestParseDialect(t *testing.T) {
	tests := []struct {
		name string
		help string
		want dialect
		err  bool
	}{
		{"C", helpC, dialect{}, false},
		{"Rust", helpRust, dialect{rust: true, readOnly: true}, false},
		{"Rust without --readonly", helpRustOld, dialect{rust: true}, false},
		{"something else", "usage: frobnicate [--fast]", dialect{}, true},
		{"no help", "", dialect{}, true},
	}
	for _, tt := range tests {
		got, err := parseDialect(tt.help)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("%s: parseDialect = %+v, %v; want %+v, error %v", tt.name, got, err, tt.want, tt.err)
		}
	}
}

func TestArgs(t *testing.T) {
	ro := Share{Tag: "rootfs", Path: "/srv/root", ReadOnly: true}
	rw := Share{Tag: "store", Path: "/srv/store"}
	mm := Share{Tag: "work", Path: "/srv/work", Mmap: true}
	roMm := Share{Tag: "rootfs", Path: "/srv/root", ReadOnly: true, Mmap: true}
	c := Virtiofsd{Sandbox: "chroot"}
	rust := Virtiofsd{Rust: true, ReadOnly: true, Sandbox: "namespace"}
	rustOld := Virtiofsd{Rust: true, Sandbox: "none"}
	tests := []struct {
		v    Virtiofsd
		s    Share
		want string
	}{
		{c, ro, "--fd=3 -o source=/srv/root -o sandbox=chroot -o cache=always"},
		{c, rw, "--fd=3 -o source=/srv/store -o sandbox=chroot -o cache=none"},
		{rust, ro, "--fd=3 --shared-dir=/srv/root --sandbox=namespace --cache=always --readonly"},
		{rust, rw, "--fd=3 --shared-dir=/srv/store --sandbox=namespace --cache=never"},
		{rustOld, ro, "--fd=3 --shared-dir=/srv/root --sandbox=none --cache=always"},
		{c, mm, "--fd=3 -o source=/srv/work -o sandbox=chroot -o cache=auto"},
		{rust, mm, "--fd=3 --shared-dir=/srv/work --sandbox=namespace --cache=auto"},
		{rust, roMm, "--fd=3 --shared-dir=/srv/root --sandbox=namespace --cache=always --readonly"},
	}
	for _, tt := range tests {
		if got := strings.Join(tt.v.args(tt.s), " "); got != tt.want {
			t.Errorf("%v.args(%+v) = %s, want %s", tt.v, tt.s, got, tt.want)
		}
	}
}

func TestCheckPrivileges(t *testing.T) {
	const root = 0x1ffffffffff
	c := Virtiofsd{Path: "/usr/lib/qemu/virtiofsd", Sandbox: "chroot"}
	rust := Virtiofsd{Path: "/usr/libexec/virtiofsd", Rust: true, ReadOnly: true, Sandbox: "none"}
	if err := c.checkPrivileges(root); err != nil {
		t.Errorf("C daemon as root: %v", err)
	}
	if err := c.checkPrivileges(0); err == nil || !strings.Contains(err.Error(), "need root") || !strings.Contains(err.Error(), c.Path) {
		t.Errorf("C daemon without privileges: %v, want an error naming it and root", err)
	}
	if err := rust.checkPrivileges(0); err != nil {
		t.Errorf("Rust daemon without privileges: %v", err)
	}
}

func TestCapEff(t *testing.T) {
	tests := []struct {
		status string
		want   uint64
	}{
		{"Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n", 0x1ffffffffff},
		{"CapEff:\t0000000000200000\n", 1 << capSysAdmin},
		{"CapEff:\t0000000000000000\n", 0},
		{"CapEff:\tnot hex\n", 0},
		{"Name:\tx\n", 0},
	}
	for _, tt := range tests {
		if got := capEff(tt.status); got != tt.want {
			t.Errorf("capEff(%q) = %#x, want %#x", tt.status, got, tt.want)
		}
	}
}

func TestChooseSandbox(t *testing.T) {
	const root = 0x1ffffffffff // CapEff of root
	tests := []struct {
		d    dialect
		caps uint64
		want string
	}{
		{dialect{rust: true, readOnly: true}, root, "namespace"},
		{dialect{rust: true, readOnly: true}, 1 << capSysAdmin, "namespace"},
		{dialect{rust: true, readOnly: true}, root &^ (1 << capSysAdmin), "none"},
		{dialect{rust: true}, 0, "none"},
		{dialect{}, root, "chroot"},
		{dialect{}, 0, "chroot"},
	}
	for _, tt := range tests {
		if got := chooseSandbox(tt.d, tt.caps); got != tt.want {
			t.Errorf("chooseSandbox(%v, %#x) = %s, want %s", tt.d, tt.caps, got, tt.want)
		}
	}
}

func TestDialectCheck(t *testing.T) {
	comma := []Share{{Tag: "a", Path: "/x"}, {Tag: "b", Path: "/a,b"}}
	if err := (dialect{}).check(comma); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("C dialect: check(%v) = %v, want an error about the comma", comma, err)
	}
	if err := (dialect{rust: true}).check(comma); err != nil {
		t.Errorf("Rust dialect: check(%v) = %v, want nil", comma, err)
	}
}

// fakeProgram writes an executable script that prints text, with shell
// builtins only: the tests empty PATH.
func fakeProgram(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\nwhile IFS= read -r l; do echo \"$l\"; done <<'EOF'\n" + text + "EOF\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestFindVirtiofsd(t *testing.T) {
	dir := t.TempDir()
	libexec := filepath.Join(dir, "libexec", "virtiofsd")
	qemuDir := filepath.Join(dir, "qemu", "virtiofsd")
	bin := filepath.Join(dir, "bin", "virtiofsd")
	old := virtiofsdPaths
	defer func() { virtiofsdPaths = old }()
	virtiofsdPaths = []string{libexec, qemuDir}
	t.Setenv("PATH", filepath.Dir(bin))
	t.Setenv(VirtiofsdEnv, "")

	if _, err := FindVirtiofsd(""); !errors.Is(err, ErrNoVirtiofsd) {
		t.Errorf("FindVirtiofsd with none installed = %v, want ErrNoVirtiofsd", err)
	}
	steps := []struct {
		install, help string
		want          string
		rust          bool
	}{
		{bin, helpRust, bin, true},       // only on PATH
		{qemuDir, helpC, qemuDir, false}, // a fixed place comes before PATH
		{libexec, helpRust, libexec, true},
	}
	for _, s := range steps {
		fakeProgram(t, s.install, s.help)
		v, err := FindVirtiofsd("")
		if v.Path != s.want || v.Rust != s.rust || err != nil {
			t.Errorf("FindVirtiofsd after installing %s = %+v, %v; want %q, Rust %v", s.install, v, err, s.want, s.rust)
		}
	}

	// A path given, or $VIRTIOFSD, comes before the search; a name
	// without a slash is looked for on PATH.
	other := filepath.Join(dir, "other", "virtiofsd-c")
	fakeProgram(t, other, helpC)
	t.Setenv(VirtiofsdEnv, other)
	if v, err := FindVirtiofsd(""); v.Path != other || v.Rust || err != nil {
		t.Errorf("FindVirtiofsd with %s=%s = %+v, %v; want it, C dialect", VirtiofsdEnv, other, v, err)
	}
	if v, err := FindVirtiofsd("virtiofsd"); v.Path != bin || !v.Rust || err != nil {
		t.Errorf("FindVirtiofsd(virtiofsd) = %+v, %v; want %s from PATH, Rust", v, err, bin)
	}
	missing := filepath.Join(dir, "missing", "virtiofsd")
	t.Setenv(VirtiofsdEnv, missing)
	if _, err := FindVirtiofsd(""); !errors.Is(err, ErrNoVirtiofsd) || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), VirtiofsdEnv) {
		t.Errorf("FindVirtiofsd with %s=%s = %v, want ErrNoVirtiofsd naming the variable and the path", VirtiofsdEnv, missing, err)
	}
	if _, err := FindVirtiofsd(missing); !errors.Is(err, ErrNoVirtiofsd) || !strings.Contains(err.Error(), missing) {
		t.Errorf("FindVirtiofsd(%s) = %v, want ErrNoVirtiofsd naming the path", missing, err)
	}
	t.Setenv(VirtiofsdEnv, "")

	odd := filepath.Join(dir, "odd", "virtiofsd")
	fakeProgram(t, odd, "usage: something else\n")
	virtiofsdPaths = []string{odd}
	if _, err := FindVirtiofsd(""); err == nil || !strings.Contains(err.Error(), odd) {
		t.Errorf("FindVirtiofsd of an unknown program = %v, want an error naming it", err)
	}
}

// TestListenUnix shows what Run relies on: a connection to the socket
// succeeds before anybody accepts it.
func TestListenUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s")
	l, err := listenUnix(path, false)
	if err != nil {
		t.Fatalf("listenUnix: %v", err)
	}
	defer l.Close()
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Errorf("connect before accept: %v", err)
	}
	if flags, err := fcntlFlags(l.Fd()); err != nil || flags&syscall.O_NONBLOCK != 0 {
		t.Errorf("listening socket flags %#x, %v; want blocking", flags, err)
	}

	long := filepath.Join(t.TempDir(), strings.Repeat("d", 110))
	if _, err := listenUnix(long, false); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("listenUnix(%q) = %v, want an error about its length", long, err)
	}
}

func fcntlFlags(fd uintptr) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

// TestDaemonStop stops a daemon that ends on SIGTERM and one that ignores
// it: the second one is killed stopGrace later. Either way stop returns
// once the process is gone.
func TestDaemonStop(t *testing.T) {
	defer func(g time.Duration) { stopGrace = g }(stopGrace)
	stopGrace = 200 * time.Millisecond
	dir := t.TempDir()
	tests := []struct {
		name, script string
		want         syscall.Signal
	}{
		// READY is where the script says that it runs (its trap set).
		{"ends on SIGTERM", "echo >READY; exec sleep 60", syscall.SIGTERM},
		{"ignores SIGTERM", "trap '' TERM; echo >READY; exec sleep 60", syscall.SIGKILL},
	}
	for i, tt := range tests {
		fake := filepath.Join(dir, "fake-"+strconv.Itoa(i))
		ready := fake + ".ready"
		if err := os.WriteFile(fake, []byte("#!/bin/sh\n"+strings.ReplaceAll(tt.script, "READY", ready)+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		dm, err := startDaemon(Virtiofsd{Path: fake}, Share{Tag: "t", Path: dir}, filepath.Join(dir, "s"+strconv.Itoa(i)), newLogger(nil, false))
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(ready); err == nil {
				break
			}
			if time.Now().After(deadline) {
				dm.stop()
				t.Fatalf("%s: the fake daemon did not start", tt.name)
			}
		}
		dm.stop()
		var ee *exec.ExitError
		if !errors.As(dm.err, &ee) {
			t.Errorf("%s: the daemon ended with %v, want a signal", tt.name, dm.err)
			continue
		}
		if ws := ee.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != tt.want {
			t.Errorf("%s: the daemon ended with %v, want %v", tt.name, dm.err, tt.want)
		}
	}
}

// TestStopDaemonsTogether stops two daemons that each end on SIGTERM
// only once the other has had its SIGTERM too: stopped together, both
// end on their own; stopped one after the other, the first waits for a
// signal the second gets only after the first ended, and is killed.
func TestStopDaemonsTogether(t *testing.T) {
	defer func(g time.Duration) { stopGrace = g }(stopGrace)
	stopGrace = 20 * time.Second // a bound: the daemons end long before
	dir := t.TempDir()
	var daemons []*daemon
	for i := 0; i < 2; i++ {
		me, other := filepath.Join(dir, "term"+strconv.Itoa(i)), filepath.Join(dir, "term"+strconv.Itoa(1-i))
		script := "#!/bin/sh\ntrap 'echo >" + me + "; while [ ! -e " + other + " ]; do sleep 0.01; done; kill $!; exit 7' TERM\n" +
			"echo >" + me + ".ready\nsleep 60 >/dev/null 2>&1 &\nwait\n"
		fake := filepath.Join(dir, "fake"+strconv.Itoa(i))
		if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		dm, err := startDaemon(Virtiofsd{Path: fake}, Share{Tag: "t", Path: dir}, filepath.Join(dir, "s"+strconv.Itoa(i)), newLogger(nil, false))
		if err != nil {
			t.Fatal(err)
		}
		daemons = append(daemons, dm)
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if _, err := os.Stat(me + ".ready"); err == nil {
				break
			}
			if time.Now().After(deadline) {
				stopDaemons(daemons)
				t.Fatal("the fake daemon did not start")
			}
		}
	}
	stopDaemons(daemons)
	for i, dm := range daemons {
		var ee *exec.ExitError
		if !errors.As(dm.err, &ee) || ee.ExitCode() != 7 {
			t.Errorf("daemon %d ended with %v, want exit status 7 (its own end after SIGTERM)", i, dm.err)
		}
	}
}
