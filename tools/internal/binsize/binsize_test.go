package binsize

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
	s, err := Measure(exe)
	if err != nil {
		t.Fatalf("Measure(%s): %v", exe, err)
	}
	if s.Unpadded == 0 || s.Unpadded >= uint64(s.File) {
		t.Errorf("Measure(%s) = file %d, unpadded %d; want 0 < unpadded < file", exe, s.File, s.Unpadded)
	}
	if s.Align < 4096 {
		t.Errorf("Measure(%s) align = %d, want at least 4096", exe, s.Align)
	}
	if _, err := Measure("/nonexistent"); err == nil {
		t.Error("Measure(/nonexistent) gave no error")
	}
	if _, err := Measure("binsize.go"); err == nil {
		t.Error("Measure(binsize.go), not an ELF file, gave no error")
	}
}

func TestJudge(t *testing.T) {
	floor := Sizes{File: 1000000, Unpadded: 900000, Align: 4096}
	tests := []struct {
		name   string
		binary Sizes
		judged string
		within bool
		room   int64
	}{
		{"4 KiB pages, within", Sizes{File: 1020000, Unpadded: 1000000, Align: 4096}, "file", true, 10000},
		{"4 KiB pages, at the budget", Sizes{File: 1030000, Unpadded: 900000, Align: 4096}, "file", true, 0},
		{"4 KiB pages, over", Sizes{File: 1040000, Unpadded: 900000, Align: 4096}, "file", false, -10000},
		// 64 KiB alignment: the file size is over, the unpadded size within.
		{"64 KiB pages, within", Sizes{File: 1100000, Unpadded: 920000, Align: 65536}, "unpadded", true, 7000},
		{"64 KiB pages, over", Sizes{File: 1000000, Unpadded: 930000, Align: 65536}, "unpadded", false, -3000},
	}
	for _, tt := range tests {
		r := Judge("x", tt.binary, Sizes{}, floor, 1.03)
		if r.Judged != tt.judged || r.Within != tt.within || r.Room != tt.room {
			t.Errorf("%s: Judge = judged %s, within %v, room %d; want %s, %v, %d", tt.name, r.Judged, r.Within, r.Room, tt.judged, tt.within, tt.room)
		}
	}
}
