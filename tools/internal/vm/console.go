package vm

import (
	"bytes"
	"io"
	"sync"
)

// console receives qemu's standard output: it keeps it (the last limit
// bytes), forwards it to the caller's writer as it arrives, and closes
// ended when a complete line announces the end of the guest, as its
// Ending reads the lines.
type console struct {
	mu      sync.Mutex
	out     bytes.Buffer
	w       io.Writer
	ending  Ending
	limit   int // keep the last limit bytes; 0 = all
	scanned int // bytes of out scanned as complete lines
	ended   chan struct{}
	end     End // the first end announced; set before ended is closed
}

func newConsole(w io.Writer, ending Ending, limit int) *console {
	return &console{w: w, ending: ending, limit: limit, ended: make(chan struct{})}
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
	for c.end == EndUnknown {
		rest := c.out.Bytes()[c.scanned:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		c.scanned += i + 1
		if end := c.ending.Line(string(rest[:i])); end != EndUnknown {
			c.end = end
			close(c.ended)
		}
	}
	// Only the tail is kept: drop the head once it is twice the limit,
	// so the copying stays linear.
	if c.limit > 0 && c.out.Len() > 2*c.limit {
		drop := c.out.Len() - c.limit
		c.out.Next(drop)
		c.scanned = max(c.scanned-drop, 0)
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
	if c.limit > 0 && len(out) > c.limit {
		out = out[len(out)-c.limit:]
	}
	end, code, msg := c.ending.Result(out)
	return &Result{Output: out, ExitCode: code, End: end, Panic: msg}
}
