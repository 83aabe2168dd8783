package vm

import (
	"bytes"
	"strconv"
	"strings"
)

// End is how the guest's kernel said the guest ended.
type End string

// Ending is how Run tells the guest's end from its console, if at all:
// Run stops qemu once a console line announces an end (at once for a
// halt, which never ends the VM by itself, else endGrace later), and the
// Result carries its verdict on the whole output. Config.Ending chooses
// one: KernelWords, the default, for a guest whose PID 1 is the program
// (osbuild's flow, bench, vmtest); QemuExit for a guest that reports its
// end on a channel of its own (chrootvm's status port), where nothing
// the guest prints may end the VM or make a status.
type Ending interface {
	// Line tells the end one complete console line announces, or
	// EndUnknown.
	Line(line string) End
	// Result is the end, the exit status (-1 unknown) and the panic
	// message the console output out tells.
	Result(out []byte) (end End, code int, panicMsg string)
}

// KernelWords reads the kernel's last words on the console (see the
// package's documentation): in-band, so a program that prints them
// forges them.
type KernelWords struct{}

func (KernelWords) Line(line string) End { end, _ := classify(line); return end }

func (KernelWords) Result(out []byte) (End, int, string) { return parseEnd(out) }

// QemuExit makes qemu's exit the VM's only end: the console is copied
// and kept but never read; Result.End stays EndUnknown and ExitCode -1.
type QemuExit struct{}

func (QemuExit) Line(string) End { return EndUnknown }

func (QemuExit) Result([]byte) (End, int, string) { return EndUnknown, -1, "" }

// The ends a kernel announces on its console.
const (
	EndUnknown  End = ""         // qemu exited without a word from the kernel
	EndExit     End = "exit"     // PID 1 exited: "Attempted to kill init! exitcode=0x..."
	EndPanic    End = "panic"    // any other kernel panic
	EndPowerOff End = "poweroff" // "reboot: Power down"
	EndReboot   End = "reboot"   // "reboot: Restarting system"
	EndHalt     End = "halt"     // "reboot: System halted"
)

// Markers of the kernel's last words. Panics and the reboot messages are
// printed at KERN_EMERG (kernel/panic.c, kernel/reboot.c), so they reach
// the console even with "quiet".
const (
	panicMarker = "Kernel panic - not syncing: "
	initMarker  = "Attempted to kill init! exitcode=0x"
)

var rebootMarkers = []struct {
	text string
	end  End
}{
	{"reboot: Power down", EndPowerOff},
	{"reboot: Restarting system", EndReboot},
	{"reboot: System halted", EndHalt},
}

// classify tells whether one console line announces the end of the
// guest, and how. For a panic, msg is its message. A line may carry
// output of the guest before the kernel's words, so the markers are
// searched anywhere in it.
func classify(line string) (end End, msg string) {
	line = strings.TrimRight(line, "\r\n")
	if i := strings.Index(line, panicMarker); i >= 0 {
		msg = line[i+len(panicMarker):]
		if strings.Contains(msg, initMarker) {
			return EndExit, msg
		}
		return EndPanic, msg
	}
	for _, m := range rebootMarkers {
		if strings.Contains(line, m.text) {
			return m.end, ""
		}
	}
	return EndUnknown, ""
}

// exitStatus decodes the wait status the kernel prints when PID 1 exits
// (the group exit code of do_exit): the exit code in bits 8-15, or the
// terminating signal in bits 0-6, reported as 128+signal like a shell.
// It returns -1 when msg carries no status.
func exitStatus(msg string) int {
	i := strings.Index(msg, initMarker)
	if i < 0 {
		return -1
	}
	hex := msg[i+len(initMarker):]
	n := 0
	for n < len(hex) && n < 8 && strings.IndexByte("0123456789abcdefABCDEF", hex[n]) >= 0 {
		n++
	}
	st, err := strconv.ParseUint(hex[:n], 16, 32)
	if err != nil {
		return -1
	}
	if sig := st & 0x7f; sig != 0 {
		return 128 + int(sig)
	}
	return int(st>>8) & 0xff
}

// parseEnd finds the first end the kernel announced in a console output
// and the exit status it implies: PID 1's status, 0 for a power-off or
// reboot, -1 otherwise.
func parseEnd(out []byte) (end End, code int, panicMsg string) {
	for len(out) > 0 {
		line := out
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			line, out = out[:i], out[i+1:]
		} else {
			out = nil
		}
		end, msg := classify(string(line))
		switch end {
		case EndExit:
			return end, exitStatus(msg), msg
		case EndPanic:
			return end, -1, msg
		case EndPowerOff, EndReboot:
			return end, 0, ""
		case EndHalt:
			return end, -1, ""
		}
	}
	return EndUnknown, -1, ""
}
