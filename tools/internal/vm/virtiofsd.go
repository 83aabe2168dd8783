package vm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// virtiofsdPaths are where distributions install virtiofsd outside PATH,
// searched in this order before PATH: the Rust virtiofsd (Fedora, newer
// Debian), qemu's own C one (Debian 12's qemu-system-common), Arch's.
var virtiofsdPaths = []string{
	"/usr/libexec/virtiofsd",
	"/usr/lib/qemu/virtiofsd",
	"/usr/lib/virtiofsd",
}

// dialect is the command-line language of one virtiofsd.
type dialect struct {
	// rust: the Rust virtiofsd (--shared-dir, --sandbox=none); otherwise
	// the C one that qemu shipped until 8.0 (-o source=, -o sandbox=).
	rust bool
	// readOnly: it can refuse writes itself (the Rust one's --readonly).
	// The C one cannot; then only the guest's read-only mount protects a
	// read-only share.
	readOnly bool
}

func (d dialect) String() string {
	switch {
	case d.rust && d.readOnly:
		return "Rust dialect, with --readonly"
	case d.rust:
		return "Rust dialect, without --readonly"
	}
	return "C dialect, no read-only option"
}

// parseDialect tells the dialect from the text of virtiofsd --help.
func parseDialect(help string) (dialect, error) {
	switch {
	case strings.Contains(help, "--shared-dir"):
		return dialect{rust: true, readOnly: strings.Contains(help, "--readonly")}, nil
	case strings.Contains(help, "source="):
		return dialect{}, nil
	}
	return dialect{}, errors.New("its --help names neither --shared-dir nor -o source=")
}

// args is the daemon's command line for one share, serving the listening
// socket it inherits as descriptor 3.
func (d dialect) args(s Share) []string {
	if d.rust {
		a := []string{"--fd=3", "--shared-dir=" + s.Path, "--sandbox=none", "--cache=always"}
		if s.ReadOnly && d.readOnly {
			a = append(a, "--readonly")
		}
		return a
	}
	// The C daemon needs root for sandbox=chroot; its other sandbox
	// (namespace) needs root as well.
	return []string{"--fd=3", "-o", "source=" + s.Path, "-o", "sandbox=chroot", "-o", "cache=always"}
}

// check rejects shares a dialect cannot express.
func (d dialect) check(shares []Share) error {
	if d.rust {
		return nil
	}
	for _, s := range shares {
		// The C daemon splits -o values at commas (fuse_opt_parse).
		if strings.ContainsRune(s.Path, ',') {
			return fmt.Errorf("vm: share %s: the C virtiofsd cannot share a path containing a comma: %s", s.Tag, s.Path)
		}
	}
	return nil
}

// dialects caches the dialect of each virtiofsd binary.
var dialects struct {
	sync.Mutex
	m map[string]dialect
}

// detectDialect runs path --help and reads its dialect from the text.
func detectDialect(path string) (dialect, error) {
	dialects.Lock()
	defer dialects.Unlock()
	if d, ok := dialects.m[path]; ok {
		return d, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	d, perr := parseDialect(string(out))
	if perr != nil {
		if err != nil {
			return d, fmt.Errorf("%s --help: %w", path, err)
		}
		return d, fmt.Errorf("%s: %w", path, perr)
	}
	if dialects.m == nil {
		dialects.m = map[string]dialect{}
	}
	dialects.m[path] = d
	return d, nil
}

// FindVirtiofsd finds virtiofsd at /usr/libexec/virtiofsd,
// /usr/lib/qemu/virtiofsd, /usr/lib/virtiofsd or on PATH, and tells
// whether it is the Rust implementation (otherwise it is qemu's C one).
func FindVirtiofsd() (path string, rust bool, err error) {
	path, d, err := findVirtiofsd()
	return path, d.rust, err
}

func findVirtiofsd() (string, dialect, error) {
	for _, p := range virtiofsdPaths {
		if _, err := exec.LookPath(p); err == nil {
			d, err := detectDialect(p)
			return p, d, err
		}
	}
	p, err := exec.LookPath("virtiofsd")
	if err != nil {
		return "", dialect{}, fmt.Errorf("%w: not in %s or on PATH", ErrNoVirtiofsd, strings.Join(virtiofsdPaths, ", "))
	}
	d, err := detectDialect(p)
	return p, d, err
}

// daemon is one running virtiofsd.
type daemon struct {
	share  Share
	cmd    *exec.Cmd
	stderr *tail
	done   chan struct{} // closed when it has exited; err is set then
	err    error
}

// startDaemon starts a virtiofsd serving s on a Unix socket at sock. The
// socket is bound and listening before the daemon starts, and the daemon
// inherits it, so qemu's connection waits in the backlog until the daemon
// accepts it. Our copy is closed once the daemon has its own: when the
// daemon dies, connecting fails at once instead of hanging.
func startDaemon(bin string, d dialect, s Share, sock string, log *logger) (*daemon, error) {
	l, err := listenUnix(sock)
	if err != nil {
		return nil, fmt.Errorf("virtiofsd socket for %s: %w", s.Tag, err)
	}
	defer l.Close()
	dm := &daemon{
		share:  s,
		stderr: newTail(log.prefixed("virtiofsd " + s.Tag + ": ")),
		done:   make(chan struct{}),
	}
	args := d.args(s)
	log.printf("share %s: %s", s.Tag, shellQuote(append([]string{bin}, args...)))
	dm.cmd = exec.Command(bin, args...)
	dm.cmd.ExtraFiles = []*os.File{l}
	dm.cmd.Stderr = dm.stderr
	dm.cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a Ctrl-C on the terminal reaches us,
		// and we stop the daemons after qemu, in order.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := dm.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start virtiofsd for %s: %w", s.Tag, err)
	}
	go func() {
		dm.err = dm.cmd.Wait()
		close(dm.done)
	}()
	return dm, nil
}

// stop ends the daemon, if it is still running: SIGTERM, then SIGKILL
// after stopGrace.
func (dm *daemon) stop() {
	select {
	case <-dm.done:
		return
	default:
	}
	dm.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopGrace)
	defer t.Stop()
	select {
	case <-dm.done:
	case <-t.C:
		dm.cmd.Process.Kill()
		<-dm.done
	}
}

// maxSocketPath is the size of sun_path in struct sockaddr_un, with its NUL.
const maxSocketPath = 108

// listenUnix makes a listening Unix socket at path. It is made with the
// system calls, not package net, because it is handed to another process:
// its descriptor must be in blocking mode.
func listenUnix(path string) (*os.File, error) {
	if len(path) >= maxSocketPath {
		return nil, fmt.Errorf("socket path %s is longer than %d bytes (set TMPDIR to a shorter directory)", path, maxSocketPath-1)
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "bind", Path: path, Err: err}
	}
	if err := syscall.Listen(fd, 1); err != nil {
		syscall.Close(fd)
		return nil, &os.PathError{Op: "listen", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
