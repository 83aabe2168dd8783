package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The signals of PID 1 in the supervised run. The kernel gives init no
// default action: a signal to it whose handler is SIG_DFL is dropped,
// whoever sends it (kernel/signal.c, sig_task_ignored, for a process
// marked SIGNAL_UNKILLABLE), SIGKILL and SIGSTOP included. But the Go
// runtime installs a handler for every signal, and its handler ends the
// process for SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGABRT, SIGSEGV and
// more when no os/signal asks for them: PID 1 would exit and the kernel
// panic ("Attempted to kill init!"), the program's status lost. So before
// it starts the program, /init gives every signal back its default: the
// kernel then drops whatever a program sends it. Shutdown requests sent
// as signals reach /init another way (requests.go).
//
// The price: a fault of /init's own (a nil dereference) from here on is
// no longer a Go panic that main recovers from, but kills /init, and the
// kernel panics. The code that runs from here on is the short wait for
// the program and the end of the run.

// sigDefault is a struct sigaction with SIG_DFL (0), no flags, no mask:
// all zero, whatever the architecture's layout.
var sigDefault [4]uint64

// defaultSignals sets every signal that has a handler to SIG_DFL.
// SIGKILL and SIGSTOP cannot be changed (EINVAL), and need not be.
func defaultSignals() {
	for sig := uintptr(1); sig <= 64; sig++ {
		unix.Syscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&sigDefault)), 0, 8, 0, 0)
	}
}
