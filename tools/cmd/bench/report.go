package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"virtinit/tools/internal/vm"
)

// report is everything one run measured; it is written as JSON as is.
type report struct {
	Date           string           `json:"date"`
	Seconds        float64          `json:"run_seconds"`
	Interrupted    bool             `json:"interrupted,omitempty"` // the figures are those measured before an interrupt
	Revision       string           `json:"revision"`              // git describe of the working tree
	Base           string           `json:"base,omitempty"`        // BASE=, described
	N              int              `json:"n"`
	Host           host             `json:"host"`
	Kernels        []kernelInfo     `json:"kernels"`
	Virtiofsd      virtiofsdInfo    `json:"virtiofsd"`
	Size           sizeReport       `json:"size"`
	Configurations []configResult   `json:"configurations"`
	Chrootvm       []chrootvmResult `json:"chrootvm"`
	Wall           wallReport       `json:"wall"`
	Targets        []target         `json:"targets"`
}

type host struct {
	CPUs int    `json:"cpus"`
	Qemu string `json:"qemu"`
	Go   string `json:"go"`
}

// virtiofsdInfo is the virtiofsd that served every boot's shares.
type virtiofsdInfo struct {
	Path     string `json:"path"`
	Version  string `json:"version"`  // the first line of its --version
	Dialect  string `json:"dialect"`  // "rust" or "c"
	ReadOnly bool   `json:"readonly"` // read-only shares served with --readonly
	Sandbox  string `json:"sandbox"`
}

func (v virtiofsdInfo) String() string {
	ro := "no read-only option"
	if v.ReadOnly {
		ro = "--readonly on read-only shares"
	}
	return fmt.Sprintf("%s (%s; %s dialect, %s, sandbox %s)", v.Path, v.Version, v.Dialect, ro, v.Sandbox)
}

// describeVirtiofsd tells which virtiofsd v is, its version included.
func describeVirtiofsd(v vm.Virtiofsd) virtiofsdInfo {
	info := virtiofsdInfo{Path: v.Path, Dialect: "c", ReadOnly: v.ReadOnly, Sandbox: v.Sandbox, Version: "version unknown"}
	if v.Rust {
		info.Dialect = "rust"
	}
	if out, err := exec.Command(v.Path, "--version").Output(); err == nil {
		if line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); line != "" {
			info.Version = line
		}
	}
	return info
}

type kernelInfo struct {
	Dir     string `json:"dir"`
	Release string `json:"release"`
	Package string `json:"package,omitempty"`
}

// configResult is what one configuration measured. Times are guest
// milliseconds (CLOCK_BOOTTIME under -icount shift=0,sleep=off).
type configResult struct {
	Name        string              `json:"name"`
	About       string              `json:"about"`
	Kernel      string              `json:"kernel"`
	Machine     string              `json:"machine"`
	Memory      string              `json:"memory"`
	Shares      []string            `json:"shares"`
	Cmdline     string              `json:"cmdline"`
	Modules     []string            `json:"modules"`
	InitrdBytes map[variant]int64   `json:"initrd_bytes"`
	Program     map[variant]summary `json:"program_ms"` // the stamp program's start, per variant
	// OverFloor is ours - floor (medians): what a user waits for more
	// than with a null init, the unpacking of our larger /init included.
	OverFloor float64 `json:"over_floor_ms"`
	// Unpack is padded floor - floor: the kernel unpacking our /init's
	// bytes before it can exec /init.
	Unpack float64 `json:"unpack_ms"`
	// ExecToExec is ours - padded floor: /init's exec to the final
	// program's.
	ExecToExec float64 `json:"exec_to_exec_ms"`
	// ExecToExecMin is the same from the minima: waits on a virtiofsd
	// only ever add time, so the minimum is the boot nothing disturbed.
	ExecToExecMin float64 `json:"exec_to_exec_min_ms"`
	// InCalls is the time inside finit_module and mount calls (phase boot).
	InCalls float64 `json:"in_calls_ms"`
	// Own is ExecToExec - InCalls: our own work, the Go runtime's start
	// included.
	Own float64 `json:"own_ms"`
	// GoRuntime is the Go floor's main minus its first instruction
	// (median): the start of the Go runtime up to an empty main, a part
	// of Own that no Go /init avoids.
	GoRuntime float64 `json:"go_runtime_ms"`
	// GoRuntimeBoots are those figures, boot by boot.
	GoRuntimeBoots summary             `json:"go_runtime_boots_ms"`
	Base           *baseResult         `json:"base,omitempty"`
	Phases         map[variant]*phases `json:"phases"`
	Reference      float64             `json:"c_reference_ms,omitempty"` // the C init's exec to exec (issue 5)
	Errors         []string            `json:"errors,omitempty"`
}

// baseResult is the base revision's figures in one configuration.
type baseResult struct {
	OverFloor  float64 `json:"over_floor_ms"`
	ExecToExec float64 `json:"exec_to_exec_ms"`
	InCalls    float64 `json:"in_calls_ms"`
	Own        float64 `json:"own_ms"`
	// Delta is ours - base, program medians: negative is faster.
	Delta float64 `json:"delta_ms"`
}

// cReference are the figures of a hand-written static C init doing the
// same steps (issue 5): guest ms from /init's exec to the final
// program's, over a null init, median of 3.
var cReference = map[string]float64{
	"q35-6.1-signed":   134.8,
	"q35-6.1-stripped": 30.8,
	"q35-6.12":         7,
}

func hostInfo() host {
	h := host{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if out, err := exec.Command("qemu-system-x86_64", "--version").Output(); err == nil {
		h.Qemu = strings.SplitN(string(out), "\n", 2)[0]
	}
	return h
}

// collectResult gathers the figures of one configuration from its boots.
func collectResult(p *prepared, boots []*boot, verbose bool) configResult {
	r := configResult{
		Name: p.name, About: p.about, Kernel: p.kernel.release, Machine: p.machine, Memory: p.memory,
		Cmdline: p.cmdline(""), Modules: p.modules, InitrdBytes: p.sizes,
		Program: map[variant]summary{}, Phases: map[variant]*phases{},
		Reference: cReference[p.name],
	}
	for _, s := range p.configuration.shares {
		mode := "rw"
		if s.readOnly {
			mode = "ro"
		}
		r.Shares = append(r.Shares, s.tag+" ("+mode+")")
	}
	values := map[variant][]float64{}
	var runtimes []float64
	debugs := map[variant][]*boot{}
	for _, b := range boots {
		if b.cfg != p || !b.done {
			continue
		}
		if b.err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v\n%s", b, b.err, lastLines(string(b.output), 15)))
			continue
		}
		if b.debug {
			debugs[b.variant] = append(debugs[b.variant], b)
			continue
		}
		values[b.variant] = append(values[b.variant], b.program)
		if b.variant == goRun {
			runtimes = append(runtimes, b.program-b.entry)
		}
	}
	r.GoRuntimeBoots = summarize(runtimes)
	for v, vs := range values {
		r.Program[v] = summarize(vs)
	}
	fl, pd := r.Program[floor], r.Program[padded]
	if len(values) == 0 && len(debugs) == 0 {
		return r // an interrupted run that never booted this one
	}
	if !fl.ok() || !pd.ok() {
		r.Errors = append(r.Errors, "no floor figures: nothing to compare with")
		return r
	}
	for v, bs := range debugs {
		// With several phase boots, the breakdown is that of the median one.
		sort.Slice(bs, func(i, j int) bool { return bs[i].program < bs[j].program })
		b := bs[len(bs)/2]
		steps, err := parseSteps(b.output)
		if err != nil {
			r.Errors = append(r.Errors, fmt.Sprintf("%s: %v", b, err))
			continue
		}
		ph := breakdown(steps, fl.Median, pd.Median, b.program)
		r.Phases[v] = &ph
		if verbose {
			progress(b.String() + " console:\n" + string(b.output))
		}
	}
	r.GoRuntime = r.GoRuntimeBoots.Median
	if o := r.Program[ours]; o.ok() {
		r.OverFloor = o.Median - fl.Median
		r.Unpack = pd.Median - fl.Median
		r.ExecToExec = o.Median - pd.Median
		r.ExecToExecMin = o.Min - pd.Min
		if ph := r.Phases[ours]; ph != nil {
			r.InCalls = ph.Kernel
			r.Own = r.ExecToExec - ph.Kernel
		}
	}
	if b := r.Program[base]; b.ok() {
		br := &baseResult{OverFloor: b.Median - fl.Median, ExecToExec: b.Median - pd.Median}
		if ph := r.Phases[base]; ph != nil {
			br.InCalls = ph.Kernel
			br.Own = br.ExecToExec - ph.Kernel
		}
		if o := r.Program[ours]; o.ok() {
			br.Delta = o.Median - b.Median
		}
		r.Base = br
	}
	return r
}

func countFailed(r *report) int {
	n := 0
	for _, c := range r.Configurations {
		if len(c.Errors) > 0 {
			n++
		}
	}
	return n
}

// tunedNullInit is issue 20's reference when the run does not boot
// microvm-6.12-tuned: the null init on microvm 6.12 with chrootvm's
// tuning, guest ms (README.md, issue 20: 499.8 since init_on_alloc=0
// joined the tuning; 513.0 before).
const tunedNullInit = 499.8

// wallBefore is issue 11's reference: the median wall time of
// `chrootvm ROOTFS /bin/true` in README.md before the tuning, seconds.
const wallBefore = 3.1

// target is one of issue 5's or 11's targets and whether this run met it.
type target struct {
	What     string  `json:"what"`
	Limit    float64 `json:"limit"`
	Measured float64 `json:"measured"`
	Met      bool    `json:"met"`
	Note     string  `json:"note,omitempty"`
}

// checkTargets compares the figures with issue 5's targets: our own work
// at most 5 ms on either kernel; every configuration with a C figure
// within 3 ms of it; at most 10 ms on 6.12; the binary at most 1.03 times
// the x/sys/unix floor.
func checkTargets(r *report) []target {
	var ts []target
	for _, c := range r.Configurations {
		if !c.Program[ours].ok() || c.Phases[ours] == nil {
			continue
		}
		if c.Reference > 0 || c.Name == "q35-6.12" {
			ts = append(ts, target{
				What:  c.Name + ": own work (exec→exec minus finit_module/mount calls)",
				Limit: 5, Measured: c.Own, Met: c.Own <= 5,
				Note: fmt.Sprintf("of which %.1f ms the Go runtime's start up to an empty main; %.1f ms more counting the unpacking of /init", c.GoRuntime, c.Unpack),
			})
		}
		if c.Reference > 0 {
			ts = append(ts, target{
				What:  c.Name + ": exec→exec within 3 ms of the C init",
				Limit: c.Reference + 3, Measured: c.ExecToExec, Met: c.ExecToExec <= c.Reference+3,
				Note: fmt.Sprintf("C %.1f ms; from the minima %.1f ms (%s); over the null init, unpacking included: %.1f ms (%s)",
					c.Reference, c.ExecToExecMin, metWord(c.ExecToExecMin <= c.Reference+3), c.OverFloor, metWord(c.OverFloor <= c.Reference+3)),
			})
		}
		if c.Name == "q35-6.12" {
			ts = append(ts, target{
				What:  c.Name + ": exec→exec at most 10 ms",
				Limit: 10, Measured: c.ExecToExec, Met: c.ExecToExec <= 10,
				Note: fmt.Sprintf("from the minima %.1f ms (%s); over the null init, unpacking included: %.1f ms (%s)",
					c.ExecToExecMin, metWord(c.ExecToExecMin <= 10), c.OverFloor, metWord(c.OverFloor <= 10)),
			})
		}
	}
	// Issue 20: chrootvm's default boot against the tuned null init.
	nullTuned, from := tunedNullInit, "README.md's figure (microvm-6.12-tuned not booted in this run)"
	for _, c := range r.Configurations {
		if c.Name == "microvm-6.12-tuned" && c.Program[floor].ok() {
			nullTuned, from = c.Program[floor].Median, "microvm-6.12-tuned's null init in this run"
		}
	}
	for _, c := range r.Chrootvm {
		if c.Name == "microvm-6.12" && c.Tuned.ok() {
			ts = append(ts, target{What: "chrootvm microvm-6.12: boot to program at most 1.05 × the tuned null init", Limit: 1.05 * nullTuned, Measured: c.Tuned.Median,
				Met: c.Tuned.Median <= 1.05*nullTuned, Note: fmt.Sprintf("null init %.1f ms (%s); over it: %.1f ms", nullTuned, from, c.Tuned.Median-nullTuned)})
		}
	}
	if p := r.Wall.Phases["tuned, warm"]; p != nil && p.Prep.ok() {
		ts = append(ts, target{What: "chrootvm's own time before qemu starts, warm, at most 30 ms", Limit: 30, Measured: p.Prep.Median, Met: p.Prep.Median <= 30,
			Note: fmt.Sprintf("of it CPU %.1f ms; wall time on a loaded host (load %s)", p.PrepCPU.Median, strings.Join(r.Wall.Load, "; "))})
		ts = append(ts, target{What: "chrootvm's own time after qemu ends at most 20 ms", Limit: 20, Measured: p.Teardown.Median, Met: p.Teardown.Median <= 20})
	}
	if p := r.Wall.Phases["tuned, cold"]; p != nil && p.Prep.ok() {
		ts = append(ts, target{What: "chrootvm's own time before qemu starts, cold, at most 100 ms", Limit: 100, Measured: p.Prep.Median, Met: p.Prep.Median <= 100,
			Note: fmt.Sprintf("of it CPU %.1f ms", p.PrepCPU.Median)})
	}
	// Issue 11: chrootvm's own boots, tuned against --no-tune.
	for _, c := range r.Chrootvm {
		if !c.Tuned.ok() || !c.Untuned.ok() {
			continue
		}
		note := fmt.Sprintf("tuned %.1f ms, --no-tune %.1f ms", c.Tuned.Median, c.Untuned.Median)
		switch c.Name {
		case "microvm-6.12":
			ts = append(ts, target{What: "chrootvm microvm-6.12: boot to program at most 450 ms", Limit: 450, Measured: c.Tuned.Median, Met: c.Tuned.Median <= 450, Note: note})
			ts = append(ts, target{What: "chrootvm microvm-6.12: at most half of --no-tune", Limit: 0.5, Measured: c.Ratio, Met: c.Ratio <= 0.5, Note: note})
		case "q35-6.12", "q35-6.1":
			ts = append(ts, target{What: "chrootvm " + c.Name + ": at most 0.6 of --no-tune", Limit: 0.6, Measured: c.Ratio, Met: c.Ratio <= 0.6, Note: note})
		}
	}
	if w := r.Wall; w.Seconds.ok() {
		t := target{What: "chrootvm ROOTFS /bin/true wall time at most 0.6 of 3.1 s (before the tuning)", Limit: 0.6 * wallBefore, Measured: w.Seconds.Median, Met: w.Seconds.Median <= 0.6*wallBefore}
		if w.Untuned.ok() {
			t.Note = fmt.Sprintf("--no-tune in this run: %.2f s, tuned/untuned %.2f (the host's load moves both)", w.Untuned.Median, w.Seconds.Median/w.Untuned.Median)
		}
		if w.CPU.ok() && w.UntunedCPU.ok() {
			t.Note += fmt.Sprintf("; host CPU time %.2f s tuned, %.2f s --no-tune (%.2f)", w.CPU.Median, w.UntunedCPU.Median, w.CPU.Median/w.UntunedCPU.Median)
		}
		ts = append(ts, t)
	}
	if c := r.Size.Check; c != nil {
		ts = append(ts, target{What: "bytes the binary adds to the x/sys/unix floor (make size, " + c.GoVersion + ")", Limit: float64(c.Budget), Measured: float64(c.Added), Met: c.Within})
	}
	return ts
}

func metWord(ok bool) string {
	if ok {
		return "met"
	}
	return "missed"
}

func writeJSON(path string, r *report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// ms formats a summary as "median (min–max)".
func ms(s summary) string {
	if !s.ok() {
		return "-"
	}
	return fmt.Sprintf("%.1f (%.1f–%.1f)", s.Median, s.Min, s.Max)
}

// printReport writes the readable report.
func printReport(out io.Writer, r *report) {
	fmt.Fprintf(out, "\nvirtinit bench, %s, revision %s", r.Date, r.Revision)
	if r.Base != "" {
		fmt.Fprintf(out, " against base %s", r.Base)
	}
	fmt.Fprintf(out, ", %d boots each (%.0f s)\n", r.N, r.Seconds)
	if r.Interrupted {
		fmt.Fprintln(out, "INTERRUPTED: the figures below are those of the boots done before the interrupt")
	}
	fmt.Fprintf(out, "%s, TCG with -icount shift=0,sleep=off, 1 vCPU; guest ms (CLOCK_BOOTTIME), median (min–max)\n", r.Host.Qemu)
	for _, k := range r.Kernels {
		fmt.Fprintf(out, "kernel %s: %s (%s)\n", k.Dir, k.Release, k.Package)
	}
	fmt.Fprintf(out, "virtiofsd %s\n", r.Virtiofsd)

	fmt.Fprintln(out, "\nWhen the final program starts")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	head := "configuration\tnull init\tnull init + pad\tempty Go main + pad\tours"
	if r.Base != "" {
		head += "\tbase"
	}
	fmt.Fprintln(tw, head)
	for _, c := range r.Configurations {
		line := c.Name + "\t" + ms(c.Program[floor]) + "\t" + ms(c.Program[padded]) + "\t" + ms(c.Program[goRun]) + "\t" + ms(c.Program[ours])
		if r.Base != "" {
			line += "\t" + ms(c.Program[base])
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()

	fmt.Fprintln(out, "\nOur cost (medians, ms): over null init = unpack /init + exec→exec; exec→exec = in calls (finit_module, mount) + own work;")
	fmt.Fprintln(out, "own work includes the Go runtime's start: from an empty Go main's first instruction to its main")
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head = "configuration\tover null init\tunpack /init\texec→exec\tin calls\town work\tGo runtime\tC init\t"
	if r.Base != "" {
		head += "base exec→exec\tours − base\t"
	}
	fmt.Fprintln(tw, head)
	for _, c := range r.Configurations {
		ref := "-"
		if c.Reference > 0 {
			ref = fmt.Sprintf("%.1f", c.Reference)
		}
		line := fmt.Sprintf("%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%s\t", c.Name, c.OverFloor, c.Unpack, c.ExecToExec, c.InCalls, c.Own, c.GoRuntime, ref)
		if r.Base != "" {
			if c.Base != nil {
				line += fmt.Sprintf("%.1f\t%+.1f\t", c.Base.ExecToExec, c.Base.Delta)
			} else {
				line += "-\t-\t"
			}
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()

	fmt.Fprintln(out, "\nPhase breakdown (one rd.debug boot each; ms, of which inside the step's system calls)")
	for _, c := range r.Configurations {
		for _, v := range []variant{ours, base} {
			ph := c.Phases[v]
			if ph == nil {
				continue
			}
			fmt.Fprintf(out, "%s (%s): null init at %.1f, /init exec at %.1f, program at %.1f in this boot\n", c.Name, v, ph.Floor, ph.Exec, ph.Program)
			tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			for _, s := range ph.Segments {
				k := ""
				if s.Kernel > 0 {
					k = fmt.Sprintf("%.3f in calls", s.Kernel)
				}
				if s.Waited > 0 {
					k += fmt.Sprintf("  OUTLIER: %.3f waited on the host, not /init's work", s.Waited)
				}
				fmt.Fprintf(tw, "  %s\t%8.3f\t%s\n", s.Name, s.To-s.From, k)
			}
			tw.Flush()
			fmt.Fprintf(out, "  = unpack %.1f + in calls %.1f + own %.1f", ph.Unpack, ph.Kernel, ph.Own)
			if ph.Waited > 0 {
				fmt.Fprintf(out, " + waited %.1f (outliers)", ph.Waited)
			}
			fmt.Fprintln(out)
		}
	}

	fmt.Fprintln(out, "\nSizes")
	if r.Size.Output != "" {
		for _, l := range strings.Split(r.Size.Output, "\n") {
			fmt.Fprintln(out, "  "+l)
		}
	}
	if r.Size.Error != "" {
		fmt.Fprintf(out, "  make size: %s\n", r.Size.Error)
	}
	fmt.Fprintf(out, "  /init measured: %d bytes; stamp program: %d bytes; Go floor: %d bytes", r.Size.Init, r.Size.Stamp, r.Size.GoStamp)
	if r.Size.BaseInit > 0 {
		fmt.Fprintf(out, "; base /init: %d bytes (%+d)", r.Size.BaseInit, r.Size.Init-r.Size.BaseInit)
	}
	fmt.Fprintln(out)
	if r.Size.InitArm64 > 0 {
		fmt.Fprintf(out, "  arm64: /init measured: %d bytes; stamp program: %d bytes; Go floor: %d bytes\n", r.Size.InitArm64, r.Size.StampArm64, r.Size.GoStampArm64)
	}
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  initrd\tbytes\tmodules")
	seen := map[string]bool{}
	for _, c := range r.Configurations {
		key := fmt.Sprint(c.Kernel, c.Modules, c.InitrdBytes[ours])
		if seen[key] {
			continue
		}
		seen[key] = true
		mods := strings.Join(c.Modules, " ")
		if mods == "" {
			mods = "(none: built in)"
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", c.Name, c.InitrdBytes[ours], mods)
	}
	tw.Flush()

	if len(r.Chrootvm) > 0 {
		fmt.Fprintln(out, "\nchrootvm's own boots (chrootvm --icount ROOTFS /stamp): guest ms when the program starts, median (min–max)")
		tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "configuration\tdefaults (tuned)\t--no-tune\ttuned/untuned")
		for _, c := range r.Chrootvm {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\n", c.Name, ms(c.Tuned), ms(c.Untuned), c.Ratio)
		}
		tw.Flush()
		for _, c := range r.Chrootvm {
			for _, e := range c.Errors {
				fmt.Fprintf(out, "  %s failed: %s\n", c.Name, e)
			}
		}
	}

	fmt.Fprintln(out, "\nHost wall time (depends on the host's load; warm boots, the initrd from the cache)")
	switch {
	case r.Wall.Skipped != "":
		fmt.Fprintf(out, "  chrootvm ROOTFS /bin/true: not measured: %s\n", r.Wall.Skipped)
	case r.Wall.Seconds.ok() || r.Wall.Untuned.ok():
		s, u := r.Wall.Seconds, r.Wall.Untuned
		fmt.Fprintf(out, "  %s, %s, median (min–max):\n", r.Wall.Command, strings.ToUpper(r.Wall.Accel))
		fmt.Fprintf(out, "    chrootvm's defaults: %.2f s (%.2f–%.2f), %d boots\n", s.Median, s.Min, s.Max, s.N)
		fmt.Fprintf(out, "    --no-tune:           %.2f s (%.2f–%.2f), %d boots\n", u.Median, u.Min, u.Max, u.N)
		fmt.Fprintf(out, "    host load average (1, 5, 15 min) before and after: %s\n", strings.Join(r.Wall.Load, "; "))
		c, uc := r.Wall.CPU, r.Wall.UntunedCPU
		fmt.Fprintf(out, "  host CPU time of chrootvm, qemu and the virtiofsd (what a boot costs whatever the load):\n")
		fmt.Fprintf(out, "    chrootvm's defaults: %.2f s (%.2f–%.2f)\n", c.Median, c.Min, c.Max)
		fmt.Fprintf(out, "    --no-tune:           %.2f s (%.2f–%.2f)\n", uc.Median, uc.Min, uc.Max)
		printHostPhases(out, r.Wall)
	}
	for _, e := range r.Wall.Errors {
		fmt.Fprintf(out, "  failed: %s\n", e)
	}

	fmt.Fprintln(out, "\nTargets (issues 5, 11 and 20)")
	for _, t := range r.Targets {
		fmt.Fprintf(out, "  %-6s %s: %.3f (limit %.3f", strings.ToUpper(metWord(t.Met)), t.What, t.Measured, t.Limit)
		if !t.Met {
			fmt.Fprintf(out, ", over by %.3f", t.Measured-t.Limit)
		}
		fmt.Fprint(out, ")")
		if t.Note != "" {
			fmt.Fprintf(out, "; %s", t.Note)
		}
		fmt.Fprintln(out)
	}

	for _, c := range r.Configurations {
		for _, e := range c.Errors {
			fmt.Fprintf(out, "\n%s FAILED: %s\n", c.Name, e)
		}
	}
}

// printHostPhases writes chrootvm's own times around qemu, per kind of
// wall-time boot: before qemu starts (wall and CPU), qemu's run, after
// qemu ends.
func printHostPhases(out io.Writer, w wallReport) {
	if len(w.Phases) == 0 {
		return
	}
	fmt.Fprintln(out, "  chrootvm's own time around qemu (cold: an empty cache directory; warm: the initrd from the cache), median (min–max):")
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    boots	before qemu, ms	of it CPU, ms	qemu to its end, s	after qemu, ms	total, s")
	for _, run := range wallRuns {
		p := w.Phases[run.name]
		if p == nil {
			continue
		}
		fmt.Fprintf(tw, "    %s\t%s\t%s\t%s\t%s\t%s\n", run.name, ms(p.Prep), ms(p.PrepCPU), secs(p.Guest), ms(p.Teardown), secs(p.Wall))
	}
	tw.Flush()
}

// secs formats a summary of seconds as "median (min–max)".
func secs(s summary) string {
	if !s.ok() {
		return "-"
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", s.Median, s.Min, s.Max)
}
