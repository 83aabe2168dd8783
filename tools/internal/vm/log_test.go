package vm

import (
	"bytes"
	"strings"
	"testing"
)

func TestTail(t *testing.T) {
	var next bytes.Buffer
	tl := newTail(&next)
	if got := tl.lastLines(3); got != "(no output)" {
		t.Errorf("lastLines of nothing = %q, want (no output)", got)
	}
	tl.Write([]byte("one\ntwo\n\n  three  \nfour"))
	if got, want := tl.lastLines(3), "two; three; four"; got != want {
		t.Errorf("lastLines(3) = %q, want %q", got, want)
	}
	if next.String() != "one\ntwo\n\n  three  \nfour" {
		t.Errorf("tail passed on %q", next.String())
	}
	big := strings.Repeat("x", tailSize) + "\nlast\n"
	tl.Write([]byte(big))
	if len(tl.buf) != tailSize || !strings.HasSuffix(string(tl.buf), "\nlast\n") {
		t.Errorf("tail keeps %d bytes ending %q, want %d ending in last", len(tl.buf), tl.buf[len(tl.buf)-6:], tailSize)
	}
}

func TestLogger(t *testing.T) {
	var out bytes.Buffer
	off := newLogger(&out, false)
	off.printf("hidden %d", 1)
	if w := off.prefixed("x: "); w != nil {
		t.Errorf("prefixed writer of a logger that is off = %v, want nil", w)
	}
	on := newLogger(&out, true)
	on.printf("shown %d", 2)
	w := on.prefixed("qemu: ")
	w.Write([]byte("a\nb"))
	w.Write([]byte("c\n"))
	if got, want := out.String(), "vm: shown 2\nqemu: a\nqemu: bc\n"; got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
}
