package main

import (
	"bytes"
	"strconv"
	"strings"
	"syscall"
)

// The ports of a supervised run (the guest's side is /init's, see the
// README's "How chrootvm talks to the guest"). Their names are the
// contract with /init.
const (
	portStdin  = "virtinit.stdin"
	portStdout = "virtinit.stdout"
	portStderr = "virtinit.stderr"
	portStatus = "virtinit.status"
	portTTY    = "virtinit.tty"
)

// record is the one line /init writes on virtinit.status when the
// program ended or could not start, or /init failed.
type record struct {
	kind  string // "exit", "signal", "exec" or "fatal"
	n     int    // the status, the signal or the errno
	text  string // exec's and fatal's message
	valid bool   // a well-formed record was read
}

// parseRecord reads the status port's bytes: exactly one line
//
//	exit N | signal N | exec ERRNO TEXT | fatal TEXT
//
// ended by a newline. Anything else is not a record: the guest ended
// before it wrote one, or wrote something /init does not write.
func parseRecord(b []byte) record {
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok || bytes.IndexByte(line, '\n') >= 0 {
		return record{}
	}
	kind, rest, _ := strings.Cut(string(line), " ")
	switch kind {
	case "exit", "signal":
		n, err := strconv.Atoi(rest)
		if err != nil || n < 0 || n > 255 || strconv.Itoa(n) != rest || kind == "signal" && n == 0 {
			return record{}
		}
		return record{kind: kind, n: n, valid: true}
	case "exec":
		num, text, _ := strings.Cut(rest, " ")
		n, err := strconv.Atoi(num)
		if err != nil || n <= 0 || strconv.Itoa(n) != num {
			return record{}
		}
		return record{kind: kind, n: n, text: text, valid: true}
	case "fatal":
		return record{kind: kind, text: rest, valid: true}
	}
	return record{}
}

// exitStatus is chrootvm's exit status for a record, as chroot(1) and a
// shell report the same ends: the program's status, 128+N for a signal,
// 127 when the program was not found and 126 when it could not be run,
// and exitNoBoot when the guest never reached the program.
func (r record) exitStatus() int {
	switch {
	case !r.valid:
		return exitNoBoot
	case r.kind == "exit":
		return r.n
	case r.kind == "signal":
		return 128 + r.n
	case r.kind == "exec" && syscall.Errno(r.n) == syscall.ENOENT:
		return exitNotFound
	case r.kind == "exec":
		return exitNotExecutable
	}
	return exitNoBoot
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
