package main

import (
	"strings"
	"testing"

	"virtinit/tools/internal/vm"
)

func TestCmdline(t *testing.T) {
	base := "console=ttyS0 panic=-1 rootfstype=virtiofs rootfs=rootfs ro"
	tests := []struct {
		console string
		program string
		mounts  []vm.Share
		appends []string
		args    []string
		debug   bool
		want    string
	}{
		{"ttyS0", "/bin/sh", nil, nil, nil, false,
			base + " init=/bin/sh quiet loglevel=3 rd.emergency=halt"},
		{"ttyS0", "/bin/sh", nil, nil, nil, true,
			base + " init=/bin/sh debug rd.emergency=halt"},
		{"ttyS0", "/usr/bin/env", []vm.Share{{Tag: "work", Path: "/w"}, {Tag: "src", Path: "/s", ReadOnly: true}},
			[]string{" fuse.max_user_bgreq=4 ", "", "x=1 y=2"}, []string{"-i", "a b", "", "k=v w", "tab\there"}, false,
			base + ` init=/usr/bin/env mount=work mount-ro=src quiet loglevel=3 rd.emergency=halt fuse.max_user_bgreq=4 x=1 y=2 -- -i "a b" "" "k=v w" "tab	here"`},
		{"ttyS0", "/my prog", nil, nil, nil, false,
			base + ` init="/my prog" quiet loglevel=3 rd.emergency=halt`},
		{"ttyAMA0", "/bin/sh", nil, nil, nil, false,
			"console=ttyAMA0 panic=-1 rootfstype=virtiofs rootfs=rootfs ro init=/bin/sh quiet loglevel=3 rd.emergency=halt"},
	}
	for _, tt := range tests {
		got, err := cmdline(tt.console, tt.program, tt.mounts, tt.appends, tt.args, tt.debug)
		if err != nil || got != tt.want {
			t.Errorf("cmdline(%q, %q, %v, %q, %q, %v) =\n%q, %v\nwant\n%q", tt.console, tt.program, tt.mounts, tt.appends, tt.args, tt.debug, got, err, tt.want)
		}
	}
}

func TestCmdlineErrors(t *testing.T) {
	tests := []struct {
		program string
		args    []string
		want    string
	}{
		{"/bin/sh", []string{"-c", `echo "hi"`}, "double quote"},
		{"/bin/sh", []string{"a\nb"}, "newline"},
		{"/bin/sh", []string{"a", "--", "b"}, `"--"`},
		{`/bin/"sh"`, nil, "PROGRAM"},
		{"/bin/sh", []string{strings.Repeat("x", 2000)}, "longer than the kernel takes (2047)"},
	}
	for _, tt := range tests {
		_, err := cmdline("ttyS0", tt.program, nil, nil, tt.args, false)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("cmdline(%q, %q) = %v, want an error containing %q", tt.program, tt.args, err, tt.want)
		}
	}
}

func TestQuoteArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a=b", "a=b"},
		{"", `""`},
		{"a b", `"a b"`},
		{"a\tb", "\"a\tb\""},
		{"'single'", "'single'"},
		{"ünïcode", "ünïcode"},
	}
	for _, tt := range tests {
		if got, err := quoteArg(tt.in); got != tt.want || err != nil {
			t.Errorf("quoteArg(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
