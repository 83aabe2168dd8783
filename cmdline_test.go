package main

import (
	"reflect"
	"strings"
	"testing"
)

func TestSplitCmdline(t *testing.T) {
	tests := []struct {
		in          string
		words, rest []string
	}{
		{"", nil, nil},
		{"  \t\n ", nil, nil},
		{"a b=c", []string{"a", "b=c"}, nil},
		{`key="a b" x`, []string{"key=a b", "x"}, nil},
		{`"key=a b" x`, []string{"key=a b", "x"}, nil},
		{`"quoted word"`, []string{"quoted word"}, nil},
		{`a"b c"d`, []string{`a"b c"d`}, nil},
		{`k=`, []string{"k="}, nil},
		{`k=""`, []string{"k="}, nil},
		{"init=/bin/x -- a b=c", []string{"init=/bin/x"}, []string{"a", "b=c"}},
		{`-- "two words" -- x`, nil, []string{"two words", "--", "x"}},
		{`"--" a`, nil, []string{"a"}},
		{"--=x y", []string{"--=x", "y"}, nil},
		{`k="unterminated value`, []string{"k=unterminated value"}, nil},
		{"a\tb\nc", []string{"a", "b", "c"}, nil},
	}
	for _, tt := range tests {
		words, rest := splitCmdline(tt.in)
		if !reflect.DeepEqual(words, tt.words) {
			t.Errorf("splitCmdline(%q) words = %q, want %q", tt.in, words, tt.words)
		}
		if !reflect.DeepEqual(rest, tt.rest) {
			t.Errorf("splitCmdline(%q) rest = %q, want %q", tt.in, rest, tt.rest)
		}
	}
}

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		in   string
		want func(*config) // edits a default config into the expected one
	}{
		{"", func(c *config) {}},
		{"console=ttyS0 quiet", func(c *config) {}},
		{"rootfs=root2", func(c *config) { c.rootTag = "root2" }},
		// osbuild's command line.
		{"console=ttyS0 quiet selinux=1 enforcing=0 rootfstype=virtiofs root=rootfs ro mount=mnt0 init=/run/mnt/mnt0/osbuild/vm.py",
			func(c *config) {
				c.shares = []share{{tag: "mnt0"}}
				c.init = "/run/mnt/mnt0/osbuild/vm.py"
			}},
		{"rootfstype=virtiofs root=other", func(c *config) { c.rootTag = "other" }},
		{"root=/dev/vda1", func(c *config) {}},                                       // not virtiofs: not ours
		{"rootfstype=virtiofs root=a rootfs=b", func(c *config) { c.rootTag = "b" }}, // rootfs= wins
		{"mount=a mount-ro=b mount=c", func(c *config) {
			c.shares = []share{{tag: "a"}, {tag: "b", readOnly: true}, {tag: "c"}}
		}},
		{"init=sh init=/sbin/init", func(c *config) { c.init = "/sbin/init" }}, // last wins, as in the kernel
		{"debug", func(c *config) { c.debug = true }},
		{"rd.debug", func(c *config) { c.debug = true }},
		{"rd.emergency=reboot", func(c *config) { c.emergency = "reboot" }},
		{"rd.emergency=halt", func(c *config) { c.emergency = "halt" }},
		{"rd.timeout=0", func(c *config) { c.timeout = 0 }},
		{"rd.timeout=30", func(c *config) { c.timeout = 30 }},
		{`init=/bin/echo -- hello "big world" k=v`, func(c *config) {
			c.init = "/bin/echo"
			c.args = []string{"hello", "big world", "k=v"}
		}},
	}
	for _, tt := range tests {
		want := defaultConfig()
		tt.want(want)
		got := defaultConfig()
		err := parseCmdline(tt.in, got)
		got.words = nil // checked by TestParamsFor
		if err != nil {
			t.Errorf("parseCmdline(%q) error %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("parseCmdline(%q) = %+v, want %+v", tt.in, got, want)
		}
	}
}

func TestParseCmdlineErrors(t *testing.T) {
	long := strings.Repeat("x", 37)
	tests := []struct{ in, want string }{
		{"rootfs=", `rootfs=: virtiofs tag "" is empty`},
		{"mount=", `mount=: virtiofs tag "" is empty`},
		{"mount-ro=a/b", `mount-ro=a/b: virtiofs tag "a/b" contains '/'`},
		{"mount=..", `mount=..: virtiofs tag ".." is not a name`},
		{"mount=.", `mount=.: virtiofs tag "." is not a name`},
		{"mount=" + long, "mount=" + long + `: virtiofs tag "` + long + `" is longer than 36 bytes`},
		{"mount=a mount-ro=a", `mount-ro=a: virtiofs tag "a" is given twice`},
		{"mount=rootfs", `mount=rootfs: virtiofs tag "rootfs" is given twice`},
		{"rootfs=x mount=x", `mount=x: virtiofs tag "x" is given twice`},
		{"init=", "init= is empty"},
		{"rd.emergency=explode", "rd.emergency=explode: want poweroff, reboot or halt"},
		{"rd.timeout=-1", "rd.timeout=-1: want a number of seconds"},
		{"rd.timeout=ten", "rd.timeout=ten: want a number of seconds"},
	}
	for _, tt := range tests {
		err := parseCmdline(tt.in, defaultConfig())
		if err == nil || err.Error() != tt.want {
			t.Errorf("parseCmdline(%q) error = %v, want %q", tt.in, err, tt.want)
		}
	}
	// 36 bytes is the limit, and allowed.
	if err := parseCmdline("mount="+long[:36], defaultConfig()); err != nil {
		t.Errorf("parseCmdline(36-byte tag) error %v, want none", err)
	}
}

func FuzzCmdline(f *testing.F) {
	for _, s := range []string{
		"", "--", `"`, `""`, `k="`, `"k=v`, `a -- b`, `-- -- --`,
		`key="a b" "c d" -- "e f" g=h`, "mount=a mount=a", "mount= rootfs=",
		"fuse.a=1 fuse.a=2", "init=/x -- " + strings.Repeat("w ", 2000),
		strings.Repeat(`"`, 4097), "rd.timeout=999999999999",
		"\t\n\v\f\r", "k=\x00v", "mount=" + strings.Repeat("é", 20),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, rest := splitCmdline(s)
		if !strings.Contains(s, `"`) {
			// Without quotes the kernel's splitting is strings.Fields
			// with ASCII whitespace only, the first lone "--" removed.
			want := strings.FieldsFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) })
			got := words
			if len(rest) > 0 || len(got) < len(want) {
				got = append(got, "--")
				got = append(got, rest...)
			}
			if !reflect.DeepEqual(got, want) && !(len(want) == 0 && len(got) == 0) {
				t.Fatalf("splitCmdline(%q) = %q, want %q", s, got, want)
			}
		}
		c := defaultConfig()
		if err := parseCmdline(s, c); err != nil {
			return
		}
		// Whatever parses must be safe to use as paths and names.
		tags := []string{c.rootTag}
		for _, sh := range c.shares {
			tags = append(tags, sh.tag)
		}
		for i, tag := range tags {
			if tag == "" || len(tag) > maxTagLen || strings.Contains(tag, "/") || tag == "." || tag == ".." {
				t.Fatalf("parseCmdline(%q) accepted tag %q", s, tag)
			}
			for _, other := range tags[:i] {
				if other == tag {
					t.Fatalf("parseCmdline(%q) accepted duplicate tag %q", s, tag)
				}
			}
		}
		if c.init == "" {
			t.Fatalf("parseCmdline(%q) accepted an empty init", s)
		}
		switch c.emergency {
		case "poweroff", "reboot", "halt":
		default:
			t.Fatalf("parseCmdline(%q) emergency = %q", s, c.emergency)
		}
	})
}
