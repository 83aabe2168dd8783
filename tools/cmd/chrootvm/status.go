package main

import (
	"strings"
	"syscall"

	"virtinit/tools/internal/contract"
)

// record is the guest's status record (contract.Record), valid when one
// was read.
type record struct {
	contract.Record
	valid bool
}

// parseRecord reads the status port's bytes (contract.ParseRecord).
func parseRecord(b []byte) record {
	r, ok := contract.ParseRecord(b)
	return record{r, ok}
}

// exitStatus is chrootvm's exit status for a record, as chroot(1) and a
// shell report the same ends: the program's status, 128+N for a signal,
// 127 when the program was not found and 126 when it could not be run,
// and exitNoBoot when the guest never reached the program.
func (r record) exitStatus() int {
	switch {
	case !r.valid:
		return exitNoBoot
	case r.Kind == contract.RecordExit:
		return r.N
	case r.Kind == contract.RecordSignal:
		return 128 + r.N
	case r.Kind == contract.RecordExec && syscall.Errno(r.N) == syscall.ENOENT:
		return exitNotFound
	case r.Kind == contract.RecordExec:
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
