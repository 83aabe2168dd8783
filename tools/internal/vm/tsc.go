package vm

import (
	"os"
	"strconv"
	"strings"
	"time"

	"virtinit/tools/internal/hostfacts"
)

// tscWindow is how long hostTSCkHz counts TSC ticks. Over 20 ms, the
// microsecond a clock reading may take is an error of 5e-5.
const tscWindow = 20 * time.Millisecond

// icountTSCkHz is the rate of an x86 guest's TSC under -icount shift=0:
// one tick per virtual nanosecond. Measured: Debian's 6.12 calibrates it
// against the PIT as 999.993 MHz.
const icountTSCkHz = 1000000

// hostTSCkHz measures the rate of the host's time stamp counter in kHz,
// or returns 0 where it cannot: another architecture, or a TSC whose rate
// changes with the CPU's frequency. Under TCG, a guest's RDTSC reads the
// host's counter (qemu's cpu_get_ticks), so this is the guest's TSC rate.
func hostTSCkHz(window time.Duration) int64 {
	if !haveTSC {
		return 0
	}
	data, err := os.ReadFile(cpuinfoPath)
	if err != nil || !cpuFlag(data, "constant_tsc") {
		return 0
	}
	base := time.Now()
	ns0, t0 := tscSample(base)
	time.Sleep(window)
	ns1, t1 := tscSample(base)
	return tscRate(t1-t0, ns1-ns0)
}

// tscSample reads the TSC and the monotonic clock as close together as it
// can: of a few tries, the one whose reading took the least time.
func tscSample(base time.Time) (ns int64, tsc uint64) {
	best := int64(-1)
	for range 8 {
		a := time.Since(base)
		t := rdtsc()
		b := time.Since(base)
		if gap := int64(b - a); best < 0 || gap < best {
			best, ns, tsc = gap, int64(a+b)/2, t
		}
	}
	return ns, tsc
}

// tscRate turns ticks counted over ns nanoseconds into kHz, or 0 when the
// result is not a plausible TSC rate (100 MHz to 20 GHz).
func tscRate(ticks uint64, ns int64) int64 {
	if ns <= 0 || ticks > (1<<62)/1000000 {
		return 0
	}
	khz := int64(ticks) * 1e6 / ns
	if khz < 100e3 || khz > 20e6 {
		return 0
	}
	return khz
}

// bootIDPath holds a random ID the kernel makes at each boot (random(4)).
var bootIDPath = "/proc/sys/kernel/random/boot_id"

// knownTSCkHz is hostTSCkHz, measured once per boot of the host and kept
// as a host fact (hostfacts) for that boot's ID: the rate of a constant
// TSC does not change while the host runs, and measuring it holds qemu's
// start back by tscWindow.
func knownTSCkHz() int64 {
	id, err := os.ReadFile(bootIDPath)
	boot := strings.TrimSpace(string(id))
	if err != nil || boot == "" {
		return hostTSCkHz(tscWindow)
	}
	if v, ok := hostfacts.Load("tsc-khz", boot); ok {
		if khz, err := strconv.ParseInt(v, 10, 64); err == nil && khz >= 100e3 && khz <= 20e6 {
			return khz
		}
	}
	khz := hostTSCkHz(tscWindow)
	if khz > 0 {
		hostfacts.Store("tsc-khz", boot, strconv.FormatInt(khz, 10))
	}
	return khz
}
