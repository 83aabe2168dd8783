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
// the message lands in the kernel log that a later `dmesg` shows. The
// kernel prints a record of the log on the console itself when its level
// is below console_loglevel (or with ignore_loglevel): such a message
// would appear twice there, so it is not copied to the log. The console
// write is the one kept: /dev/kmsg drops what comes faster than its rate
// limit (printk.devkmsg), and says nothing.
var (
	kmsgFD       int // /dev/kmsg once devtmpfs is mounted; 0 (the console) before
	consoleLevel int // console_loglevel: the kernel prints log records below it on the console

	// debugOn is set by the `debug` command-line word. Until the command
	// line is read (debugKnown), debugf keeps its lines in debugEarly:
	// the API mounts come before it.
	debugOn, debugKnown bool
	debugEarly          string
)

// Paths of the kernel's console log level, package variables for tests.
var (
	printkPath         = "/proc/sys/kernel/printk"
	ignoreLoglevelPath = "/sys/module/printk/parameters/ignore_loglevel"
)

// openKmsg opens /dev/kmsg and reads which levels the kernel prints on
// the console.
func openKmsg() {
	fd, err := open("/dev/kmsg", unix.O_WRONLY|unix.O_CLOEXEC)
	if err != 0 {
		return
	}
	kmsgFD = fd
	printk, _ := readFile(printkPath)
	ignore, _ := readFile(ignoreLoglevelPath)
	consoleLevel = parseConsoleLevel(printk, ignore)
}

// parseConsoleLevel returns the level below which the kernel prints a
// log record on the console: console_loglevel, the first field of
// /proc/sys/kernel/printk, or above every level when ignore_loglevel is
// Y. 0 (copy everything to the log) when unknown.
func parseConsoleLevel(printk, ignoreLoglevel string) int {
	if ignoreLoglevel != "" && ignoreLoglevel[0] == 'Y' {
		return 8 // KERN_DEBUG is 7
	}
	i := 0
	for i < len(printk) && printk[i] >= '0' && printk[i] <= '9' {
		i++
	}
	n, _ := atoi(printk[:i])
	return n
}

// logLine prints line, which ends in a newline, on the console, and in
// the kernel log at level (2 KERN_CRIT, 4 KERN_WARNING) unless the kernel
// prints it on the console too.
func logLine(level int, line string) {
	write(1, line)
	if kmsgFD > 0 && level >= consoleLevel {
		write(kmsgFD, "<"+itoa(int64(level))+">"+line)
	}
}

// warn prints a message that does not stop the boot.
func warn(msg string) {
	logLine(4, "initrd: "+msg+"\n")
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
