package main

import (
	"bytes"
	"testing"
)

func TestQuietEnd(t *testing.T) {
	panicLines := "[    1.629247] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000300\r\n" +
		"[    1.629900] CPU: 0 UID: 0 PID: 1 Comm: true\r\n[    1.630000] Call Trace:\r\n"
	tests := []struct {
		name, in, want string
	}{
		{"program output, then the exit report", "hello\r\nworld\r\n" + panicLines, "hello\r\nworld\r\n"},
		{"report in the middle of an unfinished line", "no newline" + panicLines, "no newline"},
		{"report without timestamp", "x\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n", "x\n"},
		{"power-off", "bye\r\n[    2.1] reboot: Power down\r\n", "bye\r\n"},
		{"other panics are news", "[    2.0] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n",
			"[    2.0] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n"},
		{"kernel messages before the end pass", "[    0.3] PCI: Fatal: No config space access function found\r\nok\r\n",
			"[    0.3] PCI: Fatal: No config space access function found\r\nok\r\n"},
		{"brackets of the program", "[1] [2.5] [x] [[ [ 3.4]x K\r\n[", "[1] [2.5] [x] [[ [ 3.4]x K\r\n["},
		{"a held beginning that is not one", "result\nre", "result\nre"},
		{"a held beginning, then the report", "reb[ 1.0] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n", "reb"},
		{"almost a report", "Kernel panic - not syncing: something\nreboot: Power", "Kernel panic - not syncing: something\nreboot: Power"},
		{"nothing", "", ""},
	}
	for _, tt := range tests {
		// Whole, and cut at every byte: the result must not depend on how
		// the output arrives.
		for cut := 0; cut <= len(tt.in); cut++ {
			var out bytes.Buffer
			q := newQuietEnd(&out)
			for _, part := range []string{tt.in[:cut], tt.in[cut:]} {
				if n, err := q.Write([]byte(part)); n != len(part) || err != nil {
					t.Fatalf("%s: Write(%q) = %d, %v", tt.name, part, n, err)
				}
			}
			q.flush()
			if out.String() != tt.want {
				t.Errorf("%s, cut at %d: quietEnd passed %q, want %q", tt.name, cut, out.String(), tt.want)
				break
			}
		}
	}
}

func TestMatchReport(t *testing.T) {
	tests := []struct {
		in   string
		want match
	}{
		{"[", matchPrefix},
		{"[   ", matchPrefix},
		{"[   1.23", matchPrefix},
		{"[   1.23]", matchPrefix},
		{"[   1.23] ", matchPrefix},
		{"[   1.23] Kernel", matchPrefix},
		{"[   1.23] Kernel panic - not syncing: Attempted to kill init!", matchFull},
		{"[   1.23] reboot: Power down", matchFull},
		{"[   1.23] reboot: Restarting system", matchFull},
		{"[   1.23] reboot: System halted", matchNone},
		{"[   1.23]x", matchNone},
		{"[   1.23] PCI", matchNone},
		{"[x", matchNone},
		{"K", matchPrefix},
		{"r", matchPrefix},
		{"h", matchNone},
	}
	for _, tt := range tests {
		if got := matchReport([]byte(tt.in)); got != tt.want {
			t.Errorf("matchReport(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}
