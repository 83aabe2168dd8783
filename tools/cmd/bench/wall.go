package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"virtinit/tools/internal/testenv"
	"virtinit/tools/internal/vm"
)

// wallReport is the host wall time of `chrootvm ROOTFS /bin/true`, with
// chrootvm's defaults (tuned) and with --no-tune: what a person waits for.
// It depends on the host's load, unlike the guest times.
type wallReport struct {
	Command string   `json:"command,omitempty"`
	Seconds summary  `json:"seconds"`         // chrootvm's defaults
	Untuned summary  `json:"untuned_seconds"` // --no-tune
	Accel   string   `json:"accel"`           // what chrootvm's qemu ran on: tcg or kvm
	Load    []string `json:"load,omitempty"`  // the host's /proc/loadavg before and after
	// CPU and UntunedCPU are the host CPU time (user and system) of
	// chrootvm and everything it waited for (qemu, the virtiofsd): what
	// a boot costs the host whatever else runs, and near what its wall
	// time would be on an idle host, since a TCG guest with one vCPU
	// keeps one host thread busy.
	CPU        summary `json:"cpu_seconds"`
	UntunedCPU summary `json:"untuned_cpu_seconds"`
	// Phases are chrootvm's own times around qemu, per kind of run
	// (wallRuns: tuned or not, cold or warm).
	Phases  map[string]*hostPhases `json:"phases,omitempty"`
	Skipped string                 `json:"skipped,omitempty"` // why it was not measured
	Errors  []string               `json:"errors,omitempty"`
}

// wallRun is one kind of wall-time boot: with chrootvm's tuning or
// --no-tune, and cold (an empty cache directory: the initrd is built and
// stored) or warm (the directory the cold boot before it filled: the
// initrd comes from the cache).
type wallRun struct {
	name       string
	tune, cold bool
}

// wallRuns are done in this order, round by round: each warm boot uses
// the cache its cold boot filled.
var wallRuns = []wallRun{
	{"tuned, cold", true, true},
	{"tuned, warm", true, false},
	{"--no-tune, cold", false, true},
	{"--no-tune, warm", false, false},
}

// hostPhases are chrootvm's times around qemu ($VIRTINIT_TIMES).
type hostPhases struct {
	Prep     summary `json:"prep_ms"`     // the bench started chrootvm → qemu started
	PrepCPU  summary `json:"prep_cpu_ms"` // chrootvm's CPU time until then
	Guest    summary `json:"guest_s"`     // qemu's start to its end: qemu's own start, the boot, the program, the power-off
	Teardown summary `json:"teardown_ms"` // qemu ended → chrootvm exited, as the bench saw it
	Wall     summary `json:"wall_s"`
	CPU      summary `json:"cpu_s"` // chrootvm, qemu and the virtiofsd
}

// measureWall boots `chrootvm --kernel K --modules M --init I
// --virtiofsd V ROOTFS /bin/true` n times of each of wallRuns, one at a
// time so that the boots do not slow each other down.
func measureWall(ctx context.Context, chrootvm, dir string, k kernel, init, virtiofsd string, n int) wallReport {
	var r wallReport
	if _, err := os.Stat(chrootvm); err != nil {
		r.Skipped = fmt.Sprintf("%s not built (make tools)", chrootvm)
		return r
	}
	bb, err := testenv.FindBusybox("amd64")
	if err != nil {
		r.Skipped = err.Error()
		return r
	}
	root := filepath.Join(dir, "wall-root")
	if err := testenv.BusyboxRoot(root, bb, "true"); err != nil {
		r.Skipped = err.Error()
		return r
	}
	args := []string{"--kernel", k.image, "--modules", k.modules, "--init", init, "--virtiofsd", virtiofsd, root, "/bin/true"}
	r.Command = "chrootvm --kernel " + k.dir + "/vmlinuz --modules " + k.dir + "/modules --init INIT --virtiofsd " + virtiofsd + " ROOTFS /bin/true"
	r.Load = append(r.Load, loadAverage())
	r.Accel = "tcg"
	if vm.KVMUsable() {
		r.Accel = "kvm"
	}
	type samples struct{ prep, prepCPU, guest, teardown, wall, cpu []float64 }
	got := map[string]*samples{}
	var cache string
	for i := 0; i < n && ctx.Err() == nil; i++ {
		for _, w := range wallRuns {
			if ctx.Err() != nil {
				break
			}
			if w.cold {
				// A cache directory of its own: empty for the cold boot,
				// filled by it for the warm one after.
				cache, _ = os.MkdirTemp(dir, "xdg-cache-")
			}
			a := args
			if !w.tune {
				a = append([]string{"--no-tune"}, args...)
			}
			m, err := wallBoot(ctx, chrootvm, a, cache, filepath.Join(dir, "times.json"))
			if ctx.Err() != nil {
				break
			}
			if err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("%s, boot %d: %v", w.name, i+1, err))
				counter.step(fmt.Sprintf("chrootvm /bin/true %s: %v", w.name, err))
				continue
			}
			counter.step(fmt.Sprintf("chrootvm /bin/true %s: %.2f s, %.2f s of CPU; before qemu %.1f ms (%.1f ms of CPU), after %.1f ms", w.name, m.wall, m.cpu, m.prep, m.prepCPU, m.teardown))
			s := got[w.name]
			if s == nil {
				s = &samples{}
				got[w.name] = s
			}
			s.prep, s.prepCPU, s.guest = append(s.prep, m.prep), append(s.prepCPU, m.prepCPU), append(s.guest, m.guest)
			s.teardown, s.wall, s.cpu = append(s.teardown, m.teardown), append(s.wall, m.wall), append(s.cpu, m.cpu)
		}
	}
	r.Phases = map[string]*hostPhases{}
	for name, s := range got {
		r.Phases[name] = &hostPhases{
			Prep: summarize(s.prep), PrepCPU: summarize(s.prepCPU), Guest: summarize(s.guest),
			Teardown: summarize(s.teardown), Wall: summarize(s.wall), CPU: summarize(s.cpu),
		}
	}
	// The figures of issue 11: warm boots, the usual case.
	if p := r.Phases["tuned, warm"]; p != nil {
		r.Seconds, r.CPU = p.Wall, p.CPU
	}
	if p := r.Phases["--no-tune, warm"]; p != nil {
		r.Untuned, r.UntunedCPU = p.Wall, p.CPU
	}
	r.Load = append(r.Load, loadAverage())
	return r
}

// wallMeasure is what one wall-time boot measured.
type wallMeasure struct {
	prep, prepCPU, teardown float64 // ms
	guest, wall, cpu        float64 // s
}

// wallBoot runs chrootvm once with $XDG_CACHE_HOME at cache, and reads
// the moments it wrote to times ($VIRTINIT_TIMES).
func wallBoot(ctx context.Context, chrootvm string, args []string, cache, times string) (wallMeasure, error) {
	var m wallMeasure
	os.Remove(times)
	cmd := exec.CommandContext(ctx, chrootvm, args...)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "VIRTINIT_INITRD_CACHE=", "VIRTINIT_TIMES="+times)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	end := time.Now()
	if err != nil {
		return m, fmt.Errorf("%v: %s", err, lastLines(string(out), 5))
	}
	// The rusage of a waited-for child includes that of the children it
	// waited for itself (wait4(2)).
	m.wall = end.Sub(start).Seconds()
	m.cpu = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	b, err := os.ReadFile(times)
	if err != nil {
		return m, fmt.Errorf("chrootvm wrote no times: %w", err)
	}
	var t struct {
		QemuStart int64 `json:"qemu_start_ns"`
		QemuEnd   int64 `json:"qemu_end_ns"`
		PrepCPU   int64 `json:"prep_cpu_ns"`
	}
	if err := json.Unmarshal(b, &t); err != nil || t.QemuStart == 0 || t.QemuEnd == 0 {
		return m, fmt.Errorf("chrootvm's times %q: %v", b, err)
	}
	m.prep = float64(t.QemuStart-start.UnixNano()) / 1e6
	m.prepCPU = float64(t.PrepCPU) / 1e6
	m.guest = float64(t.QemuEnd-t.QemuStart) / 1e9
	m.teardown = float64(end.UnixNano()-t.QemuEnd) / 1e6
	return m, nil
}

// loadAverage is the host's load over the last 1, 5 and 15 minutes.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
