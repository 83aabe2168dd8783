package main

import (
	"os"
	"testing"
)

// TestMeasure reads the test binary itself: its loadable segments hold
// less than the file (which adds headers, section tables and padding), and
// they are aligned to at least a 4 KiB page.
func TestMeasure(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	s, err := measure(exe)
	if err != nil {
		t.Fatalf("measure(%s): %v", exe, err)
	}
	if s.loaded == 0 || s.loaded >= uint64(s.file) {
		t.Errorf("measure(%s) = file %d, loaded %d; want 0 < loaded < file", exe, s.file, s.loaded)
	}
	if s.align < 4096 {
		t.Errorf("measure(%s) align = %d, want at least 4096", exe, s.align)
	}
	if _, err := measure("/nonexistent"); err == nil {
		t.Error("measure(/nonexistent) gave no error")
	}
	if _, err := measure("main.go"); err == nil {
		t.Error("measure(main.go), not an ELF file, gave no error")
	}
}
