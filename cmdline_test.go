package main

import (
	"encoding/json"
	"os"
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
		// The kernel's isspace takes 0xA0 for a space, also inside
		// UTF-8's U+00A0 (C2 A0).
		{"panic=0\xa0x", []string{"panic=0", "x"}, nil},
		{"a\u00a0b", []string{"a\xc2", "b"}, nil},
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
		{"rd.overlay", func(c *config) { c.overlay = true }},
		{"rd.overlay=512m", func(c *config) { c.overlay, c.overlaySize = true, "512m" }},
		{"rd.overlay=2G", func(c *config) { c.overlay, c.overlaySize = true, "2G" }},
		{"rd.overlay=25%", func(c *config) { c.overlay, c.overlaySize = true, "25%" }},
		{"rd.overlay=1048576", func(c *config) { c.overlay, c.overlaySize = true, "1048576" }},
		{"rd.overlay=1g rd.overlay", func(c *config) { c.overlay = true }}, // last wins
		{"rd.supervise", func(c *config) { c.supervise = "console" }},
		{"rd.supervise=console", func(c *config) { c.supervise = "console" }},
		{"rd.supervise=ports", func(c *config) { c.supervise = "ports" }},
		{"rd.supervise=tty", func(c *config) { c.supervise = "tty" }},
		{"rd.supervise=tty rd.supervise", func(c *config) { c.supervise = "console" }}, // last wins
		{`"rd.supervise=ports"`, func(c *config) { c.supervise = "ports" }},
		{"init=/x -- rd.supervise=tty", func(c *config) { // an argument, not a word for /init
			c.init = "/x"
			c.args = []string{"rd.supervise=tty"}
		}},
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
		{"rd.supervise=", "rd.supervise=: want console, ports or tty"},
		{"rd.overlay=", "rd.overlay=: want a size like 512m, 2g or 25%"},
		{"rd.overlay=0", "rd.overlay=0: want a size like 512m, 2g or 25%"}, // tmpfs: no limit
		{"rd.overlay=m", "rd.overlay=m: want a size like 512m, 2g or 25%"},
		{"rd.overlay=1t", "rd.overlay=1t: want a size like 512m, 2g or 25%"},
		{"rd.overlay=-1m", "rd.overlay=-1m: want a size like 512m, 2g or 25%"},
		{"rd.overlay=1.5g", "rd.overlay=1.5g: want a size like 512m, 2g or 25%"},
		{"rd.overlay=16mb", "rd.overlay=16mb: want a size like 512m, 2g or 25%"},
		{"rd.supervise=pty", "rd.supervise=pty: want console, ports or tty"},
		{"rd.supervise=Ports", "rd.supervise=Ports: want console, ports or tty"},
		{"rd.supervise=ports rd.supervise=x", "rd.supervise=x: want console, ports or tty"},
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
		"rd.supervise", "rd.supervise=", "rd.supervise=tty rd.supervise=ports",
		`rd.supervise="tty"`, "rd.supervise=ports -- rd.supervise=x",
		slirp, "ip=", "ip=off " + slirp, "hostname= hostname=x", `"ip=1.2.3.4:::255.0.0.0:a b:e"`,
		"ip=" + strings.Repeat(":", 100), "hostname=" + strings.Repeat("h", 65),
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
		switch c.supervise {
		case "", "console", "ports", "tty":
		default:
			t.Fatalf("parseCmdline(%q) supervise = %q", s, c.supervise)
		}
	})
}

func TestParseArgv(t *testing.T) {
	long := strings.Repeat("a", 200<<10)
	tests := []struct {
		in   string
		prog string
		args []string
	}{
		{"/bin/sh\x00", "/bin/sh", []string{}},
		{"sh\x00-c\x00echo \"a b\"\n\x00", "sh", []string{"-c", "echo \"a b\"\n"}},
		{"/x\x00\x00\x00", "/x", []string{"", ""}},
		{"/x\x00--\x00init=/y\x00", "/x", []string{"--", "init=/y"}},
		{"/x\x00\xff\xfe \t\x00", "/x", []string{"\xff\xfe \t"}},
		{"/x\x00" + long + "\x00", "/x", []string{long}},
	}
	for _, tt := range tests {
		prog, args, why := parseArgv(tt.in)
		if why != "" || prog != tt.prog || !reflect.DeepEqual(args, tt.args) {
			t.Errorf("parseArgv(%.40q) = %q, %.40q, %q, want %q, %.40q", tt.in, prog, args, why, tt.prog, tt.args)
		}
	}
	for _, tt := range []struct{ in, why string }{
		{"", "empty: want the program and its arguments, each ending in NUL"},
		{"/bin/sh", "does not end in NUL"},
		{"/bin/sh\x00-c", "does not end in NUL"},
		{"\x00", "the program (its first string) is empty"},
		{"\x00/bin/sh\x00", "the program (its first string) is empty"},
	} {
		if _, _, why := parseArgv(tt.in); why != tt.why {
			t.Errorf("parseArgv(%q) error = %q, want %q", tt.in, why, tt.why)
		}
	}
}

func FuzzArgv(f *testing.F) {
	for _, s := range []string{"", "\x00", "/x", "/x\x00", "/x\x00\x00", "a\x00b\x00c", "\x00\x00", "--\x00--\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prog, args, why := parseArgv(s)
		if why != "" {
			return
		}
		// What parses is exactly the file again, and names a program.
		if prog == "" {
			t.Fatalf("parseArgv(%q) accepted an empty program", s)
		}
		back := prog + "\x00"
		for _, a := range args {
			if strings.Contains(a, "\x00") {
				t.Fatalf("parseArgv(%q) gave an argument with a NUL: %q", s, a)
			}
			back += a + "\x00"
		}
		if back != s {
			t.Fatalf("parseArgv(%q) = %q, %q: joined again %q", s, prog, args, back)
		}
	})
}

func TestReadArgv(t *testing.T) {
	dir := t.TempDir()
	defer func(p string) { argvPath = p }(argvPath)

	// Without the file, the command line's program and arguments stay.
	argvPath = dir + "/missing"
	c := defaultConfig()
	c.init, c.args = "/from/cmdline", []string{"a"}
	if err := readArgv(c); err != nil || c.init != "/from/cmdline" || !reflect.DeepEqual(c.args, []string{"a"}) {
		t.Errorf("readArgv(no file) = %v, init %q args %q, want no change", err, c.init, c.args)
	}

	// With it, they are replaced, beyond the size of one read.
	argvPath = dir + "/init.argv"
	big := strings.Repeat("b", 3*len(ioBuf)+7)
	if err := os.WriteFile(argvPath, []byte("/bin/prog\x00\x00"+big+"\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := readArgv(c); err != nil || c.init != "/bin/prog" || !reflect.DeepEqual(c.args, []string{"", big}) {
		t.Errorf("readArgv = %v, init %q, %d args, want /bin/prog and 2 args", err, c.init, len(c.args))
	}

	if err := os.WriteFile(argvPath, []byte("/bin/prog"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := readArgv(c); err == nil || err.Error() != argvPath+": does not end in NUL" {
		t.Errorf("readArgv(no NUL) = %v, want %q", err, argvPath+": does not end in NUL")
	}
	argvPath = dir // a directory: read fails with EISDIR
	if err := readArgv(c); err == nil || err.Error() != "read "+dir+": is a directory" {
		t.Errorf("readArgv(directory) = %v, want a read error naming it", err)
	}
}

// TestSplitCmdlineShared checks splitCmdline against the table that
// tools/internal/vm's SplitCmdline is checked against too.
func TestSplitCmdlineShared(t *testing.T) {
	b, err := os.ReadFile("testdata/cmdline-words.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			In          string
			Words, Rest []string
		}
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatalf("testdata/cmdline-words.json: %v", err)
	}
	if len(table.Cases) < 10 {
		t.Fatalf("testdata/cmdline-words.json has %d cases", len(table.Cases))
	}
	for _, tt := range table.Cases {
		words, rest := splitCmdline(tt.In)
		if !reflect.DeepEqual(words, tt.Words) || !reflect.DeepEqual(rest, tt.Rest) {
			t.Errorf("splitCmdline(%q) = %q, %q, want %q, %q", tt.In, words, rest, tt.Words, tt.Rest)
		}
	}
}
