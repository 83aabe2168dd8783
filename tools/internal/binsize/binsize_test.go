package binsize

import (
	"os"
	"runtime"
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
		limit  int64
		judged string
		within bool
		room   int64
	}{
		{"4 KiB pages, within", Sizes{File: 1020000, Unpadded: 1000000, Align: 4096}, 0, "file", true, 10000},
		{"4 KiB pages, at the budget", Sizes{File: 1030000, Unpadded: 900000, Align: 4096}, 0, "file", true, 0},
		{"4 KiB pages, over", Sizes{File: 1040000, Unpadded: 900000, Align: 4096}, 0, "file", false, -10000},
		// 64 KiB alignment: the file size is over, the unpadded size within.
		{"64 KiB pages, within", Sizes{File: 1100000, Unpadded: 920000, Align: 65536}, 0, "unpadded", true, 10000},
		{"64 KiB pages, over", Sizes{File: 1000000, Unpadded: 940000, Align: 65536}, 0, "unpadded", false, -10000},
		// The limit on the whole file binds before the budget, or not.
		{"within the budget, over the limit", Sizes{File: 1020000, Align: 4096}, 1015000, "file", false, -5000},
		{"within both, the limit closer", Sizes{File: 1020000, Align: 4096}, 1024000, "file", true, 4000},
		{"within both, the budget closer", Sizes{File: 1020000, Align: 4096}, 2000000, "file", true, 10000},
	}
	for _, tt := range tests {
		r := Judge("x", tt.binary, Sizes{}, floor, 30000, tt.limit)
		if r.Judged != tt.judged || r.Within != tt.within || r.Room != tt.room {
			t.Errorf("%s: Judge = judged %s, within %v, room %d; want %s, %v, %d", tt.name, r.Judged, r.Within, r.Room, tt.judged, tt.within, tt.room)
		}
	}
}

// TestGoVersion reads the toolchain from the test binary's build
// information.
func TestGoVersion(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := GoVersion(exe); err != nil || v != runtime.Version() {
		t.Errorf("GoVersion(%s) = %q, %v; want %q", exe, v, err, runtime.Version())
	}
	if _, err := GoVersion("binsize.go"); err == nil {
		t.Error("GoVersion(binsize.go), not a Go binary, gave no error")
	}
}
