package main

import (
	"strings"
	"testing"

	"virtinit/tools/internal/vm"
)

// TestCmdline checks chrootvm's words; vm's tests check the composing
// and quoting.
func TestCmdline(t *testing.T) {
	base := "console=ttyS0 panic=-1 rootfstype=virtiofs ro"
	tests := []struct {
		console   string
		supervise string
		mounts    []vm.Share
		appends   []string
		env       []string
		debug     bool
		want      string
	}{
		{"ttyS0", "ports", nil, nil, nil, false,
			base + " rd.supervise=ports rootfs=rootfs quiet loglevel=3"},
		{"ttyS0", "ports", nil, nil, nil, true,
			base + " rd.supervise=ports rootfs=rootfs debug"},
		{"ttyS0", "tty", []vm.Share{{Tag: "work", Path: "/w"}, {Tag: "src", Path: "/s", ReadOnly: true}},
			[]string{" fuse.max_user_bgreq=4 ", "", "x=1 y=2"}, []string{"TERM=xterm-256color", "COLUMNS=132", "LINES=43"}, false,
			base + ` rd.supervise=tty TERM=xterm-256color COLUMNS=132 LINES=43 rootfs=rootfs mount=work mount-ro=src quiet loglevel=3 fuse.max_user_bgreq=4 x=1 y=2`},
		{"ttyS0", "tty", nil, nil, []string{`TERM=a "b`, "TERM=", "=x", "LINES"}, false,
			base + " rd.supervise=tty rootfs=rootfs quiet loglevel=3"},
		{"ttyAMA0", "ports", nil, nil, nil, false,
			"console=ttyAMA0 panic=-1 rootfstype=virtiofs ro rd.supervise=ports rootfs=rootfs quiet loglevel=3"},
	}
	for _, tt := range tests {
		got, err := cmdline(tt.console, tt.supervise, tt.mounts, tt.appends, tt.env, tt.debug)
		if err != nil || got != tt.want {
			t.Errorf("cmdline(%q, %q, %v, %q, %q, %v) =\n%q, %v\nwant\n%q", tt.console, tt.supervise, tt.mounts, tt.appends, tt.env, tt.debug, got, err, tt.want)
		}
		if strings.Contains(got, "init=") || strings.Contains(got, " -- ") {
			t.Errorf("cmdline %q names the program: it belongs in /init.argv", got)
		}
	}
}

func TestCheckAppend(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = accepted
	}{
		{"quiet", ""},
		{`a="b c" d`, ""},
		{`""`, ""},
		{`a="b c`, "unbalanced double quote"},
		{`"`, "unbalanced double quote"},
		{"a\nb", "newline"},
		{"rd.emergency=halt", "stay halted"},
		{"quiet panic=0", "stay halted"},
		{"rd.emergency=reboot panic=5", ""},
		{"rd.supervise=console", "chooses rd.supervise itself"},
		{"quiet rd.supervise", "chooses rd.supervise itself"},
		{"rd.overlay", "use --overlay"},
		{"rd.overlay=16m", "use --overlay"},
		{"rd.supervisor=1 rd.overlays", ""},
		// Spellings the kernel and /init read the same.
		{"panic=00", "stay halted"},
		{"panic=0x0", "stay halted"},
		{"panic=+0", "stay halted"},
		{"panic=-0", "stay halted"},
		{`panic="0"`, "stay halted"},
		{`"panic=0"`, "stay halted"},
		{`rd.emergency="halt"`, "stay halted"},
		{`"rd.emergency=halt"`, "stay halted"},
		{`"rd.supervise=console"`, "chooses rd.supervise itself"},
		{`rd.supervise="tty"`, "chooses rd.supervise itself"},
		{`"rd.overlay"`, "use --overlay"},
		// The kernel's isspace takes the byte 0xA0 for a space, also
		// the second byte of UTF-8's U+00A0.
		{"panic=0\xa0", "stay halted"},
		{"quiet\u00a0panic=0", "stay halted"},
		{"panic=010 panic=-1 panic=x panic", ""},
		{"-- panic=0", ""},
	}
	for _, tt := range tests {
		err := checkAppend(tt.in)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("checkAppend(%q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}
