package main

import (
	"testing"

	"virtinit/tools/internal/vm"
)

// TestCmdline checks chrootvm's words; vm's tests check the composing
// and quoting.
func TestCmdline(t *testing.T) {
	base := "console=ttyS0 panic=-1 rootfstype=virtiofs ro rd.emergency=halt rootfs=rootfs"
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
			base + " init=/bin/sh quiet loglevel=3"},
		{"ttyS0", "/bin/sh", nil, nil, nil, true,
			base + " init=/bin/sh debug"},
		{"ttyS0", "/usr/bin/env", []vm.Share{{Tag: "work", Path: "/w"}, {Tag: "s rc", Path: "/s", ReadOnly: true}},
			[]string{"x=1 y=2"}, []string{"-i", "a b"}, false,
			base + ` mount=work mount-ro="s rc" init=/usr/bin/env quiet loglevel=3 x=1 y=2 -- -i "a b"`},
		{"ttyAMA0", "/bin/sh", nil, nil, nil, false,
			"console=ttyAMA0 panic=-1 rootfstype=virtiofs ro rd.emergency=halt rootfs=rootfs init=/bin/sh quiet loglevel=3"},
	}
	for _, tt := range tests {
		got, err := cmdline(tt.console, tt.program, tt.mounts, tt.appends, tt.args, tt.debug)
		if err != nil || got != tt.want {
			t.Errorf("cmdline(%q, %q, %v, %q, %q, %v) =\n%q, %v\nwant\n%q", tt.console, tt.program, tt.mounts, tt.appends, tt.args, tt.debug, got, err, tt.want)
		}
	}
	if _, err := cmdline("ttyS0", "/bin/sh", nil, nil, []string{"--"}, false); err == nil {
		t.Error(`cmdline with an argument "--" gave no error`)
	}
}
