package vm

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// logger writes debug messages, one line each, when debugging is on. The
// daemons and qemu write through it concurrently.
type logger struct {
	mu sync.Mutex
	w  io.Writer // nil: debugging is off
}

func newLogger(w io.Writer, debug bool) *logger {
	if !debug {
		w = nil
	}
	return &logger{w: w}
}

func (l *logger) printf(format string, args ...any) {
	l.line("vm: " + fmt.Sprintf(format, args...))
}

func (l *logger) line(s string) {
	if l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, strings.TrimRight(s, "\n")+"\n")
}

// prefixed is a writer that logs each complete line with a prefix; nil
// when debugging is off.
func (l *logger) prefixed(prefix string) io.Writer {
	if l.w == nil {
		return nil
	}
	return &lineWriter{l: l, prefix: prefix}
}

type lineWriter struct {
	l      *logger
	prefix string
	buf    []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.l.line(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// tailSize is how much of a child's standard error is kept for error
// messages.
const tailSize = 16 << 10

// tail keeps the last tailSize bytes written to it, and passes everything
// on to an optional writer.
type tail struct {
	mu   sync.Mutex
	buf  []byte
	next io.Writer
}

func newTail(next io.Writer) *tail {
	return &tail{next: next}
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	if t.next != nil {
		t.next.Write(p)
	}
	return len(p), nil
}

// lastLines is the last n non-empty lines, joined by "; ", for an error
// message; "(no output)" when there are none.
func (t *tail) lastLines(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for _, l := range strings.Split(string(t.buf), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "(no output)"
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
