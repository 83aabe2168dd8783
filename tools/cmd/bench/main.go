// Command bench measures how long virtinit's /init takes to boot a VM,
// in guest time under qemu's instruction counting, against a null init
// on the same kernel, machine and shares; and the sizes of the binary and
// the initrds. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/vm"
)

type options struct {
	n        int
	configs  string
	base     string
	baseInit string // --base-init
	init     string
	initArm  string
	cache    string
	out      string
	jobs     int
	wall     int
	chrootvm string
	verbose  bool
	append   string
	qemu     string
	fsd      string // --virtiofsd
	chroot   string
	help     bool
}

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		os.Exit(cli.ReportUsage(os.Stderr, "bench", err))
	}
	if o.help {
		fmt.Print(usage())
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	started := time.Now()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if o.cache == "" {
		o.cache = filepath.Join(root, ".cache")
	}
	if o.out == "" {
		o.out = filepath.Join(root, "out", "bench")
	}
	configs := selectConfigurations(configurations, o.configs)
	chroots := selectChrootvm(o.chroot)
	if len(configs) == 0 && len(chroots) == 0 && o.wall == 0 {
		return fmt.Errorf("--configs %q and --chroot %q select no configuration, and --wall 0 asks for no wall time", o.configs, o.chroot)
	}
	kernels := map[string]kernel{}
	arches := map[string]bool{}
	needKernel := func(key, goarch string) error {
		arches[goarch] = true
		if _, ok := kernels[key]; ok {
			return nil
		}
		k, err := findKernel(o.cache, key)
		if err != nil {
			return err
		}
		kernels[key] = k
		return nil
	}
	for _, c := range configs {
		c = c.withAppend(o.append)
		if err := c.checkCmdline(); err != nil {
			return err
		}
		if err := needKernel(c.kernelKey(), c.goarch()); err != nil {
			return err
		}
	}
	for _, c := range chroots {
		if err := needKernel(c.kernel, c.goarch); err != nil {
			return err
		}
	}

	w, err := newWorkspace()
	if w != nil {
		defer os.RemoveAll(w.dir)
	}
	if err != nil {
		return err
	}

	r := &report{Date: started.UTC().Format(time.RFC3339), N: o.n, Revision: describe(root), Host: hostInfo()}
	fsd, err := vm.FindVirtiofsd(o.fsd)
	if err != nil {
		return err
	}
	r.Virtiofsd = describeVirtiofsd(fsd)
	progress("virtiofsd " + r.Virtiofsd.String())
	// make size first: it rebuilds out/amd64/initrd, the binary measured
	// below unless --init names another.
	progress("make size")
	r.Size = makeSize(root, w.dir)
	if o.init == "" {
		o.init = filepath.Join(root, "out", "amd64", "initrd")
	}
	if err := checkInit(o.init, "amd64"); err != nil {
		return err
	}
	oursInit := filepath.Join(w.dir, "init-ours")
	if err := copyFile(o.init, oursInit); err != nil {
		return err
	}
	st, err := os.Stat(oursInit)
	if err != nil {
		return err
	}
	r.Size.Init = st.Size()
	if st, err := os.Stat(w.stamp); err == nil {
		r.Size.Stamp = st.Size()
	}
	progress("building the Go floor")
	goStamp := filepath.Join(w.dir, "gostamp")
	if err := buildGoStamp(w.dir, goStamp, "amd64"); err != nil {
		return err
	}
	if st, err := os.Stat(goStamp); err == nil {
		r.Size.GoStamp = st.Size()
	}
	inits := []initSpec{
		{variant: ours, init: oursInit},
		{variant: floor, init: w.stamp},
		{variant: padded, init: w.stamp, pad: int(r.Size.Init)},
		{variant: goRun, init: goStamp, pad: int(max(r.Size.Init-r.Size.GoStamp, 0))},
	}
	if o.base != "" || o.baseInit != "" {
		baseInit := filepath.Join(w.dir, "init-base")
		if r.Base, err = prepareBase(root, o, w.dir, baseInit); err != nil {
			return err
		}
		if st, err := os.Stat(baseInit); err == nil {
			r.Size.BaseInit = st.Size()
		}
		inits = append(inits, initSpec{variant: base, init: baseInit})
	}
	// The arm64 configurations get their own /init, stamp and Go floor,
	// padded to the arm64 /init's size.
	initsOf := map[string][]initSpec{"amd64": inits}
	if arches["arm64"] {
		if o.initArm == "" {
			progress("make build GOARCH=arm64")
			if o.initArm, err = buildArm64Init(root); err != nil {
				return err
			}
		}
		if err := checkInit(o.initArm, "arm64"); err != nil {
			return err
		}
		initArm := filepath.Join(w.dir, "init-ours-arm64")
		if err := copyFile(o.initArm, initArm); err != nil {
			return err
		}
		st, err := os.Stat(initArm)
		if err != nil {
			return err
		}
		r.Size.InitArm64 = st.Size()
		if st, err := os.Stat(w.stamps["arm64"]); err == nil {
			r.Size.StampArm64 = st.Size()
		}
		progress("building the arm64 Go floor")
		goStampArm := filepath.Join(w.dir, "gostamp-arm64")
		if err := buildGoStamp(w.dir, goStampArm, "arm64"); err != nil {
			return err
		}
		if st, err := os.Stat(goStampArm); err == nil {
			r.Size.GoStampArm64 = st.Size()
		}
		initsOf["arm64"] = []initSpec{
			{variant: ours, init: initArm},
			{variant: floor, init: w.stamps["arm64"]},
			{variant: padded, init: w.stamps["arm64"], pad: int(r.Size.InitArm64)},
			{variant: goRun, init: goStampArm, pad: int(max(r.Size.InitArm64-r.Size.GoStampArm64, 0))},
		}
	}
	for _, v := range []string{"6.1", "6.12", "arm64/6.1"} {
		if k, ok := kernels[v]; ok {
			r.Kernels = append(r.Kernels, kernelInfo{Dir: k.dir, Release: k.release, Package: k.pkg})
		}
	}

	var preps []*prepared
	for _, c := range configs {
		c = c.withAppend(o.append)
		c.qemuArgs = strings.Fields(o.qemu)
		c.virtiofsd = fsd
		progress("initrds for " + c.name)
		is := initsOf[c.goarch()]
		if c.goarch() != "amd64" && (o.base != "" || o.baseInit != "") {
			progress(c.name + ": BASE is built for amd64 only; its /init is not booted here")
		}
		p, err := w.prepare(c, kernels[c.kernelKey()], is)
		if err != nil {
			return err
		}
		preps = append(preps, p)
	}

	boots := schedule(preps, o.n, o.base != "" || o.baseInit != "")
	total := len(boots) + 2*o.n*len(chroots) + len(wallRuns)*o.wall
	counter.plan(total)
	progress("the run: " + estimate(total, o.jobs))
	runBoots(ctx, boots, o.jobs)
	for _, p := range preps {
		r.Configurations = append(r.Configurations, collectResult(p, boots, o.verbose))
	}
	if err := saveConsoles(filepath.Join(o.out, "console"), boots); err != nil {
		return err
	}

	if ctx.Err() == nil && o.chrootvm == "" && (len(chroots) > 0 || o.wall > 0) {
		progress("building chrootvm")
		o.chrootvm = filepath.Join(w.dir, "chrootvm")
		if err := buildChrootvm(root, o.chrootvm); err != nil {
			return err
		}
	}
	if ctx.Err() == nil && len(chroots) > 0 {
		inits := map[string]string{"amd64": oursInit}
		for _, is := range initsOf["arm64"] {
			if is.variant == ours {
				inits["arm64"] = is.init
			}
		}
		r.Chrootvm = measureChrootvm(ctx, o.chrootvm, fsd.Path, w, kernels, inits, chroots, o.n, filepath.Join(o.out, "console"))
	}
	if ctx.Err() == nil && o.wall > 0 {
		// chrootvm's own choice for this kernel: microvm.
		if k, err := findKernel(o.cache, "6.12"); err != nil {
			r.Wall = wallReport{Skipped: err.Error()}
		} else {
			r.Wall = measureWall(ctx, o.chrootvm, w.dir, k, oursInit, fsd.Path, o.wall)
		}
	}
	r.Targets = checkTargets(r)
	r.Seconds = time.Since(started).Seconds()
	// An interrupted run keeps and prints what it measured so far.
	r.Interrupted = ctx.Err() != nil

	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	jsonPath, svgPath := filepath.Join(o.out, "bench.json"), filepath.Join(o.out, "bench.svg")
	if err := writeJSON(jsonPath, r); err != nil {
		return err
	}
	if err := os.WriteFile(svgPath, []byte(timelineSVG(r)), 0o644); err != nil {
		return err
	}
	printReport(os.Stdout, r)
	fmt.Printf("\nfigures: %s\ntimeline: %s\n", jsonPath, svgPath)
	if r.Interrupted {
		return fmt.Errorf("interrupted after %d of %d boots: the figures above are those measured until then", counter.done, counter.total)
	}
	for _, c := range r.Configurations {
		if len(c.Errors) > 0 {
			return fmt.Errorf("%d configuration(s) had failed boots (see above)", countFailed(r))
		}
	}
	return nil
}

// schedule lists the boots in the order they run: round by round, each
// configuration's variants one after the other, so that ours, the base
// and the floors alternate; the phase boots (rd.debug) come first.
func schedule(preps []*prepared, n int, withBase bool) []*boot {
	variants := []variant{ours}
	if withBase {
		variants = append(variants, base)
	}
	var boots []*boot
	for i := 0; i < phaseBoots; i++ {
		for _, p := range preps {
			for _, v := range variants {
				if _, ok := p.initrds[v]; !ok {
					continue
				}
				boots = append(boots, &boot{cfg: p, variant: v, debug: true, round: i})
			}
		}
	}
	for i := 0; i < n; i++ {
		for _, p := range preps {
			for _, v := range append(variants, floor, padded, goRun) {
				if _, ok := p.initrds[v]; !ok {
					continue // no base /init for this architecture
				}
				boots = append(boots, &boot{cfg: p, variant: v, round: i})
			}
		}
	}
	return boots
}

// runBoots runs the boots, jobs at a time, in order. A boot cut short by
// ctx (an interrupted run) stays undone: it measured nothing.
func runBoots(ctx context.Context, boots []*boot, jobs int) {
	var wg sync.WaitGroup
	next := make(chan *boot)
	for i := 0; i < jobs; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				b.run(ctx)
				if ctx.Err() != nil {
					continue
				}
				b.done = true
				msg := fmt.Sprintf("%s: %.3f ms guest, %.1f s wall", b, b.program, b.wall.Seconds())
				if b.err != nil {
					msg = fmt.Sprintf("%s: FAILED: %v\n%s", b, b.err, lastLines(string(b.output), 15))
				}
				counter.step(msg)
			}
		}()
	}
	for _, b := range boots {
		select {
		case next <- b:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
}

// saveConsoles keeps the console output of every boot, one file each,
// for a look at a figure that stands out.
func saveConsoles(dir string, boots []*boot) error {
	os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, b := range boots {
		name := fmt.Sprintf("%s-%s-%d.log", b.cfg.name, b.variant, b.round+1)
		if b.debug {
			name = fmt.Sprintf("%s-%s-debug-%d.log", b.cfg.name, b.variant, b.round+1)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.output, 0o644); err != nil {
			return err
		}
	}
	return nil
}

var phaseBoots = 1
