package vm

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		line string
		end  End
		msg  string
	}{
		{"[    1.629247] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300\r",
			EndExit, "Attempted to kill init! exitcode=0x00000300"},
		{"Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000",
			EndExit, "Attempted to kill init! exitcode=0x00000000"},
		{"program output without newline[    2.000000] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)",
			EndPanic, "VFS: Unable to mount root fs on unknown-block(0,0)"},
		{"[    0.012000] Kernel panic - not syncing: IO-APIC + timer doesn't work!  Boot with apic=debug",
			EndPanic, "IO-APIC + timer doesn't work!  Boot with apic=debug"},
		{"[    3.100000] reboot: Power down\r", EndPowerOff, ""},
		{"reboot: Restarting system", EndReboot, ""},
		{"[    3.100000] reboot: Restarting system with command 'x'", EndReboot, ""},
		{"[    3.100000] reboot: System halted", EndHalt, ""},
		{"[    1.642178] Run /init as init process", EndUnknown, ""},
		{"---[ end Kernel panic", EndUnknown, ""},
		{"", EndUnknown, ""},
	}
	for _, tt := range tests {
		end, msg := classify(tt.line)
		if end != tt.end || msg != tt.msg {
			t.Errorf("classify(%q) = %q, %q; want %q, %q", tt.line, end, msg, tt.end, tt.msg)
		}
	}
}

func TestExitStatus(t *testing.T) {
	tests := []struct {
		msg  string
		want int
	}{
		{"Attempted to kill init! exitcode=0x00000000", 0},
		{"Attempted to kill init! exitcode=0x00000100", 1},
		{"Attempted to kill init! exitcode=0x00000300", 3},
		{"Attempted to kill init! exitcode=0x00007c00", 124},
		{"Attempted to kill init! exitcode=0x0000ff00", 255},
		{"Attempted to kill init! exitcode=0x00000009", 128 + 9},  // SIGKILL
		{"Attempted to kill init! exitcode=0x0000000b", 128 + 11}, // SIGSEGV
		{"Attempted to kill init! exitcode=0x00000086", 128 + 6},  // SIGABRT with a core dump
		{"Attempted to kill init! exitcode=0x0000ff00 trailing words", 255},
		{"Attempted to kill init! exitcode=0x", -1},
		{"Attempted to kill init! exitcode=0xzz", -1},
		{"VFS: Unable to mount root fs", -1},
	}
	for _, tt := range tests {
		if got := exitStatus(tt.msg); got != tt.want {
			t.Errorf("exitStatus(%q) = %d, want %d", tt.msg, got, tt.want)
		}
	}
}

func TestParseEnd(t *testing.T) {
	tests := []struct {
		name string
		out  string
		end  End
		code int
		msg  string
	}{
		{"exit", "[    0.1] Linux version 6.12\r\nhello\r\n[    1.6] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00002a00\r\n[    1.7] CPU: 0 PID: 1\r\n",
			EndExit, 42, "Attempted to kill init! exitcode=0x00002a00"},
		{"power-off", "bye\r\n[    2.0] reboot: Power down\r\n", EndPowerOff, 0, ""},
		{"reboot", "[    2.0] reboot: Restarting system\r\n", EndReboot, 0, ""},
		{"halt", "[    2.0] reboot: System halted\r\n", EndHalt, -1, ""},
		{"other panic", "[    2.0] Kernel panic - not syncing: No working init found.\r\n", EndPanic, -1, "No working init found."},
		{"first end wins", "[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000100\n[ 0.0] Linux version\n[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000200\n",
			EndExit, 1, "Attempted to kill init! exitcode=0x00000100"},
		{"last line without newline", "x\nreboot: Power down", EndPowerOff, 0, ""},
		{"nothing", "[    0.1] Linux version 6.12\r\n", EndUnknown, -1, ""},
		{"empty", "", EndUnknown, -1, ""},
	}
	for _, tt := range tests {
		end, code, msg := parseEnd([]byte(tt.out))
		if end != tt.end || code != tt.code || msg != tt.msg {
			t.Errorf("%s: parseEnd(%q) = %q, %d, %q; want %q, %d, %q", tt.name, tt.out, end, code, msg, tt.end, tt.code, tt.msg)
		}
	}
}

// failingWriter fails every write, like a closed pipe.
type failingWriter struct{ n int }

func (w *failingWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return 0, errors.New("broken pipe")
}

func TestConsole(t *testing.T) {
	var fwd bytes.Buffer
	c := newConsole(&fwd, KernelWords{}, 0)
	ended := func() bool {
		select {
		case <-c.ended:
			return true
		default:
			return false
		}
	}
	pieces := []string{"hello\r\n[    1.0] Kernel pa", "nic - not syncing: Attempted to kill init! exit", "code=0x00000500\r", "\n[    1.1] CPU: 0\r\n"}
	for i, p := range pieces {
		if n, err := c.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
		// The end is known once its line is complete, with the third piece.
		if got, want := ended(), i >= 3; got != want {
			t.Errorf("after piece %d: ended = %v, want %v", i, got, want)
		}
	}
	all := "hello\r\n[    1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000500\r\n[    1.1] CPU: 0\r\n"
	if fwd.String() != all {
		t.Errorf("forwarded %q, want %q", fwd.String(), all)
	}
	res := c.result()
	if string(res.Output) != all || res.ExitCode != 5 || res.End != EndExit {
		t.Errorf("result: output %q, exit code %d, end %q; want %q, 5, %q", res.Output, res.ExitCode, res.End, all, EndExit)
	}
	// A second end must not close the channel twice.
	c.Write([]byte("reboot: Power down\n"))
}

func TestConsoleBrokenWriter(t *testing.T) {
	w := &failingWriter{}
	c := newConsole(w, KernelWords{}, 0)
	if n, err := c.Write([]byte("reboot: Power down\n")); n != 19 || err != nil {
		t.Errorf("Write to a console whose writer fails = %d, %v; want 19, nil", n, err)
	}
	if w.n != 19 {
		t.Errorf("the caller's writer got %d bytes, want 19", w.n)
	}
	if res := c.result(); res.End != EndPowerOff {
		t.Errorf("result: end %q, want %q", res.End, EndPowerOff)
	}
}

// markerEnding is an Ending of a test's own: a line "DONE N" ends the
// guest with status N.
type markerEnding struct{}

func (markerEnding) Line(line string) End {
	if strings.HasPrefix(line, "DONE ") {
		return EndExit
	}
	return EndUnknown
}

func (markerEnding) Result(out []byte) (End, int, string) {
	for _, l := range strings.Split(string(out), "\n") {
		if n, ok := strings.CutPrefix(l, "DONE "); ok {
			code, _ := strconv.Atoi(n)
			return EndExit, code, ""
		}
	}
	return EndUnknown, -1, ""
}

// TestConsoleEnding: the console reads its lines with the Ending it is
// given, and keeps only the tail when limited, lines split across writes
// included.
func TestConsoleEnding(t *testing.T) {
	c := newConsole(nil, markerEnding{}, 16)
	c.Write([]byte("reboot: Power down\n" + strings.Repeat("x", 40) + "\nDO"))
	select {
	case <-c.ended:
		t.Fatal("the console ended on a kernel's words, not its Ending's")
	default:
	}
	c.Write([]byte("NE 7\n"))
	select {
	case <-c.ended:
	default:
		t.Fatal("the console did not end on its Ending's line")
	}
	res := c.result()
	if res.End != EndExit || res.ExitCode != 7 || string(res.Output) != "xxxxxxxx\nDONE 7\n" {
		t.Errorf("result = %q, %d, %q; want exit, 7 and the last 16 bytes", res.End, res.ExitCode, res.Output)
	}
}
