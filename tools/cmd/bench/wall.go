package main

import (
	"context"
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
	CPU        summary  `json:"cpu_seconds"`
	UntunedCPU summary  `json:"untuned_cpu_seconds"`
	Skipped    string   `json:"skipped,omitempty"` // why it was not measured
	Errors     []string `json:"errors,omitempty"`
}

// measureWall boots `chrootvm --kernel K --modules M --init I
// --virtiofsd V ROOTFS /bin/true` n times with its defaults and n times
// with --no-tune, alternately, one at a time so that the boots do not
// slow each other down.
func measureWall(ctx context.Context, chrootvm, dir string, k kernel, init, virtiofsd string, n int, progress func(string)) wallReport {
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
	var secs, untuned, cpu, untunedCPU []float64
	for i := 0; i < n && ctx.Err() == nil; i++ {
		for _, tune := range []bool{true, false} {
			a, label := args, "default"
			if !tune {
				a, label = append([]string{"--no-tune"}, args...), "--no-tune"
			}
			start := time.Now()
			cmd := exec.CommandContext(ctx, chrootvm, a...)
			out, err := cmd.CombinedOutput()
			d := time.Since(start)
			if err != nil {
				r.Errors = append(r.Errors, fmt.Sprintf("%s boot %d: %v: %s", label, i+1, err, lastLines(string(out), 5)))
				progress(fmt.Sprintf("chrootvm %s /bin/true: %v", label, err))
				continue
			}
			progress(fmt.Sprintf("chrootvm %s /bin/true: %.2f s, %.2f s of CPU", label, d.Seconds(), (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()))
			// The rusage of a waited-for child includes that of the
			// children it waited for itself (wait4(2)).
			c := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
			if tune {
				secs, cpu = append(secs, d.Seconds()), append(cpu, c)
			} else {
				untuned, untunedCPU = append(untuned, d.Seconds()), append(untunedCPU, c)
			}
		}
	}
	r.Seconds, r.Untuned = summarize(secs), summarize(untuned)
	r.CPU, r.UntunedCPU = summarize(cpu), summarize(untunedCPU)
	r.Load = append(r.Load, loadAverage())
	return r
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
