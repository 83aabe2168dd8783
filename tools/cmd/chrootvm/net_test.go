package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestHostnameRules holds --hostname to testdata/net-words.json of the
// repository, whose names /init's tests give it as hostname=: chrootvm
// takes no name /init would refuse.
func TestHostnameRules(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/net-words.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Hostnames []struct {
			Name  string
			Valid bool
		}
	}
	if err := json.Unmarshal(b, &table); err != nil || len(table.Hostnames) == 0 {
		t.Fatalf("testdata/net-words.json: %v", err)
	}
	for _, h := range table.Hostnames {
		if err := checkHostname(h.Name); (err == nil) != h.Valid {
			t.Errorf("checkHostname(%q) = %v, want valid %v", h.Name, err, h.Valid)
		}
	}
}

func TestNetWords(t *testing.T) {
	withName := t.TempDir()
	if err := os.MkdirAll(filepath.Join(withName, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(withName, "etc", "hostname"), []byte("  builder \nsecond line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A link with an absolute target is taken inside the root, as the
	// guest sees it.
	linked := t.TempDir()
	if err := os.MkdirAll(filepath.Join(linked, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(linked, "name"), []byte("linked\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/name", filepath.Join(linked, "etc", "hostname")); err != nil {
		t.Fatal(err)
	}
	bad := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bad, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "etc", "hostname"), []byte("two words\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const ip = "ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3"
	tests := []struct {
		o      options
		rootfs string
		want   []string
	}{
		{options{}, t.TempDir(), []string{"hostname=chrootvm"}},
		{options{}, withName, []string{"hostname=builder"}},
		{options{}, linked, []string{"hostname=linked"}},
		{options{}, bad, []string{"hostname=chrootvm"}}, // not a hostname: the default
		{options{hostname: "given"}, withName, []string{"hostname=given"}},
		{options{net: true}, withName, []string{"hostname=builder", ip}},
	}
	for _, tt := range tests {
		if got := netWords(&tt.o, tt.rootfs); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("netWords(%+v, %s) = %q, want %q", tt.o, tt.rootfs, got, tt.want)
		}
	}
}
