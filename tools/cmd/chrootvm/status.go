package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// Exit statuses of chrootvm's own, besides the program's. They follow
// chroot(1) and timeout(1) where those have one. exitStatus is the one
// place that hands them out; --help's table lists them (TestHelpStatuses
// holds the two together).
const (
	exitUsage         = cli.ExitUsage // bad arguments
	exitLost          = 117           // data the program wrote did not reach a share
	exitGuestDied     = 118           // the guest ended while the program ran, without /init's word
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

// The kinds of failure of chrootvm's own that have a status of their own
// (besides cli's usage errors, vm.ErrNoQemu, vm.ErrNoVirtiofsd and
// initrd.ErrNoModule): an error is of a kind when it wraps it (failure).
var (
	errNoRootfs      = errors.New("ROOTFS or a directory to share is missing")
	errNoKernel      = errors.New("no kernel")
	errNotFound      = errors.New("program not found")
	errNotExecutable = errors.New("program cannot be run")
)

// kindError is an error with its kind; its message is the error's.
type kindError struct{ kind, err error }

func (e *kindError) Error() string   { return e.err.Error() }
func (e *kindError) Unwrap() []error { return []error{e.kind, e.err} }

// failure gives err the kind that decides chrootvm's exit status.
func failure(kind, err error) error { return &kindError{kind, err} }

// kindStatuses are the statuses of the kinds of failure, in the order
// they are tried.
var kindStatuses = []struct {
	kind   error
	status int
}{
	{errNoRootfs, exitNoRootfs},
	{errNoKernel, exitNoKernel},
	{initrd.ErrNoModule, exitNoKernel},  // the kernel's modules lack one, as --help says
	{initrd.ErrBadModule, exitNoKernel}, // or hold a broken one
	{vm.ErrNoQemu, exitNoQemu},
	{vm.ErrNoVirtiofsd, exitNoVirtiofsd},
	{errNotFound, exitNotFound},
	{errNotExecutable, exitNotExecutable},
}

// outcome is how a run ended, everything exitStatus needs.
type outcome struct {
	// stop is why the run was stopped from outside: an interrupted
	// signal, errEscape, or nil.
	stop error
	// err is chrootvm's own failure, of a kind of kindStatuses or not;
	// nil once the VM ran to its end.
	err      error
	timedOut bool            // --timeout stopped the VM
	record   contract.Record // the guest's status record, when recorded
	recorded bool
	// died says what ended the guest after the program started without
	// /init's end record (record.Started): a panic, qemu's death.
	died string
	// full are the read-write shares served by the C virtiofsd whose
	// filesystems the run filled (execution.fullShares): data written
	// back to them may have been lost without the guest's word.
	full []fullShare
}

// exitStatus is chrootvm's exit status for an outcome, the only place
// that decides one: a stop first (128+N for a signal N, as a shell
// reports a program it killed; exitKilled for the escape key), then
// chrootvm's own failure by its kind, the timeout, and last the guest's
// record, as chroot(1) and a shell report the same ends: the program's
// status, 128+N for a signal, 127 when the program was not found and 126
// when it could not be run; 0 for a shutdown the program asked for;
// exitLost when data did not reach a share, or may not have after a
// program that succeeded (o.full); exitGuestDied when the guest
// ended after the program started without /init's word, and exitNoBoot
// when it never reached the program.
func exitStatus(o outcome) int {
	var sig interrupted
	switch {
	case errors.As(o.stop, &sig):
		return 128 + int(sig.sig)
	case errors.Is(o.stop, errEscape):
		return exitKilled
	case cli.IsUsage(o.err):
		return exitUsage
	case o.err != nil:
		for _, k := range kindStatuses {
			if errors.Is(o.err, k.kind) {
				return k.status
			}
		}
		return exitFailed
	case o.timedOut:
		return exitTimeout
	case !o.recorded && o.record.Started:
		return exitGuestDied
	case !o.recorded:
		return exitNoBoot
	}
	r := o.record
	succeeded := r.Kind == contract.RecordShutdown || r.Kind == contract.RecordExit && r.N == 0
	switch {
	case len(r.Lost) > 0, len(o.full) > 0 && succeeded:
		return exitLost
	case r.Kind == contract.RecordShutdown:
		return 0 // the program asked for it
	case r.Kind == contract.RecordExit:
		return r.N
	case r.Kind == contract.RecordSignal:
		return 128 + r.N
	case r.Kind == contract.RecordExec && syscall.Errno(r.N) == syscall.ENOENT:
		return exitNotFound
	case r.Kind == contract.RecordExec:
		return exitNotExecutable
	}
	return exitNoBoot // fatal: /init failed before the program ran
}

// bootLines picks the lines worth showing from the console's tail when
// the guest did not boot to the program: /init's "initrd:" messages and
// the kernel's panic. They are shown, never used to decide anything.
func bootLines(console []byte) []string {
	var lines []string
	for _, l := range strings.Split(string(console), "\n") {
		l = strings.TrimRight(l, "\r")
		if strings.Contains(l, "initrd: ") || strings.Contains(l, "Kernel panic - not syncing") {
			lines = append(lines, l)
		}
	}
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return lines
}

// diedHow tells what ended a guest whose program had started, when
// /init did not: the kernel's panic, qemu's death or its own word. The
// console and qemu's messages are shown, never used to decide.
func diedHow(res *vm.Result, err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return fmt.Sprintf("qemu was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
		}
	}
	if res != nil {
		for _, l := range bootLines(res.Output) {
			if strings.Contains(l, "Kernel panic") {
				return "the kernel panicked: " + strings.TrimSpace(l)
			}
		}
		if res.Panicked {
			return "the kernel panicked (--debug shows the console)"
		}
		if strings.Contains(res.QemuSaid, "terminating on signal") {
			return "qemu: " + res.QemuSaid
		}
	}
	if err != nil {
		return err.Error()
	}
	return "the guest powered off or rebooted without /init (the kernel's own power-off, or sysrq)"
}

// sharePath names the share of tag for the user: its host directory.
func sharePath(tag string, shares []vm.Share) string {
	for _, m := range shares {
		if m.Tag == tag {
			return fmt.Sprintf("%s (tag %s)", m.Path, tag)
		}
	}
	return "tag " + tag
}
