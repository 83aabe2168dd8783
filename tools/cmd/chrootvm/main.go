// Command chrootvm runs a program in a directory tree as chroot(1) does,
// but inside a virtual machine: the tree is the VM's root file system,
// shared over virtiofs, and the kernel is the tree's own or any other.
// It builds the initrd with the /init binary of virtinit, starts one
// virtiofsd per shared directory, boots qemu and exits with the program's
// exit status.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// Exit statuses of chrootvm's own, besides the program's. They follow
// chroot(1) and timeout(1) where those have one.
const (
	exitUsage         = cli.ExitUsage // bad arguments
	exitNoRootfs      = 120           // ROOTFS or a --mount directory is missing
	exitNoKernel      = 121           // no kernel found, or --kernel/--modules missing
	exitNoQemu        = 122
	exitNoVirtiofsd   = 123
	exitTimeout       = 124 // as timeout(1)
	exitFailed        = 125 // any other failure, as chroot(1)
	exitNotExecutable = 126 // as chroot(1)
	exitNotFound      = 127 // as chroot(1)
)

const usage = `Usage: chrootvm [OPTION]... ROOTFS [PROGRAM [ARGS...]]

Run PROGRAM with ARGS in a virtual machine whose root file system is the
directory ROOTFS, shared read-only over virtiofs. Without PROGRAM, run
/bin/sh. A PROGRAM without a slash is looked for in ROOTFS's
/usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin and /bin.
Options end at ROOTFS: what follows belongs to PROGRAM.

Options:
  --mount TAG PATH      share the host directory PATH read-write; the guest
                        finds it at /run/mnt/TAG (repeatable)
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
  --append ARGS         add ARGS to the kernel command line (repeatable)
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
guest. The Rust virtiofsd also serves them with --readonly, so the host
refuses writes even when the guest remounts them read-write. The C
virtiofsd has no such option: there only the guest's mount flag protects
them, and a guest that remounts read-write can write to the host's
directory. --debug names the daemon, its dialect and read-only mode.

ARGS reach PROGRAM through the kernel command line: an argument may not
contain a double quote or a newline, nor be "--" itself, and all of the
command line must fit in 2047 bytes.

Exit status:
  the program's own exit status; 128+N when a signal N killed it
  0    the guest powered off or rebooted by itself
  2    bad arguments
  120  ROOTFS or a directory to share is missing
  121  no kernel: none found in ROOTFS, or --kernel or --modules missing
  122  qemu not found
  123  virtiofsd not found
  124  --timeout expired
  125  chrootvm failed otherwise, or the guest ended without an exit status
       (a kernel panic, or /init failed: see its "initrd:" message)
  126  PROGRAM is not executable
  127  PROGRAM not found in ROOTFS
  130, 143  chrootvm was interrupted (SIGINT, SIGTERM)

How the status comes back: PROGRAM runs as PID 1; when it exits the
kernel panics with "Attempted to kill init! exitcode=0x...", its wait
status, and chrootvm reads that line from the serial console.
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
	o, err := parseArgs(argv)
	if err != nil {
		return cli.ReportUsage(stderr, "chrootvm", err)
	}
	if o.help {
		io.WriteString(stdout, usage+tuneHelp())
		return 0
	}
	a := &app{stderr: stderr, debug: o.debug}
	return a.boot(o, stdin, stdout)
}

func (a *app) boot(o *options, stdin io.Reader, stdout io.Writer) int {
	rootfs, err := filepath.Abs(o.rootfs)
	if err == nil && !isDir(rootfs) {
		err = errors.New("not a directory")
	}
	if err != nil {
		a.errorf("ROOTFS %s: %v", o.rootfs, err)
		return exitNoRootfs
	}
	for _, m := range o.mounts {
		if !isDir(m.Path) {
			a.errorf("directory for tag %s: %s: not a directory", m.Tag, m.Path)
			return exitNoRootfs
		}
	}

	k, code := a.kernel(o, rootfs)
	if code != 0 {
		return code
	}
	program, err := findProgram(rootfs, o.program)
	if err != nil {
		a.errorf("%v", err)
		var pe *programError
		if errors.As(err, &pe) {
			return pe.code
		}
		return exitFailed
	}
	kernelsArch, err := kernelArch(k.image)
	if err != nil {
		a.errorf("%v", err)
		return exitNoKernel
	}
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
	line, err := cmdline(ga.Console, program, o.mounts, o.appends, o.args, o.debug)
	if err != nil {
		a.errorf("%v", err)
		return exitUsage
	}

	// The parts that may be missing from the host, before any work.
	if _, err := vm.FindQemu(guest); err != nil {
		a.errorf("%v (install %s)", err, ga.QemuPackage)
		return exitNoQemu
	}
	fsd, err := vm.FindVirtiofsd(o.virtiofsd)
	if err != nil {
		a.errorf("%v (install virtiofsd, or qemu-system-common on Debian 12)", err)
		return exitNoVirtiofsd
	}
	a.debugf("virtiofsd %s", fsd)
	initBin, err := findInit(o.init, guest)
	if err != nil {
		a.errorf("%v", err)
		return exitFailed
	}

	dir, err := os.MkdirTemp("", "chrootvm-")
	if err != nil {
		a.errorf("%v", err)
		return exitFailed
	}
	defer os.RemoveAll(dir)
	initrdPath := filepath.Join(dir, "initrd")
	rep, err := initrd.WriteFile(initrdPath, initrd.Options{
		Init:            initBin,
		ModulesDir:      k.modules,
		Transport:       transport,
		StripSignatures: o.strip || !o.noTune && vm.TuneStripsSignatures(),
	})
	if err != nil {
		a.errorf("build the initrd: %v", err)
		return exitFailed
	}
	a.debugf("initrd with /init %s, modules %s, built in %s", initBin, orNone(strings.Join(rep.Modules, " ")), orNone(strings.Join(rep.Builtin, " ")))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	caught := make(chan os.Signal, 1)
	go func() {
		if s, ok := <-signals; ok {
			caught <- s
			cancel()
		}
	}()

	// Without --debug, the output is the program's, as with chroot(1).
	var console io.Writer = stdout
	if !o.debug {
		q := newQuietEnd(stdout)
		defer q.flush()
		console = q
	}
	shares := append([]vm.Share{{Tag: rootTag, Path: rootfs, ReadOnly: true}}, o.mounts...)
	res, err := vm.Run(ctx, vm.Config{
		Arch:      guest,
		Machine:   machine,
		Transport: transport,
		Kernel:    k.image,
		Initrd:    initrdPath,
		Append:    line,
		Shares:    shares,
		Virtiofsd: fsd.Path,
		Memory:    o.memory,
		Tune:      !o.noTune,
		Icount:    o.icount,
		CPUs:      o.cpus,
		NoReboot:  true,
		Console:   console,
		Stdin:     stdin,
		Timeout:   o.timeout,
		Debug:     o.debug,
		Log:       a.stderr,
	})
	select {
	case s := <-caught:
		a.errorf("interrupted by %v", s)
		return 128 + int(s.(syscall.Signal))
	default:
	}
	return a.status(res, err, o)
}

// kernel finds the kernel and its modules, or returns the exit status.
func (a *app) kernel(o *options, rootfs string) (kernel, int) {
	var k kernel
	if o.kernel != "" {
		if !isFile(o.kernel) {
			a.errorf("--kernel %s: no such file", o.kernel)
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
// status.
func (a *app) status(res *vm.Result, err error, o *options) int {
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
	switch res.End {
	case vm.EndExit:
		if res.ExitCode >= 0 {
			a.debugf("the program exited with status %d", res.ExitCode)
			return res.ExitCode
		}
		a.errorf("the program exited, but its status was unreadable: %s", res.Panic)
	case vm.EndPowerOff, vm.EndReboot:
		a.debugf("the guest ended by a %s", res.End)
		return 0
	case vm.EndHalt:
		a.errorf("the guest halted: the boot failed (see the initrd: message above; --debug shows more)")
	case vm.EndPanic:
		a.errorf("kernel panic: %s", res.Panic)
	default:
		a.errorf("the VM ended without an exit status from the guest")
	}
	return exitFailed
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
