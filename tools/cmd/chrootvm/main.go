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
	"strings"
	"syscall"

	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// Exit statuses of chrootvm's own, besides the program's. They follow
// chroot(1) and timeout(1) where those have one.
const (
	exitUsage         = 2   // bad arguments
	exitNoRootfs      = 120 // ROOTFS or a --mount directory is missing
	exitNoKernel      = 121 // no kernel found, or --kernel/--modules missing
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
  --machine microvm|q35 the qemu machine (default: microvm where the kernel
                        has virtio_mmio, built in or as a module; else q35)
  --memory SIZE         guest memory, e.g. 512M or 2G (default 1G)
  --cpus N              virtual CPUs (default 1)
  --timeout DURATION    stop the VM after DURATION (90s, 5m, or seconds)
                        and exit with status 124
  --append ARGS         add ARGS to the kernel command line (repeatable)
  --init FILE           the /init binary (default: initrd next to chrootvm,
                        else out/initrd of the virtinit source tree)
  --debug               show the kernel's and /init's messages, the qemu and
                        virtiofsd command lines and what chrootvm decided
  -h, --help            show this help

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
		fmt.Fprintf(stderr, "chrootvm: %v\nTry 'chrootvm --help'.\n", err)
		return exitUsage
	}
	if o.help {
		io.WriteString(stdout, usage)
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
	machine, transport, err := chooseMachine(o.machine, k.modules)
	if err != nil {
		a.errorf("%v", err)
		return exitNoKernel
	}
	a.debugf("kernel %s, modules %s, machine %s", k.image, orNone(k.modules), machine)

	program, err := findProgram(rootfs, o.program)
	if err != nil {
		a.errorf("%v", err)
		var pe *programError
		if errors.As(err, &pe) {
			return pe.code
		}
		return exitFailed
	}
	line, err := cmdline(program, o.mounts, o.appends, o.args, o.debug)
	if err != nil {
		a.errorf("%v", err)
		return exitUsage
	}

	// The parts that may be missing from the host, before any work.
	if _, err := vm.FindQemu("x86_64"); err != nil {
		a.errorf("%v (install qemu-system-x86)", err)
		return exitNoQemu
	}
	if _, _, err := vm.FindVirtiofsd(); err != nil {
		a.errorf("%v (install virtiofsd, or qemu-system-common on Debian 12)", err)
		return exitNoVirtiofsd
	}
	initBin, err := findInit(o.init)
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
		Init:       initBin,
		ModulesDir: k.modules,
		Transport:  transport,
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
		Machine:  machine,
		Kernel:   k.image,
		Initrd:   initrdPath,
		Append:   line,
		Shares:   shares,
		Memory:   o.memory,
		CPUs:     o.cpus,
		NoReboot: true,
		Console:  console,
		Stdin:    stdin,
		Timeout:  o.timeout,
		Debug:    o.debug,
		Log:      a.stderr,
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

// chooseMachine picks the machine and the virtio transport the initrd
// must carry. microvm needs virtio_mmio; a kernel without a module tree is
// taken to have it only when microvm is asked for.
func chooseMachine(requested, modules string) (machine, transport string, err error) {
	mmio := requested == "microvm"
	if modules != "" {
		builtin, loadable, err := initrd.ModuleAvailable(modules, "virtio_mmio")
		if err != nil {
			return "", "", fmt.Errorf("module tree %s: %w", modules, err)
		}
		mmio = builtin || loadable
	}
	switch {
	case requested == "microvm" && !mmio:
		return "", "", fmt.Errorf("the kernel of %s has no virtio_mmio, which microvm needs; use --machine q35", modules)
	case requested == "q35" || !mmio:
		return "q35", "pci", nil
	}
	return "microvm", "mmio", nil
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
