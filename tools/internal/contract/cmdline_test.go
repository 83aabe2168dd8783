package contract

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestCmdline(t *testing.T) {
	shares := []Mount{{Tag: "work"}, {Tag: "src", ReadOnly: true}, {Tag: "a b"}}
	tests := []struct {
		c    Cmdline
		want string
	}{
		{Cmdline{}, ""},
		{Cmdline{Console: "ttyS0", Extra: []string{"panic=-1"}, RootTag: "rootfs", Init: "/bin/sh", Quiet: true},
			"console=ttyS0 panic=-1 rootfs=rootfs init=/bin/sh quiet loglevel=3"},
		{Cmdline{Console: "ttyAMA0", Init: "/bin/sh", Debug: true, Quiet: true},
			"console=ttyAMA0 init=/bin/sh debug"},
		{Cmdline{Console: "ttyS0", Mounts: shares, Init: "/usr/bin/env", Quiet: true,
			Append: []string{" fuse.max_user_bgreq=4 ", "", "x=1 y=2"}, Args: []string{"-i", "a b", "", "k=v w", "tab\there"}},
			`console=ttyS0 mount=work mount-ro=src mount="a b" init=/usr/bin/env quiet loglevel=3 fuse.max_user_bgreq=4 x=1 y=2 -- -i "a b" "" "k=v w" "tab	here"`},
		{Cmdline{Init: "/my prog"}, `init="/my prog"`},
		{Cmdline{RootTag: "root fs"}, `rootfs="root fs"`},
		{Cmdline{Console: "ttyS0", Extra: OsbuildWords(), Mounts: shares[:1], Init: "/run/mnt/work/vm.py"},
			"console=ttyS0 quiet selinux=1 enforcing=0 rootfstype=virtiofs root=rootfs ro mount=work init=/run/mnt/work/vm.py"},
	}
	for _, tt := range tests {
		got, err := tt.c.String()
		if err != nil || got != tt.want {
			t.Errorf("%+v.String() =\n%q, %v\nwant\n%q", tt.c, got, err, tt.want)
		}
	}
	// The most the kernel takes: 2047 bytes and the NUL.
	fill := strings.Repeat("x", CommandLineSize-1-len("init=/a -- "))
	if got, err := (Cmdline{Init: "/a", Args: []string{fill}}).String(); err != nil || len(got) != CommandLineSize-1 {
		t.Errorf("a 2047-byte command line: %d bytes, %v; want it", len(got), err)
	}
}

func TestCmdlineErrors(t *testing.T) {
	tests := []struct {
		c    Cmdline
		want string
	}{
		{Cmdline{Init: "/bin/sh", Args: []string{"-c", `echo "hi"`}}, "argument \"echo \\\"hi\\\"\" contains a double quote"},
		{Cmdline{Args: []string{"a\nb"}}, "newline"},
		{Cmdline{Args: []string{"a", "--", "b"}}, `an argument "--" cannot reach the program`},
		{Cmdline{Init: `/bin/"sh"`}, `init= "/bin/\"sh\"" contains a double quote`},
		{Cmdline{Mounts: []Mount{{Tag: `a"b`}}}, `mount= "a\"b" contains a double quote`},
		{Cmdline{RootTag: "a\nb"}, "rootfs= "},
		{Cmdline{Init: "/bin/sh", Args: []string{strings.Repeat("x", 2040)}}, "longer than the kernel takes (2047)"},
	}
	for _, tt := range tests {
		_, err := tt.c.String()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v.String() = %v, want an error containing %q", tt.c, err, tt.want)
		}
	}
}

func TestQuoteWord(t *testing.T) {
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
		if got, err := QuoteWord(tt.in); got != tt.want || err != nil {
			t.Errorf("QuoteWord(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestSplitCmdline checks SplitCmdline against the table /init's
// splitCmdline is checked against.
func TestSplitCmdline(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/cmdline-words.json")
	if err != nil {
		t.Fatal(err)
	}
	type splitCase struct {
		In          string
		Words, Rest []string
	}
	var table struct{ Cases []splitCase }
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatalf("testdata/cmdline-words.json: %v", err)
	}
	if len(table.Cases) < 10 {
		t.Fatalf("testdata/cmdline-words.json has %d cases", len(table.Cases))
	}
	// Bytes a JSON string cannot hold: the kernel's isspace takes 0xA0
	// for a space, also inside UTF-8's U+00A0 (C2 A0). /init's
	// cmdline_test.go has the same cases.
	table.Cases = append(table.Cases,
		splitCase{"panic=0\xa0x", []string{"panic=0", "x"}, nil},
		splitCase{"a\u00a0b", []string{"a\xc2", "b"}, nil})
	for _, tt := range table.Cases {
		words, rest := SplitCmdline(tt.In)
		if !reflect.DeepEqual(words, tt.Words) || !reflect.DeepEqual(rest, tt.Rest) {
			t.Errorf("SplitCmdline(%q) = %q, %q, want %q, %q", tt.In, words, rest, tt.Words, tt.Rest)
		}
	}
	if got, err := QuoteWord("a\xa0b"); got != "\"a\xa0b\"" || err != nil {
		t.Errorf("QuoteWord(a 0xA0 b) = %q, %v; want it quoted", got, err)
	}
}
