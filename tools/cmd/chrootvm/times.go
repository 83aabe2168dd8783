package main

import (
	"encoding/json"
	"os"
	"time"

	"virtinit/tools/internal/vm"
)

// timesEnv names a file chrootvm writes the moments of its run to as it
// ends, for tools/cmd/bench: its own time before qemu starts and after
// qemu ends is what such a run adds to the guest's.
const timesEnv = "VIRTINIT_TIMES"

// runTimes are the moments of one run, in nanoseconds of the host's
// clock since the Unix epoch; 0 for one that did not happen.
type runTimes struct {
	Start     int64 `json:"start_ns"`      // chrootvm's main began
	QemuStart int64 `json:"qemu_start_ns"` // qemu's process started
	QemuEnd   int64 `json:"qemu_end_ns"`   // qemu's process ended
	End       int64 `json:"end_ns"`        // chrootvm's files removed, about to exit
	// PrepCPU is the host CPU time chrootvm (and the virtiofsd --help it
	// ran) had used when qemu started, in nanoseconds.
	PrepCPU int64 `json:"prep_cpu_ns"`
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// writeTimes writes the run's moments where $VIRTINIT_TIMES says, if it
// says. A failure is reported, and changes no exit status.
func (a *app) writeTimes(start time.Time, t vm.Times) {
	path := os.Getenv(timesEnv)
	if path == "" {
		return
	}
	b, _ := json.Marshal(runTimes{
		Start:     unixNano(start),
		QemuStart: unixNano(t.QemuStart),
		QemuEnd:   unixNano(t.QemuEnd),
		End:       time.Now().UnixNano(),
		PrepCPU:   int64(t.PrepCPU),
	})
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		a.errorf("$%s: %v", timesEnv, err)
	}
}
