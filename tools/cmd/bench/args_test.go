package main

import (
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	t.Setenv("BASE", "")
	o, err := parseArgs([]string{"-n", "9", "--configs=6.12", "--wall", "0", "--base-init", "x/initrd", "-v"})
	if err != nil || o.n != 9 || o.configs != "6.12" || o.wall != 0 || o.baseInit != "x/initrd" || !o.verbose || o.chroot != "all" || o.jobs < 1 {
		t.Errorf("parseArgs = %+v, %v", o, err)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, `-n "0": want a whole number of at least 1`},
		{[]string{"--jobs", "two"}, "--jobs"},
		{[]string{"-configs", "q35"}, "unknown option -configs"},
		{[]string{"--configs"}, "--configs needs 1 value"},
		{[]string{"q35"}, "no operands"},
	} {
		if _, err := parseArgs(tt.args); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseArgs(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
	for _, b := range benchOptions {
		if !strings.Contains(usage(), b.name) {
			t.Errorf("usage lacks %s", b.name)
		}
	}
}
