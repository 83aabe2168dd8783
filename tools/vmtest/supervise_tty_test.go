package vmtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"virtinit/tools/internal/testenv"
)

// pty is the master side of a pseudo-terminal, read into a buffer.
type pty struct {
	master *os.File
	slave  *os.File
	mu     sync.Mutex
	cond   *sync.Cond
	out    []byte
	closed bool // the master read failed (every slave closed), or a wait ran out of time
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// openPty opens a new pseudo-terminal pair (pty(7)).
func openPty(t *testing.T) *pty {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testenv.Missing(t, "no pseudo-terminals: %v", err)
	}
	var n uint32
	var unlock int32
	if err := ioctl(m, syscall.TIOCGPTN, unsafe.Pointer(&n)); err != nil {
		t.Fatal(err)
	}
	if err := ioctl(m, syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)); err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &pty{master: m, slave: s}
	p.cond = sync.NewCond(&p.mu)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out = append(p.out, buf[:n]...)
			if err != nil {
				p.closed = true
			}
			p.cond.Broadcast()
			p.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return p
}

// waitFor waits until the terminal's output after offset from holds s,
// and returns the offset after it; it fails the test after the bound.
func (p *pty) waitFor(t *testing.T, from int, s string, bound time.Duration) int {
	t.Helper()
	timer := time.AfterFunc(bound, func() {
		p.mu.Lock()
		p.closed = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		if i := bytes.Index(p.out[from:], []byte(s)); i >= 0 {
			return from + i + len(s)
		}
		if p.closed {
			t.Fatalf("the terminal never showed %q; it showed:\n%q", s, p.out)
		}
		p.cond.Wait()
	}
}

func (p *pty) send(t *testing.T, s string) {
	t.Helper()
	if _, err := p.master.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// TestChrootvmTTY drives an interactive shell through a pseudo-terminal,
// as a person would: chrootvm on a terminal runs the program on a
// terminal of the guest, $TERM and the terminal's size arrive, a
// background job runs, Ctrl-C interrupts the foreground job and not the
// shell, and the host terminal is back in its own mode afterwards. On
// 6.12 the escape key ends the VM; elsewhere the shell's exit status
// comes back.
func TestChrootvmTTY(t *testing.T) {
	for _, name := range kernelNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, k := need(t, name)
			bin := buildTool(t, p, "chrootvm")
			pt := openPty(t)
			defer pt.master.Close()
			// A size of its own, to see it arrive as COLUMNS and LINES.
			ws := struct{ row, col, x, y uint16 }{row: 37, col: 101}
			if err := ioctl(pt.master, syscall.TIOCSWINSZ, unsafe.Pointer(&ws)); err != nil {
				t.Fatal(err)
			}
			before, err := getTermios(pt.slave)
			if err != nil {
				t.Fatal(err)
			}
			bootSlots <- struct{}{}
			defer func() { <-bootSlots }()
			ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, append(chrootvmArgs(k), k.guest.rootfs, "/bin/sh")...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = pt.slave, pt.slave, pt.slave
			cmd.Env = append(os.Environ(), "TERM=vt100")
			cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// When chrootvm ends, the terminal's mode is read, then the
			// last slave closed: the master's reader then takes what is
			// left and ends, and so does any wait for more.
			var after *syscall.Termios
			var afterErr error
			done := make(chan struct{})
			go func() {
				cmd.Wait()
				after, afterErr = getTermios(pt.slave)
				pt.slave.Close()
				close(done)
			}()

			// Typed text is echoed by the guest's terminal; only the
			// shell's results count: READY$((40+2)) prints READY42.
			pt.send(t, "echo READY$((40+2)) T=$TERM C=$COLUMNS L=$LINES; tty\r")
			off := pt.waitFor(t, 0, "READY42 T=vt100 C=101 L=37", bootTimeout)
			off = pt.waitFor(t, off, "/dev/hvc", 10*time.Second)
			pt.send(t, "sleep 1000 & echo BG$((1+1))\r")
			off = pt.waitFor(t, off, "BG2", 30*time.Second)
			pt.send(t, "jobs\r")
			off = pt.waitFor(t, off, "sleep 1000", 30*time.Second)
			// A foreground job that says when it runs (the quotes keep the
			// typed line from matching), then Ctrl-C: the raw byte, since
			// the host terminal is in raw mode; the guest's terminal makes
			// it SIGINT for the foreground job alone.
			// The shell drops the rest of a line whose job Ctrl-C killed,
			// as bash does: the job's status is asked for on a new line.
			pt.send(t, "sh -c 'echo FG''START; exec sleep 2000'\r")
			off = pt.waitFor(t, off, "FGSTART", 30*time.Second)
			pt.send(t, "\x03")
			off = pt.waitFor(t, off, "^C", 30*time.Second)
			pt.send(t, "echo FG=$?\r")
			off = pt.waitFor(t, off, "FG=130", 30*time.Second)
			pt.send(t, "jobs; echo ALIVE$((3+4))\r")
			pt.waitFor(t, off, "ALIVE7", 30*time.Second)
			want := 7
			if name == "6.12" {
				pt.send(t, "\x1d")
				want = 137
			} else {
				pt.send(t, "kill %1; exit 7\r")
			}
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatalf("chrootvm did not end:\n%q", pt.out)
			}
			if got := cmd.ProcessState.ExitCode(); got != want {
				t.Errorf("exit status %d, want %d\nterminal:\n%q", got, want, pt.out)
			}
			if afterErr != nil {
				t.Fatal(afterErr)
			}
			if *after != *before {
				t.Errorf("the terminal's mode was not restored: %+v, was %+v", *after, *before)
			}
		})
	}
}

func getTermios(f *os.File) (*syscall.Termios, error) {
	var tio syscall.Termios
	if err := ioctl(f, syscall.TCGETS, unsafe.Pointer(&tio)); err != nil {
		return nil, err
	}
	return &tio, nil
}
