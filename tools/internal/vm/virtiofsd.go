package vm

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"virtinit/tools/internal/hostfacts"
)

// VirtiofsdEnv names the environment variable that chooses the virtiofsd
// when Config.Virtiofsd is empty.
const VirtiofsdEnv = "VIRTIOFSD"

// virtiofsdPaths are where distributions install virtiofsd outside PATH,
// searched in this order before PATH when neither Config.Virtiofsd nor
// $VIRTIOFSD names one: the Rust virtiofsd (Fedora, RHEL, Debian 13),
// qemu's own C one (Debian 12's qemu-system-common), Arch's.
var virtiofsdPaths = []string{
	"/usr/libexec/virtiofsd",
	"/usr/lib/qemu/virtiofsd",
	"/usr/lib/virtiofsd",
}

// Virtiofsd is one virtiofsd program and how Run starts it.
type Virtiofsd struct {
	Path string
	// Rust: the Rust virtiofsd's dialect (--shared-dir); otherwise the
	// C one that qemu shipped until 8.0 (-o source=).
	Rust bool
	// ReadOnly: the Rust one refuses writes to a read-only share itself
	// (--readonly), even after the guest remounts the share read-write.
	// Otherwise only the guest's read-only mount protects it. The C one
	// has no such option: Run serves its read-only shares from a
	// read-only bind mount in a mount namespace of the daemon's own
	// (readOnlyBind), so the host refuses the writes there too.
	ReadOnly bool
	// Sandbox is the sandbox Run asks it for (see chooseSandbox).
	Sandbox string
}

// String names the program, its dialect and its read-only mode, for
// debug messages.
func (v Virtiofsd) String() string {
	return v.Path + " (" + v.dialect().String() + ", sandbox " + v.Sandbox + ")"
}

func (v Virtiofsd) dialect() dialect { return dialect{rust: v.Rust, readOnly: v.ReadOnly} }

// dialect is the command-line language of one virtiofsd.
type dialect struct {
	rust     bool // see Virtiofsd.Rust
	readOnly bool // see Virtiofsd.ReadOnly
}

func (d dialect) String() string {
	switch {
	case d.rust && d.readOnly:
		return "Rust dialect, read-only shares served with --readonly"
	case d.rust:
		return "Rust dialect, without --readonly: only the guest's mount protects a read-only share"
	}
	return "C dialect, read-only shares served from a read-only bind mount"
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

// cachePolicy is how long the guest may keep what it read from a share,
// as the daemons spell it: rust for --cache, c for -o cache. A read-only
// share is taken to stay as it is while the VM runs (the root, the
// program's files): the guest keeps data and metadata ("always"), which
// saves a round trip to the daemon on nearly every lookup and read, and
// a boot makes thousands. A read-write share is the one the host may
// change while the VM runs, so the guest keeps nothing ("never", the C
// daemon's "none"): every lookup, attribute and read goes to the daemon
// and sees the host's file as it is now. The middle policy ("auto") is
// not enough: a guest holding a file open read its old size and content
// after the host rewrote it, with "auto" as with "always", on 6.1 and
// 6.12 with both daemons (vmtest's rw-fresh check). The cost: files of a
// read-write share are opened with direct I/O, so a guest program cannot
// map them MAP_SHARED (ENODEV; the Rust daemon's --allow-mmap would lift
// that, but only where the guest has the directory to itself, its help
// says).
//
// Share.Mmap chooses "auto" for a read-write share instead: the guest
// keeps file data in its page cache, so its programs can map the files
// MAP_SHARED (a linker writing its output, a database), and what they
// wrote reaches the host when the guest writes it back (sync).
func cachePolicy(s Share) (rust, c string) {
	switch {
	case s.ReadOnly:
		return "always", "always"
	case s.Mmap:
		return "auto", "auto"
	}
	return "never", "none"
}

// args is the daemon's command line for one share, serving the listening
// socket it inherits as descriptor 3.
func (v Virtiofsd) args(s Share) []string {
	rustCache, cCache := cachePolicy(s)
	if v.Rust {
		a := []string{"--fd=3", "--shared-dir=" + s.Path, "--sandbox=" + v.Sandbox, "--cache=" + rustCache}
		if s.ReadOnly && v.ReadOnly {
			a = append(a, "--readonly")
		}
		return a
	}
	return []string{"--fd=3", "-o", "source=" + s.Path, "-o", "sandbox=" + v.Sandbox, "-o", "cache=" + cCache}
}

// capSysAdmin is CAP_SYS_ADMIN's bit (linux/capability.h).
const capSysAdmin = 21

// chooseSandbox picks the sandbox of a daemon of dialect d for a process
// whose effective capabilities are capEff (/proc/self/status, CapEff).
// The sandbox confines the daemon to the shared directory, so that a bug
// in it, or a guest exploiting one, cannot reach the rest of the host.
//
// The Rust daemon's "namespace" (new mount, PID and network namespaces,
// pivot_root into the share) and "chroot" both need privileges: the
// namespace sandbox CAP_SYS_ADMIN, which root has, also in a user
// namespace of its own (unshare -r). With CAP_SYS_ADMIN Run asks for
// "namespace", the stronger of the two. Without it, it asks for "none":
// the daemon then runs as the calling user, who can reach only what that
// user can, which is what osbuild does too. (The Rust daemon's own
// default, "namespace", would put an unprivileged daemon in a new user
// namespace where it cannot act as the guest's users.)
//
// The C daemon has no "none": its sandboxes both need root, so it gets
// "chroot" and does not start without root.
func chooseSandbox(d dialect, capEff uint64) string {
	switch {
	case !d.rust:
		return "chroot"
	case capEff&(1<<capSysAdmin) != 0:
		return "namespace"
	}
	return "none"
}

// capSysChroot is CAP_SYS_CHROOT's bit (linux/capability.h).
const capSysChroot = 18

// checkPrivileges tells, before anything starts, that the C daemon cannot
// run without root: its sandbox chroot()s into the share (and its other
// one needs CAP_SYS_ADMIN), so it would exit at qemu's connection with
// "chroot(...): Operation not permitted", which qemu reports as a
// vhost-user protocol error. capEff is as for chooseSandbox.
func (v Virtiofsd) checkPrivileges(capEff uint64) error {
	if v.Rust || capEff&(1<<capSysChroot) != 0 {
		return nil
	}
	return fmt.Errorf("vm: %s is the C virtiofsd, whose sandboxes need root; run as root, or choose the Rust virtiofsd (%s, or chrootvm --virtiofsd)", v.Path, VirtiofsdEnv)
}

// effectiveCaps reads this process's effective capabilities; 0 when
// they cannot be read.
func effectiveCaps() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return capEff(string(data))
}

// capEff reads the CapEff line of a /proc/PID/status text (proc(5)): the
// effective capabilities as a hexadecimal mask; 0 when it has none.
func capEff(status string) uint64 {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0
			}
			return caps
		}
	}
	return 0
}

// check rejects shares a dialect cannot express.
func (d dialect) check(shares []Share) error {
	if d.rust {
		return nil
	}
	for _, s := range shares {
		// The C daemon splits -o values at commas and unescapes
		// backslashes (fuse_opt_parse): ".../root\x" would share
		// ".../rootx".
		if strings.ContainsAny(s.Path, ",\\") {
			return fmt.Errorf("vm: share %s: the C virtiofsd cannot share a path containing a comma or a backslash (it would share another directory): %s; the Rust virtiofsd can", s.Tag, s.Path)
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
	name, key := dialectFact(path)
	if v, ok := hostfacts.Load(name, key); ok && key != "" {
		if d, err := decodeDialect(v); err == nil {
			return d, nil
		}
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
	if key != "" {
		hostfacts.Store(name, key, d.encode())
	}
	return d, nil
}

// dialectFact names the host fact (hostfacts) that keeps the dialect of
// the virtiofsd at path, and the key it holds for: the binary's size,
// time and inode, which an upgrade changes. Running its --help each time
// costs a process start before the VM's.
func dialectFact(path string) (name, key string) {
	sum := sha256.Sum256([]byte(path))
	name = "virtiofsd-" + hex.EncodeToString(sum[:8])
	fi, err := os.Stat(path)
	if err != nil {
		return name, ""
	}
	key = path + " " + strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		key += " " + strconv.FormatUint(st.Ino, 10)
	}
	return name, key
}

// encode and decodeDialect write a dialect as a host fact's value.
func (d dialect) encode() string {
	return "rust=" + strconv.FormatBool(d.rust) + " readonly=" + strconv.FormatBool(d.readOnly)
}

func decodeDialect(v string) (dialect, error) {
	var d dialect
	var rust, ro string
	if _, err := fmt.Sscanf(v, "rust=%s readonly=%s", &rust, &ro); err != nil {
		return d, err
	}
	var err1, err2 error
	d.rust, err1 = strconv.ParseBool(rust)
	d.readOnly, err2 = strconv.ParseBool(ro)
	return d, errors.Join(err1, err2)
}

// FindVirtiofsd finds the virtiofsd Run uses when Config.Virtiofsd is
// path, and tells its dialect and sandbox. It is path itself when that is
// not empty, else the program $VIRTIOFSD names, else the first of
// /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd, /usr/lib/virtiofsd
// and virtiofsd on PATH. A path without a slash is looked for on PATH.
func FindVirtiofsd(path string) (Virtiofsd, error) {
	from := "" // the caller's own path: its error names it
	if path == "" {
		path, from = os.Getenv(VirtiofsdEnv), "$"+VirtiofsdEnv+": "
	}
	var err error
	if path != "" {
		if path, err = exec.LookPath(path); err != nil {
			return Virtiofsd{}, fmt.Errorf("%w: %s%w", ErrNoVirtiofsd, from, err)
		}
	} else if path, err = searchVirtiofsd(); err != nil {
		return Virtiofsd{}, err
	}
	d, err := detectDialect(path)
	if err != nil {
		return Virtiofsd{}, err
	}
	return Virtiofsd{Path: path, Rust: d.rust, ReadOnly: d.readOnly, Sandbox: chooseSandbox(d, effectiveCaps())}, nil
}

// searchVirtiofsd looks for virtiofsd in its usual places.
func searchVirtiofsd() (string, error) {
	for _, p := range virtiofsdPaths {
		if _, err := exec.LookPath(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath("virtiofsd")
	if err != nil {
		return "", fmt.Errorf("%w: not in %s or on PATH (or set %s)", ErrNoVirtiofsd, strings.Join(virtiofsdPaths, ", "), VirtiofsdEnv)
	}
	return p, nil
}

// daemon is one running virtiofsd.
type daemon struct {
	share  Share
	cmd    *exec.Cmd
	stderr *tail
	done   chan struct{} // closed when it has exited; err is set then
	err    error
	cancel context.CancelFunc // stops it (stopOnCancel)
	first  bool               // it ended first, while the guest ran (watch)
}

// startDaemon starts a virtiofsd serving s on a Unix socket at sock. The
// socket is bound and listening before the daemon starts, and the daemon
// inherits it, so qemu's connection waits in the backlog until the daemon
// accepts it. Our copy is closed once the daemon has its own: when the
// daemon dies, connecting fails at once instead of hanging.
func startDaemon(v Virtiofsd, s Share, sock string, log *logger) (*daemon, error) {
	l, err := listenUnix(sock, false)
	if err != nil {
		return nil, fmt.Errorf("virtiofsd socket for %s: %w", s.Tag, err)
	}
	defer l.Close()
	dm := &daemon{
		share:  s,
		stderr: newTail(log.prefixed("virtiofsd " + s.Tag + ": ")),
		done:   make(chan struct{}),
	}
	args := append([]string{v.Path}, v.args(s)...)
	if !v.Rust && s.ReadOnly {
		args = readOnlyBind(s.Path, args)
	}
	log.printf("share %s: %s", s.Tag, shellQuote(args))
	ctx, cancel := context.WithCancel(context.Background())
	dm.cancel = cancel
	dm.cmd = exec.CommandContext(ctx, args[0], args[1:]...)
	stopOnCancel(dm.cmd)
	dm.cmd.ExtraFiles = []*os.File{l}
	dm.cmd.Stderr = dm.stderr
	dm.cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own process group: a Ctrl-C on the terminal reaches us,
		// and we stop the daemons after qemu, in order.
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := dm.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start virtiofsd for %s: %w", s.Tag, err)
	}
	go func() {
		dm.err = dm.cmd.Wait()
		close(dm.done)
	}()
	return dm, nil
}

// readOnlyBind wraps the command line of a C daemon serving dir so that
// it runs in a mount namespace of its own where dir is a read-only bind
// mount of itself: the C daemon has no read-only option, and a guest
// that remounts its read-only share read-write (or --overlay's lower
// layer) would otherwise write into the host's directory. It needs root,
// as the C daemon does anyway (checkPrivileges); util-linux's unshare(1)
// makes the namespace, whose mounts do not propagate back to the host's.
func readOnlyBind(dir string, cmd []string) []string {
	return append([]string{"/usr/bin/unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
		`PATH=/usr/sbin:/usr/bin:/sbin:/bin; mount --bind -o ro -- "$1" "$1" && shift && exec "$@"`, "sh", dir}, cmd...)
}

// stop ends the daemon, if it is still running, as stopOnCancel says,
// and waits for its end.
func (dm *daemon) stop() { stopDaemons([]*daemon{dm}) }

// stopDaemons stops the daemons together: each gets its SIGTERM at once,
// so their grace periods run side by side and the clean-up waits one
// stopGrace at most, not one per daemon.
func stopDaemons(daemons []*daemon) {
	for _, d := range daemons {
		d.cancel()
	}
	for _, d := range daemons {
		<-d.done
	}
}

// maxSocketPath is the size of sun_path in struct sockaddr_un, with its NUL.
const maxSocketPath = 108

// listenUnix makes a listening Unix socket at path, with the system calls:
// package net would bring cgo's resolver into chrootvm, and with it
// dynamic linking and 4-5 ms of every start (tools/cmd/bench/README.md).
// A socket handed to another process (a virtiofsd's --fd) must be in
// blocking mode; one chrootvm serves itself is made nonblocking, so that
// the runtime's poller waits on it and Close ends an accept (portServer).
func listenUnix(path string, nonblock bool) (*os.File, error) {
	if len(path) >= maxSocketPath {
		return nil, fmt.Errorf("socket path %s is longer than %d bytes (set TMPDIR to a shorter directory)", path, maxSocketPath-1)
	}
	flags := syscall.SOCK_STREAM | syscall.SOCK_CLOEXEC
	if nonblock {
		flags |= syscall.SOCK_NONBLOCK
	}
	fd, err := syscall.Socket(syscall.AF_UNIX, flags, 0)
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

// acceptUnix waits for a connection on a nonblocking listening socket
// from listenUnix and returns it, nonblocking too, served by the poller.
func acceptUnix(ln *os.File) (*os.File, error) {
	rc, err := ln.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	var aerr error
	err = rc.Read(func(s uintptr) bool {
		fd, _, aerr = syscall.Accept4(int(s), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
		return aerr != syscall.EAGAIN
	})
	if err != nil {
		return nil, err
	}
	if aerr != nil {
		return nil, &os.PathError{Op: "accept", Path: ln.Name(), Err: aerr}
	}
	return os.NewFile(uintptr(fd), ln.Name()), nil
}

// shutdownWrite shuts a socket's sending side down: the peer reads its
// end of file.
func shutdownWrite(conn *os.File) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(s uintptr) { serr = syscall.Shutdown(int(s), syscall.SHUT_WR) }); err != nil {
		return err
	}
	return os.NewSyscallError("shutdown", serr)
}
