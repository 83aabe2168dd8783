package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// chrootvmConfig is a boot that the benchmark times by running chrootvm
// itself, with --icount: whatever chrootvm composes (machine, devices,
// initrd, kernel command line, tuning) is what is measured, from the same
// code, with the stamp program as PROGRAM. Each is booted with chrootvm's
// defaults and with --no-tune.
type chrootvmConfig struct {
	name    string
	kernel  string   // kernelKey: "6.12", "6.1", "arm64/6.1"
	goarch  string   // the /init and stamp program built for it
	options []string // chrootvm options besides the kernel, /init and --icount
}

// chrootvmConfigs are the machines and kernels of issue 11: chrootvm's own
// choice for 6.12 (microvm), q35 with either kernel, and arm64's virt.
var chrootvmConfigs = []chrootvmConfig{
	{name: "microvm-6.12", kernel: "6.12", goarch: "amd64"},
	{name: "q35-6.12", kernel: "6.12", goarch: "amd64", options: []string{"--machine", "q35"}},
	{name: "q35-6.1", kernel: "6.1", goarch: "amd64", options: []string{"--machine", "q35"}},
	{name: "arm64-virt-6.1", kernel: "arm64/6.1", goarch: "arm64"},
}

// chrootvmResult is what one chrootvm configuration measured: guest ms
// when the stamp program starts.
type chrootvmResult struct {
	Name    string   `json:"name"`
	Command string   `json:"command"`
	Tuned   summary  `json:"tuned_ms"`   // chrootvm's default
	Untuned summary  `json:"untuned_ms"` // --no-tune
	Ratio   float64  `json:"ratio"`      // tuned/untuned medians
	Errors  []string `json:"errors,omitempty"`
}

// chrootvmBoot runs chrootvm once and returns the guest ms at the stamp
// program's start, and the console it printed.
func chrootvmBoot(ctx context.Context, chrootvm string, args []string, cache string) (float64, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, chrootvm, args...)
	// The initrd cache of the workspace, not the user's.
	cmd.Env = append(os.Environ(), "VIRTINIT_INITRD_CACHE="+cache)
	out, err := cmd.CombinedOutput()
	ns, perr := parseStamp(out)
	if perr != nil {
		if err == nil {
			err = perr
		}
		return 0, out, err
	}
	return float64(ns) / 1e6, out, nil
}

// measureChrootvm boots every chrootvm configuration n times with its
// defaults and n times with --no-tune, alternately, one boot at a time.
func measureChrootvm(ctx context.Context, chrootvm, virtiofsd string, w *workspace, kernels map[string]kernel, inits map[string]string, configs []chrootvmConfig, n int, consoles string) []chrootvmResult {
	var results []chrootvmResult
	for _, c := range configs {
		r := chrootvmResult{Name: c.name}
		k, ok := kernels[c.kernel]
		if !ok {
			r.Errors = append(r.Errors, "kernel "+c.kernel+" not found")
			results = append(results, r)
			continue
		}
		args := append([]string{"--icount", "--timeout", bootTimeout.String(), "--kernel", k.image, "--modules", k.modules, "--init", inits[c.goarch], "--virtiofsd", virtiofsd}, c.options...)
		args = append(args, w.roots[c.goarch], stampPath)
		r.Command = "chrootvm --icount " + strings.Join(c.options, " ") + " --kernel " + k.dir + "/vmlinuz --modules " + k.dir + "/modules --init INIT --virtiofsd " + virtiofsd + " ROOTFS " + stampPath
		var tuned, untuned []float64
		for i := 0; i < n && ctx.Err() == nil; i++ {
			for _, tune := range []bool{true, false} {
				a, label := args, "default"
				if !tune {
					a, label = append([]string{"--no-tune"}, args...), "no-tune"
				}
				start := time.Now()
				ms, out, err := chrootvmBoot(ctx, chrootvm, a, filepath.Join(w.dir, "initrd-cache"))
				if ctx.Err() != nil {
					break
				}
				name := fmt.Sprintf("chrootvm-%s-%s-%d.log", c.name, label, i+1)
				os.WriteFile(filepath.Join(consoles, name), out, 0o644)
				if err != nil {
					r.Errors = append(r.Errors, fmt.Sprintf("%s boot %d: %v: %s", label, i+1, err, lastLines(string(out), 5)))
					counter.step(fmt.Sprintf("chrootvm %s %s: FAILED: %v", c.name, label, err))
					continue
				}
				counter.step(fmt.Sprintf("chrootvm %s %s: %.3f ms guest, %.1f s wall", c.name, label, ms, time.Since(start).Seconds()))
				if tune {
					tuned = append(tuned, ms)
				} else {
					untuned = append(untuned, ms)
				}
			}
		}
		r.Tuned, r.Untuned = summarize(tuned), summarize(untuned)
		if r.Tuned.ok() && r.Untuned.ok() {
			r.Ratio = r.Tuned.Median / r.Untuned.Median
		}
		results = append(results, r)
	}
	return results
}

// selectChrootvm returns the chrootvm configurations named by a
// comma-separated list of parts of their names; "all" is every one,
// "none" or "" none.
func selectChrootvm(patterns string) []chrootvmConfig {
	if patterns == "all" {
		return chrootvmConfigs
	}
	var out []chrootvmConfig
	for _, c := range chrootvmConfigs {
		for _, p := range strings.Split(patterns, ",") {
			if p != "" && p != "none" && strings.Contains(c.name, p) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
