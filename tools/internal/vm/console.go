package vm

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
)

// End is how the guest's kernel said the guest ended.
type End string

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

// console receives qemu's standard output: it keeps it, forwards it to
// the caller's writer as it arrives, and, when it scans, closes ended
// when a complete line announces the end of the guest.
type console struct {
	mu      sync.Mutex
	out     bytes.Buffer
	w       io.Writer
	scan    bool // read the kernel's words of the end (not Config.ExitOnly)
	limit   int  // keep the last limit bytes; 0 = all
	scanned int  // bytes of out scanned as complete lines
	ended   chan struct{}
	end     End // the first end announced; set before ended is closed
}

func newConsole(w io.Writer, scan bool, limit int) *console {
	return &console{w: w, scan: scan, limit: limit, ended: make(chan struct{})}
}

// Write never fails: an error of the caller's writer (a closed pipe) must
// not stall the guest, whose output is still kept.
func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.out.Write(p)
	if c.w != nil {
		c.w.Write(p)
	}
	if !c.scan {
		// Only the tail is kept: drop the head once it is twice the
		// limit, so the copying stays linear.
		if c.limit > 0 && c.out.Len() > 2*c.limit {
			c.out.Next(c.out.Len() - c.limit)
		}
		return len(p), nil
	}
	for c.end == EndUnknown {
		rest := c.out.Bytes()[c.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		c.scanned += i + 1
		if end, _ := classify(string(rest[:i])); end != EndUnknown {
			c.end = end
			close(c.ended)
		}
	}
	return len(p), nil
}

// announced is the end the kernel announced first, once ended is closed.
func (c *console) announced() End {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.end
}

// result is the Result the output so far implies.
func (c *console) result() *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := bytes.Clone(c.out.Bytes())
	if !c.scan {
		if c.limit > 0 && len(out) > c.limit {
			out = out[len(out)-c.limit:]
		}
		return &Result{Output: out, ExitCode: -1}
	}
	end, code, msg := parseEnd(out)
	return &Result{Output: out, ExitCode: code, End: end, Panic: msg}
}
