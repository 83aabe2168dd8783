// Package vm boots one virtual machine whose file systems are host
// directories shared over virtiofs. Run starts one virtiofsd per share,
// runs qemu with the kernel, initrd and command line it is given, copies
// the guest's serial console to the caller as it arrives, and decodes how
// the guest ended: the exit status of its PID 1, a clean power-off, or a
// timeout.
//
// The guest's exit status comes from the kernel itself. When PID 1 exits,
// the kernel panics with "Attempted to kill init! exitcode=0x%08x", the
// number being PID 1's wait status (kernel/exit.c, do_exit); with panic=-1
// on the command line and NoReboot the VM then ends at once. Run reads
// that line from the console. A clean power-off or reboot ("reboot: Power
// down", "reboot: Restarting system", kernel/reboot.c) counts as status 0.
//
// That reading is in-band: a program that prints those words forges them.
// It is kept for a guest whose PID 1 is the program itself (osbuild's
// flow). A supervised guest reports its end on virtio-serial ports
// instead (Config.Ports), and Config.Ending QemuExit makes qemu's exit the
// only end of the VM: the console is then never read.
package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
)

// Share is one host directory given to the guest as a virtiofs tag.
type Share struct {
	Tag      string
	Path     string
	ReadOnly bool
	// Mmap lets the guest map a read-write share's files MAP_SHARED: the
	// share is then served with the "auto" cache policy instead of
	// "never" (see cachePolicy), whose direct I/O refuses such mappings.
	// The price: a file the guest holds open may not show what the host
	// writes to it later.
	Mmap bool
}

// Config describes one boot.
type Config struct {
	Arch      string  // "x86_64" (default) or "aarch64" (Go's names too; see cpuarch)
	Machine   string  // "q35" (default on x86_64), "microvm", "pc", "virt" (default on aarch64)
	Transport string  // the virtiofs devices' bus: "pci" or "mmio"; "" = the machine's default (see machines)
	Kernel    string  // the kernel image
	Initrd    string  // the initrd; "" for none
	Append    string  // the whole kernel command line; the caller composes it (see machine parameters below)
	Shares    []Share // one virtiofsd and one vhost-user-fs device each
	// Qemu and Virtiofsd are the programs Run starts, as the caller
	// found them (FindQemu, FindVirtiofsd; FindPrograms does both): Run
	// looks nothing up. Virtiofsd is needed with Shares only.
	Qemu      string
	Virtiofsd Virtiofsd
	Memory    string // guest memory, qemu syntax ("512M", "2G"); default "1G"
	CPUs      int    // default 1
	Icount    bool   // -icount shift=0,sleep=off: guest time follows executed instructions (TCG only)
	Tune      bool   // the boot tuning: the Levers of the architecture and machine (tune.go)
	NoReboot  bool   // -no-reboot: a guest reboot ends the VM
	Net       bool   // a virtio-net device on qemu's user-mode network (see UserNetWord)
	// PanicDevice gives an x86_64 guest qemu's ISA pvpanic device (found
	// through ACPI by the pvpanic_mmio module): a kernel panic ends the
	// VM whatever the guest's panic= says, and Result.Panicked tells it.
	PanicDevice bool
	ExtraArgs   []string  // appended to the qemu command line
	Ports       []Port    // virtio-serial ports, each on a socket of its own (see Port)
	Console     io.Writer // guest serial output is copied here as it arrives (may be nil)
	// Ending tells the guest's end from the console: KernelWords (nil)
	// or QemuExit (see Ending).
	Ending Ending
	// ConsoleLimit bounds Result.Output to the last ConsoleLimit bytes
	// of the console, which are all the Ending's Result reads; 0 keeps
	// all of it.
	ConsoleLimit int
	// TempDir is where Run makes its private directory (the sockets);
	// "" is the system's temporary directory.
	TempDir string
	// Stdin is the serial console's input (nil: none): a pipe or a
	// file, as a test types on the console of a guest whose program runs
	// there (rd.supervise=console). Not a terminal: qemu runs in a
	// process group of its own, so that a Ctrl-C reaches only the caller,
	// and there a read of the terminal would stop it (SIGTTIN). A person
	// at a terminal is chrootvm's case, on a virtconsole port (Port).
	Stdin   io.Reader
	Timeout time.Duration // 0 = none; on expiry the VM is stopped and Result.TimedOut set
	Debug   bool          // write debug messages to Log
	Log     io.Writer     // debug messages: command lines, virtiofsd dialect, read-only caveat, daemons' output
}

// Result tells how the guest ended.
type Result struct {
	Output   []byte // everything the guest printed on the serial console
	TimedOut bool
	// ExitCode is the guest program's exit status: decoded from the
	// kernel's "Attempted to kill init! exitcode=0x..." line (the wait
	// status: code >> 8, or 128+signal for a program killed by a signal),
	// 0 on a clean power-off or reboot, -1 when unknown.
	ExitCode int
	End      End    // how the guest ended, as the kernel told
	Panic    string // the kernel's panic message, if it panicked
	// QemuSaid is qemu's last lines on stderr, "; "-joined: qemu's own
	// word on its end ("terminating on signal 15 from pid N").
	QemuSaid string
	// Panicked: with PanicDevice, the guest's kernel told qemu it
	// panicked (qemu exited with status 1 and said nothing).
	Panicked bool
	// InputErrors are the read errors that ended a port's In early, as
	// its end does ("port virtinit.stdin: read /dev/stdin: is a
	// directory"): the guest saw end of file.
	InputErrors []string
	Times       Times
}

// Times are the moments of a run on the host's clock, for a caller that
// reports where its time goes (tools/cmd/bench): before them is the
// caller's and Run's preparation, after QemuEnd their teardown.
type Times struct {
	QemuStart time.Time // qemu's process started
	QemuEnd   time.Time // qemu's process ended
	// PrepCPU is the host CPU time (user and system) the calling process
	// and the children it waited for (virtiofsd --help) had used when
	// qemu started: its own preparation, which on a loaded host takes
	// far less CPU than wall time.
	PrepCPU time.Duration
}

// cpuTime is the user and system time of the process and of the
// children it has waited for (getrusage(2)).
func cpuTime() time.Duration {
	var d time.Duration
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			d += time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	return d
}

// ErrNoQemu and ErrNoVirtiofsd are wrapped by the errors of Run,
// FindQemu and FindVirtiofsd when the program is not installed.
var (
	ErrNoQemu      = errors.New("qemu not found")
	ErrNoVirtiofsd = errors.New("virtiofsd not found")
)

// Bounds of the waits in Run. None of them delays a boot that goes well:
// each one only limits how long Run waits for something to happen.
var (
	// endGrace is how long qemu may keep running after the guest's kernel
	// announced the end (a panic, power-off, reboot or halt) or after a
	// virtiofsd exited. A panicked kernel without panic= never ends the
	// VM by itself, and a halted one neither.
	endGrace = 3 * time.Second
	// stopGrace is how long a child has between SIGTERM and SIGKILL. qemu
	// restores the terminal on SIGTERM, so it gets the chance.
	stopGrace = 5 * time.Second
)

// stopOnCancel makes cmd stop as every child of Run does when its
// context ends: SIGTERM, then SIGKILL if it still runs stopGrace later
// (os/exec's Cancel and WaitDelay).
func stopOnCancel(cmd *exec.Cmd) {
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
}

// tempDir is where Run makes its private directory; "" is os.TempDir.
// Tests point it elsewhere to see that nothing is left behind.
var tempDir = ""

// Causes of the end of a qemu process that Run brought about.
var (
	errTimedOut    = errors.New("timed out")
	errGuestEnded  = errors.New("guest ended but qemu did not exit")
	errDaemonEnded = errors.New("virtiofsd exited while the guest was running")
)

// Run boots the VM described by c and returns when qemu has exited. It
// starts one virtiofsd per share, each on a socket Run has already bound
// and listens on, so qemu never waits for a daemon to come up and never
// finds a socket missing (probing a socket by connecting to it is not an
// option: both virtiofsd implementations serve exactly one connection and
// exit when it closes). Every child is stopped and every temporary file
// removed on every path, cancellation included.
//
// The command line gets parameters in front of c.Append where the machine
// needs them. On microvm: reboot=t, because the kernel's ACPI reboot there
// may fall back to jumping into the firmware, which boots the kernel again
// instead of ending the VM. On x86_64 under TCG (without Icount, whose
// virtual time no host load disturbs): tsc_early_khz= with the host's TSC
// rate, which is the rate of a TCG guest's TSC, and no_timer_check. On a
// loaded host the guest's PIT calibration of the TSC fails; microvm has
// neither HPET nor ACPI PM timer to recover and hangs, q35 recovers slowly;
// and the IO-APIC timer check fails, a panic ("IO-APIC + timer doesn't
// work!"). Both were seen here with two busy host threads. Under Icount
// the same two words, with the rate of the instruction counter's TSC.
// With Tune, the tuning's kernel parameters (TuneParams) follow, and its
// -machine properties join the machine's.
//
// On an error after qemu ran, the Result is returned too, with what the
// guest printed.
func Run(ctx context.Context, c Config) (*Result, error) {
	c, err := c.normalize()
	if err != nil {
		return nil, err
	}
	if c.Qemu == "" {
		return nil, errors.New("vm: no qemu (Config.Qemu; FindQemu finds it)")
	}
	if len(c.Shares) > 0 && c.Virtiofsd.Path == "" {
		return nil, errors.New("vm: shares without a virtiofsd (Config.Virtiofsd; FindVirtiofsd finds it)")
	}
	log := newLogger(c.Log, c.Debug)
	fsd := c.Virtiofsd
	if len(c.Shares) > 0 {
		log.printf("virtiofsd %s", fsd)
		if err := fsd.dialect().check(c.Shares); err != nil {
			return nil, err
		}
		if err := fsd.checkPrivileges(effectiveCaps()); err != nil {
			return nil, err
		}
	}
	a, _ := cpuarch.Lookup(c.Arch)
	p := plan{
		accel: "tcg",
		cpu:   a.TCGCPU,
	}
	if host, ok := cpuarch.Host(); ok && host.Name == a.Name && !c.Icount && KVMUsable() {
		p.accel, p.cpu = "kvm", "host"
	}
	var measureTSC bool
	p.params, p.machineOptions, measureTSC = bootParams(c, p.accel)
	var tsc chan int64
	if measureTSC {
		// Measured while the daemons start.
		tsc = make(chan int64, 1)
		go func() { tsc <- knownTSCkHz() }()
	}

	tmp := tempDir
	if c.TempDir != "" {
		tmp = c.TempDir
	}
	dir, err := os.MkdirTemp(tmp, "virtinit-vm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ports, portSockets, err := listenPorts(c.Ports, dir)
	if err != nil {
		return nil, err
	}
	defer closePorts(ports)
	p.portSockets = portSockets

	var daemons []*daemon
	defer func() { stopDaemons(daemons) }()
	for i, s := range c.Shares {
		sock := filepath.Join(dir, fmt.Sprintf("fs%d.sock", i))
		d, err := startDaemon(fsd, s, sock, log)
		if err != nil {
			return nil, err
		}
		daemons = append(daemons, d)
		p.sockets = append(p.sockets, sock)
		if s.ReadOnly && fsd.Rust && !fsd.ReadOnly {
			log.printf("share %s: this virtiofsd cannot refuse writes; only the guest's read-only mount protects %s", s.Tag, s.Path)
		}
	}

	if tsc != nil {
		if khz := <-tsc; khz > 0 {
			p.params = append(p.params, fmt.Sprintf("tsc_early_khz=%d", khz))
		} else {
			log.printf("host TSC rate unknown: the guest calibrates its TSC against the PIT")
		}
	}
	if err := checkLine(p.params, c.Append); err != nil {
		return nil, err
	}
	args := qemuArgs(c, p)
	log.printf("qemu command: %s", shellQuote(append([]string{c.Qemu}, args...)))
	return runQemu(ctx, c, c.Qemu, args, daemons, ports, log)
}

// joinLine is the kernel command line qemu gets: Run's parameters, then
// the caller's line.
func joinLine(params []string, line string) string {
	return strings.Join(append(params[:len(params):len(params)], line), " ")
}

// checkLine refuses a final command line longer than the kernel takes.
// The caller's check (contract.Cmdline) cannot know what Run adds, and
// the kernel would cut the line short without a word.
func checkLine(params []string, line string) error {
	if n := len(joinLine(params, line)); n >= contract.CommandLineSize {
		return fmt.Errorf("vm: the kernel command line is %d bytes with the machine's, the tuning's and the clock's %d words, longer than the kernel takes (%d)", n, len(params), contract.CommandLineSize-1)
	}
	return nil
}

// FindPrograms sets c.Qemu and, when c has shares, c.Virtiofsd, as
// FindQemu and FindVirtiofsd(virtiofsd) find them: for a caller with
// nothing to decide between finding them and Run.
func (c *Config) FindPrograms(virtiofsd string) error {
	q, err := FindQemu(c.Arch)
	if err != nil {
		return err
	}
	c.Qemu = q
	if len(c.Shares) > 0 && c.Virtiofsd.Path == "" {
		if c.Virtiofsd, err = FindVirtiofsd(virtiofsd); err != nil {
			return err
		}
	}
	return nil
}

// bootParams returns the kernel parameters Run puts in front of
// c.Append, the -machine properties it adds to the machine's own, and
// whether the host's TSC rate is to be measured and given as
// tsc_early_khz= after the parameters (see Run).
func bootParams(c Config, accel string) (params []string, machineOptions string, measureTSC bool) {
	params = slices.Clone(machines[c.Machine].params)
	if c.Tune {
		params = append(params, TuneParams(c.Arch, c.Machine)...)
		machineOptions = tuneMachineOptions(c.Arch, c.Machine)
	}
	if accel != "tcg" || c.Arch != "x86_64" {
		return params, machineOptions, false
	}
	params = append(params, "no_timer_check")
	if c.Icount {
		// The same words as without Icount, so that a measured boot is
		// the one chrootvm starts. With -icount shift=0 the guest's TSC
		// counts virtual nanoseconds, one per instruction (qemu's
		// cpu_get_ticks follows the instruction counter): 1 GHz exactly.
		// Given the host's rate instead, the guest's clocks would run
		// slow by the host's GHz and every time it reports would shrink
		// by that factor.
		return append(params, fmt.Sprintf("tsc_early_khz=%d", icountTSCkHz)), machineOptions, false
	}
	return params, machineOptions, true
}

// runQemu runs qemu to its end and tells what happened.
func runQemu(ctx context.Context, c Config, qemu string, args []string, daemons []*daemon, ports []*portServer, log *logger) (*Result, error) {
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(runCtx, c.Timeout, errTimedOut)
		defer cancel()
	}

	cons := newConsole(c.Console, c.Ending, c.ConsoleLimit)
	stderr := newTail(log.prefixed("qemu: "))
	cmd := exec.CommandContext(runCtx, qemu, args...)
	cmd.Stdin = c.Stdin
	cmd.Stdout = cons
	cmd.Stderr = stderr
	stopOnCancel(cmd)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Its own group, so that a Ctrl-C reaches only us and we stop
		// it in order (hence Config.Stdin is no terminal).
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	started, prepCPU := time.Now(), cpuTime()
	for _, s := range ports {
		s.start()
	}

	qemuDone := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch(cons, daemons, qemuDone, stop, log)
	}()
	waitErr := cmd.Wait()
	ended := time.Now()
	close(qemuDone)
	<-watched
	portErr := drainPorts(ports)

	res := cons.result()
	res.InputErrors = inputErrors(ports)
	res.QemuSaid = stderr.lastLines(3)
	res.Times = Times{QemuStart: started, QemuEnd: ended, PrepCPU: prepCPU}
	cause := context.Cause(runCtx)
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("vm stopped: %w", context.Cause(ctx))
	case errors.Is(cause, errTimedOut):
		res.TimedOut = true
		return res, nil
	case errors.Is(cause, errGuestEnded):
		log.printf("qemu stopped after the guest ended (%s)", res.End)
		return res, nil
	case errors.Is(cause, errDaemonEnded):
		return res, fmt.Errorf("%w%s", errDaemonEnded, daemonReport(daemons))
	case c.PanicDevice && isExit(waitErr, 1) && stderr.lastLines(1) == "(no output)":
		// panic=exit-failure: qemu exits at once, without a word; its
		// own failures all say why.
		res.Panicked = true
		return res, nil
	case waitErr != nil:
		return res, fmt.Errorf("qemu: %w: %s%s", waitErr, stderr.lastLines(8), daemonReport(daemons))
	case portErr != nil:
		return res, portErr
	}
	return res, nil
}

// isExit tells whether err is a process's exit with status code.
func isExit(err error, code int) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == code
}

// watch stops qemu, with cause, endGrace after the guest's kernel
// announced the end or a virtiofsd exited, unless qemu exits first. A
// halted guest never ends the VM: it is stopped at once.
func watch(cons *console, daemons []*daemon, qemuDone <-chan struct{}, stop context.CancelCauseFunc, log *logger) {
	died := make(chan *daemon, len(daemons))
	for _, d := range daemons {
		go func() {
			select {
			case <-d.done:
				died <- d
			case <-qemuDone:
			}
		}()
	}
	var cause error
	select {
	case <-qemuDone:
		return
	case <-cons.ended:
		cause = errGuestEnded
		if cons.announced() == EndHalt {
			stop(cause)
			return
		}
	case d := <-died:
		log.printf("virtiofsd for %s exited: %s", d.share.Tag, exitText(d.err))
		d.first = true
		cause = errDaemonEnded
	}
	t := time.NewTimer(endGrace)
	defer t.Stop()
	select {
	case <-qemuDone:
	case <-t.C:
		stop(cause)
	}
}

// daemonReport describes the daemons that ended, with their last words:
// the one that ended first (while the guest ran), then the others, which
// end when qemu does.
func daemonReport(daemons []*daemon) string {
	var b strings.Builder
	for _, d := range daemons {
		if d.first {
			fmt.Fprintf(&b, "\nvirtiofsd for %s (%s) exited first, while the guest ran: %s: %s", d.share.Tag, d.share.Path, exitText(d.err), d.stderr.lastLines(8))
		}
	}
	for _, d := range daemons {
		select {
		case <-d.done:
			if !d.first {
				fmt.Fprintf(&b, "\nvirtiofsd for %s (%s) exited after it: %s", d.share.Tag, d.share.Path, exitText(d.err))
			}
		default:
		}
	}
	return b.String()
}

// exitText says how a process ended, from exec's Wait: "exit status 0"
// rather than a nil error.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// normalize fills in the defaults and rejects what qemu would reject later
// with a less clear message.
func (c Config) normalize() (Config, error) {
	a := cpuarch.Default()
	if c.Arch != "" {
		var ok bool
		if a, ok = cpuarch.Lookup(c.Arch); !ok {
			return c, fmt.Errorf("vm: unknown architecture %q (want %s)", c.Arch, strings.Join(cpuarch.Names(), " or "))
		}
	}
	c.Arch = a.Name
	if c.Machine == "" {
		c.Machine = a.Machine
	}
	if m, ok := machines[c.Machine]; !ok || m.arch != c.Arch {
		return c, fmt.Errorf("vm: machine %q is not one of %s", c.Machine, strings.Join(MachineNames(c.Arch), ", "))
	}
	if c.Transport == "" {
		c.Transport = machines[c.Machine].transports[0]
	}
	if !slices.Contains(machines[c.Machine].transports, c.Transport) {
		return c, fmt.Errorf("vm: transport %q: machine %s has %s", c.Transport, c.Machine, strings.Join(machines[c.Machine].transports, " or "))
	}
	if c.Memory == "" {
		c.Memory = "1G"
	}
	if !ValidMemory(c.Memory) {
		return c, fmt.Errorf("vm: memory size %q: want a number with an optional K, M, G or T suffix", c.Memory)
	}
	if c.CPUs == 0 {
		c.CPUs = 1
	}
	if c.CPUs < 0 {
		return c, fmt.Errorf("vm: %d CPUs", c.CPUs)
	}
	if c.Kernel == "" {
		return c, errors.New("vm: no kernel")
	}
	for _, f := range []string{c.Kernel, c.Initrd} {
		if f == "" {
			continue
		}
		if st, err := os.Stat(f); err != nil {
			return c, err
		} else if !st.Mode().IsRegular() {
			return c, fmt.Errorf("vm: %s is not a regular file", f)
		}
	}
	if err := checkPorts(c.Ports); err != nil {
		return c, err
	}
	if isTerminal(c.Stdin) {
		return c, errors.New("vm: Config.Stdin is a terminal, which qemu in a process group of its own cannot read; give the guest a virtconsole port (Port) instead")
	}
	if c.Ending == nil {
		c.Ending = KernelWords{}
	}
	if c.ConsoleLimit < 0 {
		return c, fmt.Errorf("vm: console limit %d", c.ConsoleLimit)
	}
	tags := make([]string, len(c.Shares))
	for i, s := range c.Shares {
		tags[i] = s.Tag
	}
	if err := contract.CheckTags(tags); err != nil {
		return c, fmt.Errorf("vm: %w", err)
	}
	shares := make([]Share, len(c.Shares))
	for i, s := range c.Shares {
		abs, err := filepath.Abs(s.Path)
		if err != nil {
			return c, err
		}
		// The directory itself, not a link to it: the C virtiofsd
		// refuses a symbolic link ("source is not a directory").
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		st, err := os.Stat(abs)
		if err != nil {
			return c, fmt.Errorf("vm: share %s: %w", s.Tag, err)
		}
		if !st.IsDir() {
			return c, fmt.Errorf("vm: share %s: %s is not a directory", s.Tag, abs)
		}
		s.Path = abs
		shares[i] = s
	}
	c.Shares = shares
	return c, nil
}

// memorySize is the size syntax Run accepts: qemu's, without fractions.
var memorySize = regexp.MustCompile(`^[1-9][0-9]*[KMGTkmgt]?$`)

// ValidMemory tells whether Config.Memory accepts size: a number of
// mebibytes, or a number with a K, M, G or T suffix.
func ValidMemory(size string) bool {
	return memorySize.MatchString(size)
}

// isTerminal tells whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
