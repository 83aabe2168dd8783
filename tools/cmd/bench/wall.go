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
)

// wallReport is the host wall time of `chrootvm ROOTFS /bin/true`, for
// information: it depends on the host's load, unlike the guest times.
type wallReport struct {
	Command string   `json:"command,omitempty"`
	Seconds summary  `json:"seconds"`
	Skipped string   `json:"skipped,omitempty"` // why it was not measured
	Errors  []string `json:"errors,omitempty"`
}

// measureWall boots `chrootvm --kernel K --modules M --init I
// --virtiofsd V ROOTFS /bin/true` n times, one at a time so that the boots do not slow each
// other down.
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
	var secs []float64
	for i := 0; i < n; i++ {
		start := time.Now()
		cmd := exec.CommandContext(ctx, chrootvm, args...)
		out, err := cmd.CombinedOutput()
		d := time.Since(start)
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("boot %d: %v: %s", i+1, err, lastLines(string(out), 5)))
			progress(fmt.Sprintf("chrootvm /bin/true: %v", err))
			continue
		}
		secs = append(secs, d.Seconds())
		progress(fmt.Sprintf("chrootvm /bin/true: %.2f s", d.Seconds()))
	}
	r.Seconds = summarize(secs)
	return r
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
