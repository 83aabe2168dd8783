package initrd

import (
	"strings"
	"testing"
)

// TestArgvArchive: an initrd built without Argv followed by ArgvArchive
// holds, archive by archive, what one built with Argv holds: the second
// archive starts on a four-byte boundary, as the kernel's unpacker needs,
// and holds /init.argv alone, with the same bytes and mode.
func TestArgvArchive(t *testing.T) {
	argv := []string{"/bin/prog", "", "--", "a\nb", strings.Repeat("y", 4099)}
	init := writeInit(t, "#!init")
	whole, _ := build(t, Options{Init: init, Argv: argv})
	base, _ := build(t, Options{Init: init})
	extra, err := ArgvArchive(argv)
	if err != nil {
		t.Fatal(err)
	}
	if len(base)%4 != 0 {
		t.Fatalf("the base archive is %d bytes long: the next one would not start on a four-byte boundary", len(base))
	}
	first, err := readNewc(base)
	if err != nil {
		t.Fatalf("base archive: %v", err)
	}
	second, err := readNewc(extra)
	if err != nil {
		t.Fatalf("ArgvArchive: %v", err)
	}
	if len(second) != 1 || second[0].Name != ArgvPath {
		t.Fatalf("ArgvArchive(%q) holds %v, want %s alone", argv, second, ArgvPath)
	}
	all, err := readNewc(whole)
	if err != nil {
		t.Fatal(err)
	}
	var want, got []string
	for _, e := range all {
		want = append(want, e.String()+" "+e.Data)
	}
	for _, e := range append(first, second...) {
		got = append(got, e.String()+" "+e.Data)
	}
	// Both lists are in name order but for init.argv, which sorts after
	// "init" and "dev..." and before "usr...": compare as sets.
	if !sameSet(got, want) {
		t.Errorf("base + ArgvArchive = %v, want %v", got, want)
	}
	if _, err := ArgvArchive(nil); err == nil {
		t.Errorf("ArgvArchive(nil) = nil error, want one")
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}
