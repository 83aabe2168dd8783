package contract

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// table is testdata/contract.json, which the root package's tests check
// /init against.
type table struct {
	Ports   map[string][]string
	Records []struct {
		Record string
	}
	NotRecords []string
	Lines      struct {
		Start     string
		Shutdown  []string
		Writeback struct{ Tag, Record string }
		OOM       struct {
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
		Files    []struct {
			Index, Count int
			File, Module string
		}
	}
	SharesDir string
	RootTag   string
	Words     map[string]string
	Supervise []string
}

func readTable(t *testing.T) table {
	t.Helper()
	b, err := os.ReadFile("../../../testdata/contract.json")
	if err != nil {
		t.Fatal(err)
	}
	var c table
	if err := json.Unmarshal(b, &c); err != nil || len(c.Ports) == 0 || len(c.Records) == 0 || len(c.Words) == 0 {
		t.Fatalf("testdata/contract.json: %v, or a section is missing", err)
	}
	return c
}

func TestContractPorts(t *testing.T) {
	c := readTable(t)
	if !reflect.DeepEqual(Ports, c.Ports) {
		t.Errorf("Ports = %q, want %q (testdata/contract.json)", Ports, c.Ports)
	}
	modes := []string{ModeConsole, ModePorts, ModeTTY}
	want := slices.Clone(c.Supervise)
	sort.Strings(want)
	if !slices.Equal(modes, want) {
		t.Errorf("modes %q, want %q", modes, want)
	}
}

// TestContractRecords parses every record /init writes, and refuses
// what it does not write.
// TestContractLines reads a whole run's status port as /init writes it.
func TestContractLines(t *testing.T) {
	l := readTable(t).Lines
	if RecordStart != l.Start {
		t.Errorf("RecordStart = %q, want %q", RecordStart, l.Start)
	}
	for _, end := range l.Shutdown {
		r, ok := ParseRecord([]byte(l.Start + "\n" + end + "\n"))
		if !ok || !r.Started || r.Kind != RecordShutdown || RecordShutdown+" "+r.Text != end {
			t.Errorf("ParseRecord of %q = %+v, %v, want a started run's shutdown", end, r, ok)
		}
	}
	port := l.Start + "\n" + l.Writeback.Record + "\n" + l.OOM.Record + "\nexit 0\n"
	r, ok := ParseRecord([]byte(port))
	if !ok || !r.Started || r.Kind != RecordExit || len(r.Lost) != 1 || !strings.HasPrefix(r.Lost[0], l.Writeback.Tag+": ") || r.OOMKills != l.OOM.N {
		t.Errorf("ParseRecord(%q) = %+v, %v, want the lost share %s and %d OOM kills", port, r, ok, l.Writeback.Tag, l.OOM.N)
	}
	if r, ok := ParseRecord([]byte(l.Start + "\n")); ok || !r.Started {
		t.Errorf("ParseRecord of a start alone = %+v, %v, want no end but started", r, ok)
	}
}

func TestContractRecords(t *testing.T) {
	c := readTable(t)
	for _, r := range c.Records {
		if got, ok := ParseRecord([]byte(r.Record + "\n")); !ok || got.Kind == "" {
			t.Errorf("ParseRecord(%q) = %+v, %v, want a record", r.Record+"\n", got, ok)
		}
	}
	for _, s := range c.NotRecords {
		if got, ok := ParseRecord([]byte(s)); ok {
			t.Errorf("ParseRecord(%q) = %+v, want none", s, got)
		}
	}
}

func TestContractArgv(t *testing.T) {
	a := readTable(t).Argv
	if ArgvPath != a.Path {
		t.Errorf("ArgvPath = %q, want %q", ArgvPath, a.Path)
	}
	for _, tc := range a.Cases {
		if got, err := ArgvFile(tc.Argv); err != nil || string(got) != tc.File {
			t.Errorf("ArgvFile(%q) = %q, %v, want %q", tc.Argv, got, err, tc.File)
		}
	}
}

func TestContractPlaces(t *testing.T) {
	c := readTable(t)
	if ModulesDir != c.Modules.Dir || !slices.Equal(ModuleSuffixes, c.Modules.Suffixes) {
		t.Errorf("ModulesDir, ModuleSuffixes = %q, %q, want %q, %q", ModulesDir, ModuleSuffixes, c.Modules.Dir, c.Modules.Suffixes)
	}
	for _, f := range c.Modules.Files {
		if got := ModuleFile(f.Index, f.Count, f.Module); got != f.File {
			t.Errorf("ModuleFile(%d, %d, %q) = %q, want %q", f.Index, f.Count, f.Module, got, f.File)
		}
	}
	if SharesDir != c.SharesDir || RootTag != c.RootTag {
		t.Errorf("SharesDir, RootTag = %q, %q, want %q, %q", SharesDir, RootTag, c.SharesDir, c.RootTag)
	}
}

func TestContractWords(t *testing.T) {
	var want []string
	for w := range readTable(t).Words {
		want = append(want, w)
	}
	sort.Strings(want)
	got := slices.Clone(Words)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("Words = %q, want %q (testdata/contract.json)", got, want)
	}
}
