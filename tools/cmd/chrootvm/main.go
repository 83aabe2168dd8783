// Command chrootvm runs a program in a directory tree as chroot(1) does,
// but inside a virtual machine: the tree is the VM's root file system,
// shared over virtiofs, and the kernel is the tree's own or any other.
// It builds the initrd with the /init binary of virtinit, starts one
// virtiofsd per shared directory, boots qemu and exits with the program's
// exit status.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"virtinit/tools/internal/cli"
)

const usage = `Usage: chrootvm [OPTION]... ROOTFS [PROGRAM [ARGS...]]

Run PROGRAM with ARGS in a virtual machine whose root file system is the
directory ROOTFS, shared read-only over virtiofs. Without PROGRAM, run
/bin/sh. A PROGRAM without a slash is looked for in ROOTFS's
/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin and /bin.
Options end at ROOTFS: what follows belongs to PROGRAM.

Options:
  --mount TAG PATH      share the host directory PATH read-write; the guest
                        finds it at /run/mnt/TAG (repeatable). Its files
                        may be mapped MAP_SHARED; the guest caches them,
                        so a file it holds open may not show what the host
                        writes to it meanwhile
  --mount-uncached TAG PATH
                        the same, for a directory the host changes while
                        the VM runs: the guest caches nothing and every
                        read sees the host's file as it is now; its files
                        cannot be mapped MAP_SHARED (repeatable)
  --mount-ro TAG PATH   the same, read-only (repeatable)
  --kernel FILE         the kernel to boot (default: the newest in ROOTFS,
                        usr/lib/modules/KVER/vmlinuz or boot/vmlinuz-KVER)
  --modules DIR         its module tree, .../lib/modules/KVER (default: the
                        tree of the same KVER next to the kernel or in ROOTFS),
                        read as modprobe reads it: the modules modules.dep
                        lists, else those of modules.order, else every file;
                        on x86_64, whose image names its release, the
                        modules the initrd takes must be built for it
  --arch x86_64|aarch64 the architecture to emulate (default: the kernel's,
                        read from its image)
  --machine microvm|q35|pc|virt
                        the qemu machine (x86_64: microvm where the kernel
                        has virtio_mmio, built in or as a module, else q35;
                        pc only when asked for; aarch64: virt)
  --transport mmio|pci  the virtiofs devices' bus (default: mmio where the
                        kernel has virtio_mmio, else pci); on x86_64, mmio
                        means microvm and pci q35
  --memory SIZE         guest memory, e.g. 512M or 2G (default 1G; at least
                        128M)
  --cpus N              virtual CPUs (default 1)
  --timeout DURATION    stop the VM after DURATION (90s, 5m, or seconds)
                        and exit with status 124
  --append ARGS         add ARGS to the kernel command line (repeatable);
                        an unbalanced double quote, rd.emergency=halt and
                        panic=0 are refused (the VM would never end), and
                        so are rd.supervise (chrootvm's own) and
                        rd.overlay (use --overlay), in every spelling the
                        kernel reads the same (panic="0", panic=00,
                        "rd.supervise=tty"; the kernel's white space
                        includes the byte 0xA0)
  --init FILE           the /init binary, built for the guest's architecture
                        (default: initrd.GOARCH or initrd next to chrootvm,
                        else out/GOARCH/initrd or out/initrd of the virtinit
                        source tree; GOARCH is amd64 or arm64)
  --virtiofsd PATH      the virtiofsd to serve the shares (default: the
                        program $VIRTIOFSD names, else the first of
                        /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd,
                        /usr/lib/virtiofsd and virtiofsd on PATH); either
                        the Rust virtiofsd or qemu's older C one
  --strip-signatures    put the modules into the initrd without their
                        signatures: faster under emulation (6.12's
                        virtio_mmio loads in 14 instead of 70 ms of guest
                        time), but the kernel is tainted, and a kernel
                        that enforces signatures refuses the modules; part
                        of the boot tuning, so needed only with --no-tune
  --overlay[=SIZE]      make the root writable: an overlay whose writes go to
                        a tmpfs of SIZE in the guest's memory (512m, 2g,
                        25%; default half the memory) and vanish when the
                        VM ends; ROOTFS itself is never written. Writes
                        beyond SIZE fail with "No space left on device".
                        The initrd gets the kernel's overlay module
  --net                 connect the guest to qemu's user-mode network: the
                        guest is 10.0.2.15 on a virtio-net device (eth0),
                        its connections go out through the host as qemu's
                        own, the host's services (its 127.0.0.1) are at
                        10.0.2.2, and 10.0.2.3 in /etc/resolv.conf asks the
                        host's resolver (a read-only ROOTFS without an
                        /etc/resolv.conf cannot get one: give it an empty
                        one, or use --overlay). Nothing outside reaches the guest:
                        no port is forwarded. The initrd gets virtio_net and
                        what it needs. Without --net the guest has only lo
  --hostname NAME       the guest's hostname (default: the first line of
                        ROOTFS's /etc/hostname, else "chrootvm"); at most 64
                        bytes, no white space or double quote
  --no-tune             boot without the boot tuning listed below: slower,
                        with every self-test and hardening of the kernel
                        and signed modules
  --icount              count the guest's time in executed instructions
                        (qemu -icount shift=0,sleep=off; TCG only, slower):
                        its clocks then repeat from boot to boot whatever
                        the host's load, for measurements (tools/cmd/bench)
  --debug               show the kernel's and /init's messages, the qemu and
                        virtiofsd command lines and what chrootvm decided
  -h, --help            show this help

Read-only: ROOTFS and every --mount-ro share are mounted read-only in the
guest (ROOTFS under the writable overlay of --overlay, whose writes stay
in the guest's memory). The Rust virtiofsd also serves them with
--readonly, so the host refuses writes even when the guest remounts them
read-write; the C virtiofsd, which has no such option, serves them from a
read-only bind mount in a mount namespace of its own, to the same effect.
--debug names the daemon, its dialect and read-only mode. With the C
virtiofsd a directory whose path holds a comma or a backslash cannot be
shared (its option parser would change the path): use the Rust one.

PROGRAM and ARGS may hold any bytes but NUL (quotes, newlines, "--",
empty strings, non-UTF-8), 128 KiB and more: they travel in a file of the
initrd, /init.argv, not on the kernel command line. A PROGRAM under
/run/mnt/TAG/ is looked for in the directory shared as TAG.

Channels: PROGRAM runs as a child of the guest's /init, which waits for
it, reaps the orphans, syncs the file systems and powers the VM off when
it ends. Its stdin, stdout and stderr are virtio-serial ports of their
own: what is piped into chrootvm reaches PROGRAM byte for byte and then
end of file; what PROGRAM writes reaches chrootvm's stdout and stderr
unchanged. Its end comes back on a fourth port that only /init writes;
nothing PROGRAM prints can end the VM or change the status. The kernel's
console goes to stderr with --debug, else nowhere (chrootvm keeps its
last 64 KiB to explain a failed boot).

Interactive use: when stdin and stdout are terminals, PROGRAM gets a
terminal of the guest (a virtio console) as its stdin, stdout, stderr
and controlling terminal, and chrootvm puts the host's terminal into raw
mode until it exits: every key goes to the guest, where Ctrl-C and Ctrl-Z
reach PROGRAM and its jobs. $TERM is passed on, and the terminal's size
as COLUMNS and LINES (a later resize does not reach the guest). The escape key Ctrl-]
kills the VM (status 137). Temporary files: $TMPDIR/chrootvm-*, removed
at exit; those of a chrootvm killed by SIGKILL are removed by the next
run. Initrds are kept for the next run with the same /init, kernel and
options in $XDG_CACHE_HOME/virtinit/initrd (default ~/.cache/...), 64 MiB
at most; $VIRTINIT_INITRD_CACHE names another directory, or "off".
$VIRTINIT_TIMES=FILE: chrootvm writes the moments of its run to FILE
(JSON: its start, qemu's start and end, its own end, and its CPU time
before qemu started).

Exit status:
  the program's own exit status; 128+N when a signal N killed it (137
  with a message when the guest's kernel ran out of memory and killed it)
  0    PROGRAM (or a process it started) asked for a shutdown before it
       ended: poweroff, halt or reboot, with -f or as a signal to PID 1;
       the guest then stops the rest and syncs, as at any end
  2    bad arguments
  117  data PROGRAM wrote to a --mount share could not be written back
       to the host (its disk full, say): the share is named. The C
       virtiofsd answers such a write with a short count, which the
       guest takes for success: with it, a share whose filesystem the
       run filled (less room at the end than at the start, and under
       64 KiB left beyond ext4's reserve of 2%, at most 16 MiB) may
       have lost data, which makes 117 after a program that succeeded,
       and is only said after one that failed
  118  the guest died while PROGRAM ran, without /init's word: the kernel
       panicked, qemu was killed, or the kernel powered off by itself
       (the reason is printed)
  119  the guest did not boot to the program (/init failed, the kernel
       panicked, or the guest ended without a word: the reason is printed)
  120  ROOTFS or a directory to share is missing, or cannot be read
  121  no kernel: none found in ROOTFS, --kernel or --modules missing,
       --kernel is not a kernel image, or the module tree lacks a module
       the initrd needs (virtiofs, its transport, virtio_console, overlay,
       virtio_net, the panic device's) or holds it broken (unreadable,
       not a module, another architecture's, in a cycle of dependencies)
  122  qemu not found
  123  virtiofsd not found
  124  --timeout expired
  125  chrootvm failed otherwise (among others: the C virtiofsd without
       root, whose sandboxes need it; the Rust one runs as any user:
       --virtiofsd PATH or $VIRTIOFSD)
  126  PROGRAM could not be run (in the guest: the error is printed)
  127  PROGRAM not found (in ROOTFS or its share, or by the guest)
  129, 130, 143  chrootvm was interrupted (SIGHUP, SIGINT, SIGTERM)
  141  PROGRAM's stdout or stderr was a pipe whose reader went away
       (chrootvm ... | head): the VM is stopped, as SIGPIPE would
  137  the escape key Ctrl-] killed the VM
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// app holds what every step of a run writes to, and what a second
// signal must undo before chrootvm exits at once.
type app struct {
	stderr io.Writer
	debug  bool

	mu      sync.Mutex
	restore func() // gives the terminal back; nil while it is not raw
}

func (a *app) errorf(format string, args ...any) {
	a.mu.Lock()
	w := a.stderr
	a.mu.Unlock()
	fmt.Fprintf(w, "chrootvm: "+format+"\n", args...)
}

func (a *app) debugf(format string, args ...any) {
	if a.debug {
		a.errorf(format, args...)
	}
}

// run is chrootvm's main, returning the exit status, so that every
// deferred clean-up runs before the process exits: it parses the
// arguments, plans the run, executes the plan, and turns how it ended
// into the exit status (exitStatus).
func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	start := time.Now()
	a := &app{stderr: stderr}
	// First of all: a signal from now on stops the run in order and
	// removes what it made, however early it comes.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	defer a.catchSignals(cancel)()

	o, err := parseArgs(argv)
	if err != nil {
		return cli.ReportUsage(stderr, "chrootvm", err)
	}
	if o.help {
		io.WriteString(stdout, usage+tuneHelp())
		return 0
	}
	a.debug = o.debug
	for _, d := range cleanStale(os.TempDir()) {
		a.debugf("removed %s, left by a chrootvm that was killed", d)
	}
	p, err := makePlan(o, terminalOf(stdin, stdout))
	for _, w := range p.warnings {
		a.errorf("%s", w)
	}
	if err != nil {
		return a.finish(outcome{err: err})
	}
	for _, n := range p.notes {
		a.debugf("%s", n)
	}
	defer a.restoreTerminal()
	e := &execution{app: a, p: p, o: o, cancel: cancel, stdin: stdin, stdout: stdout}
	code := a.finish(e.execute(ctx))
	a.writeTimes(start, e.times)
	return code
}

// terminalOf tells whether stdin and stdout are both terminals, and the
// environment a program on the guest's terminal gets.
func terminalOf(stdin io.Reader, stdout io.Writer) terminal {
	in, _ := stdin.(*os.File)
	out, _ := stdout.(*os.File)
	if in == nil || out == nil || !isTerminal(in) || !isTerminal(out) {
		return terminal{}
	}
	return terminal{tty: true, env: terminalEnv(int(out.Fd()))}
}

// finish says what stopped or failed the run and returns its exit
// status.
func (a *app) finish(out outcome) int {
	var i interrupted
	switch {
	case errors.As(out.stop, &i) && i.sig == syscall.SIGPIPE: // silent, as a program killed by it is
	case out.stop != nil:
		a.errorf("%v", out.stop)
	case out.err != nil:
		a.errorf("%v", out.err)
	}
	return exitStatus(out)
}

// catchSignals makes SIGINT, SIGTERM and SIGHUP stop the run in order:
// the context ends with the signal as its cause. A second one cuts the
// clean-up short: chrootvm gives the terminal back and exits at once
// with 128+N; qemu and the daemons die with it (their parent-death
// signal), and the next run removes the temporary directory. SIGHUP
// ignored on entry (nohup) stays ignored: Notify would undo that. It
// returns the function that stops catching them.
func (a *app) catchSignals(cancel context.CancelCauseFunc) (stop func()) {
	stopSignals := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		stopSignals = append(stopSignals, syscall.SIGHUP)
	}
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, stopSignals...)
	// A closed stdout (chrootvm ... | head) must not kill chrootvm
	// before it stops the VM and removes its files, as Go's default for
	// a broken pipe on fd 1 or 2 would: with SIGPIPE caught (and
	// dropped) the write fails with EPIPE, and pipeWriter ends the run.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	done := make(chan struct{})
	go func() {
		for n := 0; ; n++ {
			select {
			case s := <-signals:
				sig := s.(syscall.Signal)
				if n > 0 {
					a.errorf("interrupted again by %v: exiting without the clean-up", sig)
					a.restoreTerminal()
					os.Exit(128 + int(sig))
				}
				cancel(interrupted{sig})
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(signals)
		close(done)
	}
}

// makeRaw puts the terminal in into raw mode until restoreTerminal, and
// chrootvm's own messages into carriage-return line ends meanwhile.
func (a *app) makeRaw(in *os.File) error {
	raw, err := makeRaw(int(in.Fd()))
	if err != nil {
		return fmt.Errorf("put the terminal into raw mode: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.restore = raw.restore
	a.stderr = crlfWriter{a.stderr}
	return nil
}

// restoreTerminal gives the terminal back as it was, once: on every way
// out of run (a return, a panic) and on a second signal.
func (a *app) restoreTerminal() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.restore != nil {
		a.restore()
		a.restore = nil
	}
}

// interrupted is the cause of a run stopped by a signal.
type interrupted struct{ sig syscall.Signal }

func (i interrupted) Error() string { return "interrupted by " + i.sig.String() }

// pipeWriter is the program's stdout or stderr on the host: when the
// reader has gone (EPIPE), the run ends as a program killed by SIGPIPE
// would: the VM is stopped and chrootvm exits with 141.
type pipeWriter struct {
	w      io.Writer
	cancel context.CancelCauseFunc
}

func (p pipeWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if errors.Is(err, syscall.EPIPE) {
		p.cancel(interrupted{syscall.SIGPIPE})
	}
	return n, err
}

// crlfWriter writes "\n" as "\r\n": chrootvm's own messages while the
// terminal is raw, where a line feed does not return the carriage.
type crlfWriter struct{ w io.Writer }

func (c crlfWriter) Write(p []byte) (int, error) {
	if _, err := c.w.Write(bytes.ReplaceAll(bytes.ReplaceAll(p, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
