package main

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// contract is testdata/contract.json: the facts /init shares with the
// host's tools, whose tools/internal/contract checks its side against the
// same file. A fact changed on one side only fails one of the two tests.
type contract struct {
	Ports   map[string][]string
	Records []struct {
		Wait   *int32
		Errno  unix.Errno
		Path   string
		Fatal  string
		Record string
	}
	NotRecords []string
	Lines      struct {
		Start     string
		Shutdown  []string
		Writeback struct {
			Tag    string
			Errno  unix.Errno
			Record string
		}
		OOM struct {
			N      int
			Record string
		}
	}
	Argv struct {
		Path  string
		Cases []struct {
			Argv []string
			File string
		}
	}
	Modules struct {
		Dir      string
		Suffixes []string
		Files    []struct{ File, Module string }
	}
	SharesDir string
	RootTag   string
	Words     map[string]string
	Supervise []string
}

func readContract(t *testing.T) contract {
	t.Helper()
	b, err := os.ReadFile("testdata/contract.json")
	if err != nil {
		t.Fatal(err)
	}
	var c contract
	if err := json.Unmarshal(b, &c); err != nil || len(c.Ports) == 0 || len(c.Records) == 0 || len(c.Words) == 0 {
		t.Fatalf("testdata/contract.json: %v, or a section is missing", err)
	}
	return c
}

// TestContractPorts checks /init's port table against the contract:
// the same names per mode, in its order, the status port first.
func TestContractPorts(t *testing.T) {
	want := readContract(t).Ports
	got := map[string][]string{}
	for _, p := range ports {
		got[p.mode] = append(got[p.mode], p.name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ports = %q, want %q (testdata/contract.json)", got, want)
	}
}

// TestContractRecords checks the records /init writes, and that
// writeStatus sends one as one line ended by a newline.
func TestContractRecords(t *testing.T) {
	for _, r := range readContract(t).Records {
		var got string
		switch {
		case r.Wait != nil:
			got, _ = waitRecord(*r.Wait)
		case r.Errno != 0:
			got = execRecord(r.Errno, fail("exec", r.Path, r.Errno))
		default:
			got = fatalRecord(errorString(r.Fatal))
		}
		if got != r.Record {
			t.Errorf("record = %q, want %q", got, r.Record)
		}
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	statusFD = p[1]
	writeStatus(&config{timeout: 1}, fatalRecord(errorString("two\nlines")))
	b := make([]byte, 100)
	n, _ := unix.Read(p[0], b)
	if got, want := string(b[:n]), "fatal two lines\n"; got != want {
		t.Errorf("writeStatus wrote %q, want %q", got, want)
	}
}

// TestContractLines checks the lines /init writes besides the end.
func TestContractLines(t *testing.T) {
	l := readContract(t).Lines
	if startRecord != l.Start {
		t.Errorf("startRecord = %q, want %q", startRecord, l.Start)
	}
	for _, kind := range []string{"poweroff", "halt", "reboot"} {
		if got := shutdownRecord(kind); !slices.Contains(l.Shutdown, got) {
			t.Errorf("shutdownRecord(%q) = %q, not one of %q", kind, got, l.Shutdown)
		}
	}
	if len(l.Shutdown) != 3 {
		t.Errorf("the contract has %d shutdown records, /init writes 3", len(l.Shutdown))
	}
	if got := writebackRecord(l.Writeback.Tag, l.Writeback.Errno); got != l.Writeback.Record {
		t.Errorf("writebackRecord = %q, want %q", got, l.Writeback.Record)
	}
	if got := oomRecord(l.OOM.N); got != l.OOM.Record {
		t.Errorf("oomRecord = %q, want %q", got, l.OOM.Record)
	}
}

// TestContractArgv checks /init.argv's path and encoding.
func TestContractArgv(t *testing.T) {
	a := readContract(t).Argv
	if argvPath != a.Path {
		t.Errorf("argvPath = %q, want %q", argvPath, a.Path)
	}
	for _, tc := range a.Cases {
		prog, args, why := parseArgv(tc.File)
		if got := append([]string{prog}, args...); why != "" || !slices.Equal(got, tc.Argv) {
			t.Errorf("parseArgv(%q) = %q, %q, want %q", tc.File, got, why, tc.Argv)
		}
	}
}

// TestContractPlaces checks the module directory and names, /run/mnt
// and the default root tag.
func TestContractPlaces(t *testing.T) {
	c := readContract(t)
	if modulesDir != c.Modules.Dir || !slices.Equal(moduleSuffixes, c.Modules.Suffixes) {
		t.Errorf("modulesDir, moduleSuffixes = %q, %q, want %q, %q", modulesDir, moduleSuffixes, c.Modules.Dir, c.Modules.Suffixes)
	}
	for _, f := range c.Modules.Files {
		if name, _, ok := moduleFile(f.File); !ok || name != f.Module {
			t.Errorf("moduleFile(%q) = %q, %v, want %q", f.File, name, ok, f.Module)
		}
	}
	if sharesDir != c.SharesDir {
		t.Errorf("sharesDir = %q, want %q", sharesDir, c.SharesDir)
	}
	if got := defaultConfig().rootTag; got != c.RootTag {
		t.Errorf("default root tag = %q, want %q", got, c.RootTag)
	}
}

// TestContractWords checks the kernel words /init reads: each of the
// contract's changes what /init does, every word parseCmdline looks for
// is in the contract, and rd.supervise takes the contract's values.
func TestContractWords(t *testing.T) {
	c := readContract(t)
	for word, line := range c.Words {
		got, base := defaultConfig(), defaultConfig()
		if err := parseCmdline(line, got); err != nil {
			t.Errorf("parseCmdline(%q) = %v", line, err)
			continue
		}
		if err := parseCmdline("", base); err != nil {
			t.Fatal(err)
		}
		got.words = nil
		if reflect.DeepEqual(got, base) {
			t.Errorf("parseCmdline(%q) left the defaults: /init does not read %s", line, word)
		}
	}
	var lines []string
	for _, l := range c.Words {
		lines = append(lines, strings.Fields(l)...)
	}
	for _, w := range cmdlineKeys(t) {
		// rootfstype is read with root, and used in its line.
		if !slices.ContainsFunc(lines, func(l string) bool { return l == w || strings.HasPrefix(l, w+"=") }) {
			t.Errorf("parseCmdline reads %q, which testdata/contract.json does not list", w)
		}
	}
	for _, v := range c.Supervise {
		if err := parseCmdline("rd.supervise="+v, defaultConfig()); err != nil {
			t.Errorf("parseCmdline(rd.supervise=%s) = %v", v, err)
		}
	}
	if err := parseCmdline("rd.supervise=other", defaultConfig()); err == nil {
		t.Errorf("parseCmdline(rd.supervise=other) = nil, want an error")
	}
}

// cmdlineKeys are the words parseCmdline looks for, read from its
// source: the cases of its switch on the key and the prefixes it gives
// lookup, without "=".
func cmdlineKeys(t *testing.T) []string {
	f, err := parser.ParseFile(token.NewFileSet(), "cmdline.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	add := func(e ast.Expr) {
		if l, ok := e.(*ast.BasicLit); ok && l.Kind == token.STRING {
			s, _ := strconv.Unquote(l.Value)
			keys = append(keys, strings.TrimSuffix(s, "="))
		}
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "parseCmdline" {
			continue
		}
		ast.Inspect(fn, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SwitchStmt:
				if id, ok := n.Tag.(*ast.Ident); ok && id.Name == "key" {
					for _, s := range n.Body.List {
						for _, e := range s.(*ast.CaseClause).List {
							add(e)
						}
					}
				}
			case *ast.CallExpr:
				if id, ok := n.Fun.(*ast.Ident); ok && id.Name == "lookup" && len(n.Args) == 2 {
					add(n.Args[1])
				}
			}
			return true
		})
	}
	if len(keys) == 0 {
		t.Fatal("cmdline.go: no parseCmdline, or it no longer switches on key")
	}
	return keys
}
