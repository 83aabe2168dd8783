package vm

import (
	"os"
	"testing"
)

func TestTSCRate(t *testing.T) {
	tests := []struct {
		ticks uint64
		ns    int64
		want  int64
	}{
		{51922720, 20000000, 2596136}, // 2596.136 MHz over 20 ms
		{1000000, 1000000, 1000000},   // 1 GHz
		{1000, 1000000, 0},            // 1 MHz: no TSC runs so slowly
		{1 << 40, 1000000, 0},         // 1 PHz
		{5000000, 0, 0},               // no time passed
		{5000000, -5, 0},              // time went backwards
		{1 << 63, 20000000, 0},        // would overflow
	}
	for _, tt := range tests {
		if got := tscRate(tt.ticks, tt.ns); got != tt.want {
			t.Errorf("tscRate(%d, %d) = %d, want %d", tt.ticks, tt.ns, got, tt.want)
		}
	}
}

// TestHostTSC checks the measurement against the host's own: the guest
// kernel is told this rate, so it must be plausible where there is a TSC.
func TestHostTSC(t *testing.T) {
	data, err := os.ReadFile(cpuinfoPath)
	if !haveTSC || err != nil || !cpuFlag(data, "constant_tsc") {
		t.Skip("no constant TSC on this host")
	}
	a, b := hostTSCkHz(tscWindow), hostTSCkHz(tscWindow)
	if a == 0 || b == 0 {
		t.Fatalf("hostTSCkHz = %d, %d; want a rate", a, b)
	}
	// Two measurements agree to 0.1 %.
	if d := a - b; d*1000 > a || -d*1000 > a {
		t.Errorf("hostTSCkHz = %d, then %d: they differ by more than 0.1 %%", a, b)
	}
}
