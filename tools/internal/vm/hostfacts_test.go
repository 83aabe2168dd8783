package vm

import (
	"os"
	"path/filepath"
	"testing"

	"virtinit/tools/internal/hostfacts"
)

// TestDialectFact: a virtiofsd's dialect is learnt from its --help once
// and then read from the host fact while the binary is unchanged: the
// second detection runs nothing (the binary cannot run any more), and a
// changed binary is asked again.
func TestDialectFact(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	bin := filepath.Join(t.TempDir(), "virtiofsd")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho '  --shared-dir <DIR>  --readonly'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	forget := func() {
		dialects.Lock()
		dialects.m = nil
		dialects.Unlock()
	}
	forget()
	defer forget()
	d, err := detectDialect(bin)
	if err != nil || !d.rust || !d.readOnly {
		t.Fatalf("detectDialect = %+v, %v; want the Rust dialect with --readonly", d, err)
	}
	forget()
	if err := os.Chmod(bin, 0o644); err != nil { // no longer runnable; size and time unchanged
		t.Fatal(err)
	}
	if d, err := detectDialect(bin); err != nil || !d.rust || !d.readOnly {
		t.Errorf("detectDialect from the host fact = %+v, %v; want the dialect learnt before", d, err)
	}
	forget()
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho '-o source=PATH'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(bin, 0o755)
	if d, err := detectDialect(bin); err != nil || d.rust {
		t.Errorf("detectDialect of a changed binary = %+v, %v; want the C dialect, asked again", d, err)
	}
	for _, d := range []dialect{{}, {rust: true}, {rust: true, readOnly: true}} {
		if got, err := decodeDialect(d.encode()); err != nil || got != d {
			t.Errorf("decodeDialect(%q) = %+v, %v; want %+v", d.encode(), got, err, d)
		}
	}
}

// TestKnownTSC: the TSC's rate kept for this boot of the host is used
// without measuring; one kept for another boot is not.
func TestKnownTSC(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	id := filepath.Join(t.TempDir(), "boot_id")
	os.WriteFile(id, []byte("boot-a\n"), 0o644)
	old := bootIDPath
	bootIDPath = id
	defer func() { bootIDPath = old }()
	hostfacts.Store("tsc-khz", "boot-a", "1234567")
	if got := knownTSCkHz(); got != 1234567 {
		t.Errorf("knownTSCkHz with a kept rate = %d, want 1234567", got)
	}
	os.WriteFile(id, []byte("boot-b\n"), 0o644)
	if got := knownTSCkHz(); got == 1234567 {
		t.Errorf("knownTSCkHz after the host rebooted = the rate kept for the boot before")
	}
}
