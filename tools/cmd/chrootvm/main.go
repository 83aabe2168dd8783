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
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// Exit statuses of chrootvm's own, besides the program's. They follow
// chroot(1) and timeout(1) where those have one.
const (
	exitUsage         = cli.ExitUsage // bad arguments
	exitNoBoot        = 119           // the guest did not boot to the program
	exitNoRootfs      = 120           // ROOTFS or a --mount directory is missing
	exitNoKernel      = 121           // no kernel found, or --kernel/--modules missing
	exitNoQemu        = 122
	exitNoVirtiofsd   = 123
	exitTimeout       = 124 // as timeout(1)
	exitFailed        = 125 // any other failure, as chroot(1)
	exitNotExecutable = 126 // as chroot(1)
	exitNotFound      = 127 // as chroot(1)
	exitKilled        = 137 // the escape key killed the VM, as SIGKILL would a program
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
                        tree of the same KVER next to the kernel or in ROOTFS)
  --arch x86_64|aarch64 the architecture to emulate (default: the kernel's,
                        read from its image; else that of ROOTFS's programs)
  --machine microvm|q35|pc|virt
                        the qemu machine (x86_64: microvm where the kernel
                        has virtio_mmio, built in or as a module, else q35;
                        pc only when asked for; aarch64: virt)
  --transport mmio|pci  the virtiofs devices' bus (default: mmio where the
                        kernel has virtio_mmio, else pci); on x86_64, mmio
                        means microvm and pci q35
  --memory SIZE         guest memory, e.g. 512M or 2G (default 1G)
  --cpus N              virtual CPUs (default 1)
  --timeout DURATION    stop the VM after DURATION (90s, 5m, or seconds)
                        and exit with status 124
  --append ARGS         add ARGS to the kernel command line (repeatable);
                        an unbalanced double quote, rd.emergency=halt and
                        panic=0 are refused (the VM would never end), and
                        so are rd.supervise (chrootvm's own) and
                        rd.overlay (use --overlay)
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
read-write. The C virtiofsd has no such option: there only the guest's
mount flag protects them, and a guest that remounts read-write can write
to the host's directory. --debug names the daemon, its dialect and
read-only mode.

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
run.

Exit status:
  the program's own exit status; 128+N when a signal N killed it
  2    bad arguments
  119  the guest did not boot to the program (/init failed, the kernel
       panicked, or the guest ended without a word: the reason is printed)
  120  ROOTFS or a directory to share is missing
  121  no kernel: none found in ROOTFS, --kernel or --modules missing,
       --kernel is not a kernel image, or the module tree lacks a module
       the initrd needs (virtiofs, its transport, virtio_console, overlay)
  122  qemu not found
  123  virtiofsd not found
  124  --timeout expired
  125  chrootvm failed otherwise
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

// app holds what every step of a run writes to.
type app struct {
	stderr io.Writer
	debug  bool
}

func (a *app) errorf(format string, args ...any) {
	fmt.Fprintf(a.stderr, "chrootvm: "+format+"\n", args...)
}

func (a *app) debugf(format string, args ...any) {
	if a.debug {
		a.errorf(format, args...)
	}
}

// run is chrootvm's main, returning the exit status, so that every
// deferred clean-up runs before the process exits.
func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// First of all: a signal from now on stops the run in order and
	// removes what it made, however early it comes. SIGHUP ignored on
	// entry (nohup) stays ignored: Notify would undo that.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stopSignals := []os.Signal{syscall.SIGINT, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		stopSignals = append(stopSignals, syscall.SIGHUP)
	}
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, stopSignals...)
	defer signal.Stop(signals)
	// A closed stdout (chrootvm ... | head) must not kill chrootvm
	// before it stops the VM and removes its files, as Go's default for
	// a broken pipe on fd 1 or 2 would: with SIGPIPE caught (and
	// dropped) the write fails with EPIPE, and pipeWriter ends the run.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGPIPE)
	go func() {
		select {
		case s := <-signals:
			cancel(interrupted{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()

	o, err := parseArgs(argv)
	if err != nil {
		return cli.ReportUsage(stderr, "chrootvm", err)
	}
	if o.help {
		io.WriteString(stdout, usage+tuneHelp())
		return 0
	}
	a := &app{stderr: stderr, debug: o.debug}
	return a.boot(ctx, cancel, o, stdin, stdout)
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

// errEscape is the cause of a run stopped by the escape key.
var errEscape = errors.New("the escape key " + escapeName + " killed the VM")

// stopped returns the exit status of a run stopped by a signal or the
// escape key, and whether it was stopped.
func (a *app) stopped(ctx context.Context) (int, bool) {
	cause := context.Cause(ctx)
	var i interrupted
	switch {
	case errors.As(cause, &i):
		if i.sig != syscall.SIGPIPE { // silent, as a program killed by it is
			a.errorf("%v", cause)
		}
		return 128 + int(i.sig), true
	case errors.Is(cause, errEscape):
		a.errorf("%v", cause)
		return exitKilled, true
	}
	return 0, false
}

// consoleKeep is how much of the kernel's console a run keeps to explain
// a boot that failed.
const consoleKeep = 64 << 10

func (a *app) boot(ctx context.Context, cancel context.CancelCauseFunc, o *options, stdin io.Reader, stdout io.Writer) int {
	for _, d := range cleanStale(os.TempDir()) {
		a.debugf("removed %s, left by a chrootvm that was killed", d)
	}
	rootfs, err := filepath.Abs(o.rootfs)
	if err != nil {
		a.errorf("ROOTFS %s: %v", o.rootfs, err)
		return exitNoRootfs
	}
	if msg := dirProblem(rootfs); msg != "" {
		a.errorf("ROOTFS %s %s", o.rootfs, msg)
		return exitNoRootfs
	}
	for _, m := range o.mounts {
		if msg := dirProblem(m.Path); msg != "" {
			a.errorf("directory for tag %s: %s %s", m.Tag, m.Path, msg)
			return exitNoRootfs
		}
	}

	k, code := a.kernel(o, rootfs)
	if code != 0 {
		return code
	}
	program, err := findProgram(rootfs, o.program, o.mounts)
	if err != nil {
		a.errorf("%v", err)
		var pe *programError
		if errors.As(err, &pe) {
			return pe.code
		}
		return exitFailed
	}
	kernelsArch := k.arch
	rootsArch, rootProgram := rootfsArch(rootfs, program)
	guest, warnings, err := chooseArch(o.arch, k.image, kernelsArch, rootsArch, rootProgram)
	if err != nil {
		a.errorf("%v", err)
		return exitUsage
	}
	for _, w := range warnings {
		a.errorf("%s", w)
	}
	machine, transport, err := chooseMachine(guest, o.machine, o.transport, k.modules)
	if err != nil {
		a.errorf("%v", err)
		if cli.IsUsage(err) {
			return exitUsage
		}
		return exitNoKernel
	}
	a.debugf("kernel %s (%s), modules %s, machine %s, virtio-%s", k.image, guest, orNone(k.modules), machine, transport)

	ga, _ := cpuarch.Lookup(guest)
	// A terminal on both ends makes an interactive run: the program gets
	// a terminal of the guest. Otherwise its stdio are plain ports, byte
	// for byte.
	in, _ := stdin.(*os.File)
	out, _ := stdout.(*os.File)
	tty := in != nil && out != nil && isTerminal(in) && isTerminal(out)
	supervise, env := "ports", []string(nil)
	if tty {
		supervise, env = "tty", terminalEnv(int(out.Fd()))
	}
	appends := o.appends
	if o.overlay {
		appends = append([]string{contract.OverlayWord(o.overlaySize)}, appends...)
	}
	line, err := cmdline(ga.Console, supervise, o.mounts, appends, env, o.debug)
	if err != nil {
		a.errorf("%v", err)
		return exitUsage
	}

	// The parts that may be missing from the host, before any work.
	qemu, err := vm.FindQemu(guest)
	if err != nil {
		a.errorf("%v (install %s)", err, ga.QemuPackage)
		return exitNoQemu
	}
	fsd, err := vm.FindVirtiofsd(o.virtiofsd)
	switch {
	case err != nil && o.virtiofsd != "":
		a.errorf("--virtiofsd %s: %v", o.virtiofsd, err)
		return exitNoVirtiofsd
	case err != nil:
		a.errorf("%v (install virtiofsd, or qemu-system-common on Debian 12)", err)
		return exitNoVirtiofsd
	}
	a.debugf("virtiofsd %s", fsd)
	initBin, err := findInit(o.init, guest)
	if err != nil {
		a.errorf("%v", err)
		return exitFailed
	}

	dir, err := makeTempDir(os.TempDir())
	if err != nil {
		a.errorf("%v", err)
		return exitFailed
	}
	defer dir.remove()
	// The ports need virtio_console: a module on Debian's 6.1, built in
	// on 6.12 (then it stays out of the initrd).
	var modules []string
	if k.modules != "" {
		modules = []string{"virtio_console"}
	}
	if o.overlay {
		modules = append(modules, initrd.OverlayModule)
	}
	initrdPath := filepath.Join(dir.path, "initrd")
	rep, err := initrd.WriteFile(initrdPath, initrd.Options{
		Init:            initBin,
		ModulesDir:      k.modules,
		Modules:         modules,
		Transport:       transport,
		StripSignatures: o.strip || !o.noTune && vm.TuneStripsSignatures(),
		Argv:            append([]string{program}, o.args...),
	})
	if errors.Is(err, initrd.ErrNoModule) {
		a.errorf("build the initrd: %v", err)
		return exitNoKernel // the kernel's modules are missing, as --help says
	}
	if err != nil {
		a.errorf("build the initrd: %v", err)
		return exitFailed
	}
	a.debugf("initrd with /init %s, modules %s, built in %s", initBin, orNone(strings.Join(rep.Modules, " ")), orNone(strings.Join(rep.Builtin, " ")))
	if code, ok := a.stopped(ctx); ok {
		return code
	}

	var status limitedBuffer
	ports := []vm.Port{{Name: contract.PortStatus, Out: &status}}
	log := a.stderr
	if tty {
		raw, err := makeRaw(int(in.Fd()))
		if err != nil {
			a.errorf("put the terminal into raw mode: %v", err)
			return exitFailed
		}
		// Restored on every way out of this function: the return (a
		// signal or the escape key ends the run by returning too) and a
		// panic, which runs the deferred calls on its way.
		defer raw.restore()
		log = crlfWriter{a.stderr}
		a.stderr = log
		a.debugf("interactive: the escape key %s kills the VM", escapeName)
		keys := &escapeReader{r: in, escaped: func() { cancel(errEscape) }}
		ports = append(ports, vm.Port{Name: contract.PortTTY, Console: true, In: keys, Out: stdout})
	} else {
		ports = append(ports,
			vm.Port{Name: contract.PortStdin, In: stdin},
			vm.Port{Name: contract.PortStdout, Out: pipeWriter{stdout, cancel}},
			vm.Port{Name: contract.PortStderr, Out: pipeWriter{a.stderr, cancel}})
	}
	var console io.Writer
	if o.debug {
		console = log
	}
	shares := append([]vm.Share{{Tag: contract.RootTag, Path: rootfs, ReadOnly: true}}, o.mounts...)
	res, err := vm.Run(ctx, vm.Config{
		Arch:         guest,
		Machine:      machine,
		Transport:    transport,
		Kernel:       k.image,
		Initrd:       initrdPath,
		Append:       line,
		Shares:       shares,
		Qemu:         qemu,
		Virtiofsd:    fsd,
		Memory:       o.memory,
		Tune:         !o.noTune,
		Icount:       o.icount,
		CPUs:         o.cpus,
		NoReboot:     true,
		Ports:        ports,
		ExitOnly:     true,
		Console:      console,
		ConsoleLimit: consoleKeep,
		TempDir:      dir.path,
		Timeout:      o.timeout,
		Debug:        o.debug,
		Log:          log,
	})
	if code, ok := a.stopped(ctx); ok {
		return code
	}
	return a.status(res, err, status.Bytes(), o)
}

// dirProblem says what is wrong with a directory to share, or "".
func dirProblem(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case err != nil:
		return err.Error()
	case !fi.IsDir():
		return "is not a directory"
	}
	return ""
}

// limitedBuffer keeps what the status port carries: one short line, so
// anything past 4 KiB is not a record, and is not kept.
type limitedBuffer struct {
	mu   sync.Mutex
	b    []byte
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b)+len(p) > 4096 {
		l.over = true
	} else {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

// Bytes is what was written, or nil when it was too much to be a record.
func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.over {
		return nil
	}
	return append([]byte(nil), l.b...)
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

// kernel finds the kernel and its modules, or returns the exit status.
func (a *app) kernel(o *options, rootfs string) (kernel, int) {
	var k kernel
	if o.kernel != "" {
		if why := notFile(o.kernel); why != "" {
			a.errorf("--kernel %s: %s", o.kernel, why)
			return k, exitNoKernel
		}
		k.image = o.kernel
		if o.modules == "" {
			k.modules = modulesOf(o.kernel, rootfs)
		}
	} else {
		var err error
		if k, err = findKernel(rootfs); err != nil {
			a.errorf("%v", err)
			return k, exitNoKernel
		}
	}
	if o.modules != "" {
		if !isDir(o.modules) {
			a.errorf("--modules %s: not a directory", o.modules)
			return k, exitNoKernel
		}
		k.modules = o.modules
	}
	// Not a kernel image: said in one line, before anything else about
	// the kernel.
	arch, err := kernelArch(k.image)
	if err != nil {
		a.errorf("%v", err)
		return k, exitNoKernel
	}
	if arch == "" {
		a.errorf("%s is not a kernel image (no bzImage, arm64 Image, EFI or ELF header)", k.image)
		return k, exitNoKernel
	}
	k.arch = arch
	if k.modules == "" {
		a.errorf("warning: no module tree for %s: the initrd holds no modules (pass --modules DIR unless virtiofs is built in)", k.image)
	}
	return k, 0
}

// chooseMachine picks the machine and the virtio transport of the
// virtiofs devices, which the initrd must carry the module of. virtio-mmio
// reaches the program sooner than virtio-pci: on x86_64 because microvm
// boots faster than q35 (../shared/BOOT-NOTES.md), on aarch64's virt,
// which has both buses, because virtio_mmio is one small module where
// virtio_pci is three and the device needs no PCI setup (Debian's 6.1,
// cortex-a57, TCG: the program started 10 ms of guest time sooner under
// -icount, 837 against 848 ms, and /init took 171 against 187 ms in the
// medians of ten boots without it). So mmio is the default where the kernel has
// virtio_mmio, built in or as a module. A kernel without a module tree is
// taken to have it only when it is asked for.
func chooseMachine(arch, machine, transport, modules string) (string, string, error) {
	// A machine with virtio-mmio only (microvm) asks for it too.
	mmio := transport == "mmio" || slices.Equal(vm.MachineTransports(machine), []string{"mmio"})
	if modules != "" {
		builtin, loadable, err := initrd.ModuleAvailable(modules, "virtio_mmio")
		if err != nil {
			return "", "", fmt.Errorf("module tree %s: %w", modules, err)
		}
		mmio = builtin || loadable
	}
	if transport == "" {
		switch ts := vm.MachineTransports(machine); {
		case len(ts) == 1:
			transport = ts[0]
		case mmio:
			transport = "mmio"
		default:
			transport = "pci"
		}
	}
	if transport == "mmio" && !mmio {
		return "", "", fmt.Errorf("the kernel of %s has no virtio_mmio, which microvm and --transport mmio need; use --transport pci", modules)
	}
	want := vm.MachineFor(arch, transport)
	if machine == "" {
		return want, transport, nil
	}
	if !slices.Contains(vm.MachineNames(arch), machine) || !slices.Contains(vm.MachineTransports(machine), transport) {
		return "", "", cli.Usagef("--machine %s cannot have %s virtio-%s devices (it takes --machine %s)", machine, arch, transport, want)
	}
	return machine, transport, nil
}

// status reports how the VM ended and turns it into chrootvm's exit
// status. The end comes from the status port alone: the guest's record,
// or none when the guest did not boot to the program. The console is
// only shown, to explain a failed boot.
func (a *app) status(res *vm.Result, err error, statusPort []byte, o *options) int {
	switch {
	case errors.Is(err, vm.ErrNoQemu):
		a.errorf("%v", err)
		return exitNoQemu
	case errors.Is(err, vm.ErrNoVirtiofsd):
		a.errorf("%v", err)
		return exitNoVirtiofsd
	case err != nil:
		a.errorf("%v", err)
		return exitFailed
	case res.TimedOut:
		a.errorf("timed out after %v", o.timeout)
		return exitTimeout
	}
	rec := parseRecord(statusPort)
	switch rec.Kind {
	case contract.RecordExit:
		a.debugf("the program exited with status %d", rec.N)
	case contract.RecordSignal:
		a.debugf("the program was killed by signal %d (%v)", rec.N, syscall.Signal(rec.N))
	case contract.RecordExec:
		a.errorf("%s", rec.Text)
	case contract.RecordFatal:
		a.errorf("the guest did not boot to the program: %s", rec.Text)
	default:
		a.errorf("the guest did not boot to the program (it ended without a status record)")
		if len(statusPort) > 0 {
			a.errorf("the status port carried %q, which is no record", statusPort)
		}
		for _, l := range bootLines(res.Output) {
			a.errorf("console: %s", l)
		}
		if !o.debug {
			a.errorf("--debug shows the whole console")
		}
	}
	return rec.exitStatus()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
