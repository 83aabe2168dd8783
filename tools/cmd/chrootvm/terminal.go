package main

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"syscall"
	"unsafe"
)

// escapeKey kills the VM of an interactive run: Ctrl-] (the byte 0x1d),
// telnet's escape, which no shell or editor binds by default. Every other
// byte, Ctrl-C, Ctrl-Z and Ctrl-D included, goes to the guest, whose own
// terminal turns them into signals for the program.
const (
	escapeKey  = 0x1d
	escapeName = "Ctrl-]"
)

// isTerminal tells whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := getTermios(int(f.Fd()))
	return err == nil
}

func getTermios(fd int) (*syscall.Termios, error) {
	var t syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS, uintptr(unsafe.Pointer(&t))); e != 0 {
		return nil, e
	}
	return &t, nil
}

func setTermios(fd int, t *syscall.Termios) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCSETS, uintptr(unsafe.Pointer(t))); e != 0 {
		return e
	}
	return nil
}

// terminalEnv is the environment a program on the guest's terminal
// needs from the host's terminal fd: TERM, and its size as COLUMNS and
// LINES, which curses and busybox read when the terminal reports none
// (the guest's virtio console starts at 0x0, and qemu passes no resize).
func terminalEnv(fd int) []string {
	var env []string
	if t := os.Getenv("TERM"); t != "" {
		env = append(env, "TERM="+t)
	}
	var ws struct{ row, col, xpixel, ypixel uint16 }
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGWINSZ, uintptr(unsafe.Pointer(&ws))); e == 0 && ws.row > 0 && ws.col > 0 {
		env = append(env, "COLUMNS="+strconv.Itoa(int(ws.col)), "LINES="+strconv.Itoa(int(ws.row)))
	}
	return env
}

// rawTerminal is a host terminal in raw mode, and how to put it back.
type rawTerminal struct {
	fd    int
	saved syscall.Termios
}

// makeRaw puts the terminal fd into raw mode, as cfmakeraw(3) does: no
// echo, no line editing, no signals from keys, no translation of input
// or output. The guest's tty does all of that for its program.
func makeRaw(fd int) (*rawTerminal, error) {
	t, err := getTermios(fd)
	if err != nil {
		return nil, err
	}
	saved := *t
	t.Iflag &^= syscall.IGNBRK | syscall.BRKINT | syscall.PARMRK | syscall.ISTRIP | syscall.INLCR | syscall.IGNCR | syscall.ICRNL | syscall.IXON
	t.Oflag &^= syscall.OPOST
	t.Lflag &^= syscall.ECHO | syscall.ECHONL | syscall.ICANON | syscall.ISIG | syscall.IEXTEN
	t.Cflag &^= syscall.CSIZE | syscall.PARENB
	t.Cflag |= syscall.CS8
	t.Cc[syscall.VMIN] = 1
	t.Cc[syscall.VTIME] = 0
	if err := setTermios(fd, t); err != nil {
		return nil, err
	}
	return &rawTerminal{fd: fd, saved: saved}, nil
}

// restore puts the terminal back as it was. It may be called more than
// once.
func (r *rawTerminal) restore() {
	setTermios(r.fd, &r.saved)
}

// escapeReader passes its input on up to the escape key, then calls
// escaped and ends.
type escapeReader struct {
	r       io.Reader
	escaped func()
	done    bool
}

// Fd is the descriptor of the terminal it reads, or ^0 for another
// reader: vm reads a port's input only once poll(2) says it has some,
// so that no read of the terminal starts after the run (vm's copyIn).
func (e *escapeReader) Fd() uintptr {
	if f, ok := e.r.(interface{ Fd() uintptr }); ok {
		return f.Fd()
	}
	return ^uintptr(0)
}

func (e *escapeReader) Read(p []byte) (int, error) {
	if e.done {
		return 0, io.EOF
	}
	n, err := e.r.Read(p)
	if i := bytes.IndexByte(p[:n], escapeKey); i >= 0 {
		e.done = true
		e.escaped()
		return i, nil
	}
	return n, err
}
