package hostfacts

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStoreLoad: a fact comes back for its key only, and the directory
// is private.
func TestStoreLoad(t *testing.T) {
	dir = filepath.Join(t.TempDir(), "host")
	defer func() { dir = "" }()
	if _, ok := Load("tsc", "boot-1"); ok {
		t.Fatalf("Load before any Store found a fact")
	}
	Store("tsc", "boot-1", "2096000")
	if v, ok := Load("tsc", "boot-1"); !ok || v != "2096000" {
		t.Errorf("Load(tsc, boot-1) = %q, %v; want 2096000, true", v, ok)
	}
	if v, ok := Load("tsc", "boot-2"); ok {
		t.Errorf("Load for another key = %q, true; want nothing", v)
	}
	Store("tsc", "boot-2", "1000")
	if v, ok := Load("tsc", "boot-2"); !ok || v != "1000" {
		t.Errorf("after a second Store: %q, %v; want 1000, true", v, ok)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("directory: %v, %v; want mode 0700", fi.Mode().Perm(), err)
	}
	for _, bad := range [][3]string{{"a/b", "k", "v"}, {".x", "k", "v"}, {"n", "k\n", "v"}, {"n", "k", "v\nw"}, {"", "k", "v"}} {
		Store(bad[0], bad[1], bad[2])
		if _, ok := Load(bad[0], bad[1]); ok {
			t.Errorf("Store(%q, %q, %q) stored a fact", bad[0], bad[1], bad[2])
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("the directory holds %d files, want the one fact", len(ents))
	}
}
