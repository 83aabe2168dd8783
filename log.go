package main

import "golang.org/x/sys/unix"

// opError is the one error type of /init: an operation, the object it
// worked on, the errno and, where the errno alone would puzzle, why it
// happened. Callers compare errnos before they make one, so it has no
// Unwrap.
type opError struct {
	op    string // "mount virtiofs rootfs on", "load module"
	path  string // the object: a path, a tag, a module name
	errno unix.Errno
	why   string
	_     noCompare
}

func (e *opError) Error() string {
	s := e.op
	if e.path != "" {
		s += " " + e.path
	}
	if e.errno != 0 {
		s += ": " + e.errno.Error()
	}
	if e.why != "" {
		s += ": " + e.why
	}
	return s
}

// fail makes an *opError. One function instead of an allocation at every
// call site keeps the binary small.
//
//go:noinline
func fail(op, path string, errno unix.Errno) error {
	return &opError{op: op, path: path, errno: errno}
}

// failWhy is fail with an explanation.
func failWhy(op, path string, errno unix.Errno, why string) error {
	return &opError{op: op, path: path, errno: errno, why: why}
}

// errorString is a plain message, for failures that have no errno.
type errorString string

func (e errorString) Error() string { return string(e) }

// The logger writes to the console (fd 1, which ensureConsole opens on
// /dev/console) and, for warnings and fatal errors, also to /dev/kmsg so
// the message lands in the kernel log that a later `dmesg` shows.
var (
	kmsgFD int // /dev/kmsg once devtmpfs is mounted; 0 (the console) before

	// debugOn is set by the `debug` command-line word. Until the command
	// line is read (debugKnown), debugf keeps its lines in debugEarly:
	// the API mounts come before it.
	debugOn, debugKnown bool
	debugEarly          string
)

// warn prints a message that does not stop the boot.
func warn(msg string) {
	line := "initrd: " + msg + "\n"
	write(1, line)
	if kmsgFD > 0 {
		// <4> is KERN_WARNING; the kernel adds its own timestamp.
		write(kmsgFD, "<4>"+line)
	}
}

// warnErr prints a failed operation that does not stop the boot.
func warnErr(op, path string, errno unix.Errno) {
	warn(fail(op, path, errno).Error())
}

// debugf prints one timed line when `debug` is on. The format is fixed,
// because the benchmark parses it:
//
//	initrd: debug T K STEP WHAT [DETAIL]
//
// T is CLOCK_BOOTTIME in milliseconds with three decimals, taken when the
// step ended; K is the time in milliseconds since start, the moment just
// before the step's system call (the kernel's work: finit_module, mount),
// or "-" when start is -1 and the step has no single call; STEP is one
// word; WHAT and DETAIL say what it worked on.
func debugf(start int64, step, what, detail string) {
	if debugKnown && !debugOn {
		return
	}
	end := now()
	k := "-"
	if start >= 0 {
		k = msec(end - start)
	}
	line := "initrd: debug " + msec(end) + " " + k + " " + step + " " + what + " " + detail + "\n"
	if !debugKnown {
		debugEarly += line
		return
	}
	write(1, line)
}

// setDebug says whether debug is on, once the command line is read: the
// lines kept until then are printed, or dropped.
func setDebug(on bool) {
	debugOn, debugKnown = on, true
	if on {
		write(1, debugEarly)
	}
}
