package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// kernel is one kernel of the cache.
type kernel struct {
	dir     string // "6.1"
	image   string // .../vmlinuz
	modules string // .../modules
	release string // 6.1.0-NN-amd64
	pkg     string // Debian package and version, from fetch-deps' .package
}

// findKernel finds a kernel by its key (configuration.kernelKey): "6.1"
// in $CACHE/kernels/6.1, "arm64/6.1" in $CACHE/arm64/kernels/6.1.
func findKernel(cache, key string) (kernel, error) {
	base, dir := filepath.Join(cache, "kernels"), key
	if arch, d, ok := strings.Cut(key, "/"); ok {
		base, dir = filepath.Join(cache, arch, "kernels"), d
	}
	k := kernel{
		dir:     key,
		image:   filepath.Join(base, dir, "vmlinuz"),
		modules: filepath.Join(base, dir, "modules"),
	}
	for _, p := range []string{k.image, k.modules} {
		if _, err := os.Stat(p); err != nil {
			return k, fmt.Errorf("kernel %s: %w (tools/fetch-deps fetches it; --arch arm64 the arm64 one)", key, err)
		}
	}
	k.release = initrd.KernelRelease(k.modules)
	if b, err := os.ReadFile(filepath.Join(base, dir, ".package")); err == nil {
		var name, version string
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Package: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(l, "Version: "); ok {
				version = v
			}
		}
		k.pkg = strings.TrimSpace(name + " " + version)
	}
	return k, nil
}

// variant is the /init a boot runs: ours, the base revision's, or the
// stamp program as a null init (the floors).
type variant string

const (
	ours   variant = "ours"
	base   variant = "base"
	floor  variant = "floor"
	padded variant = "floor-padded" // the floor with a pad as large as our /init
	goRun  variant = "floor-go"     // an empty Go main, padded to our /init's size
)

// prepared is a configuration ready to boot: its kernel, its initrds and
// its shares on the host.
type prepared struct {
	configuration
	kernel  kernel
	initrds map[variant]string // path of the initrd of each variant
	sizes   map[variant]int64
	modules []string // what the initrd loads, in order
	shares  []vm.Share
}

// boot is one boot to do and, once done, what it measured.
type boot struct {
	cfg     *prepared
	variant variant
	debug   bool // rd.debug: the phase boot
	round   int

	done    bool    // the boot ran to its end (not cut short by an interrupt)
	program float64 // guest ms at the stamp program's first instructions
	entry   float64 // the Go floor: guest ms at its first instruction
	wall    time.Duration
	output  []byte
	err     error
}

// bootTimeout bounds one boot: under icount a boot takes 15-25 s of wall
// time here with two at a time; a hung guest must not stop the run.
var bootTimeout = 3 * time.Minute

func (b *boot) run(ctx context.Context) {
	c := b.cfg
	extra := ""
	if b.debug {
		// rd.debug turns on /init's timing lines without making the
		// kernel verbose, which would change the timings.
		extra = "rd.debug"
	}
	qemu, err := vm.FindQemu(c.qemuArch())
	if err != nil {
		b.err = err
		return
	}
	start := time.Now()
	res, err := vm.Run(ctx, vm.Config{
		Qemu:      qemu,
		Arch:      c.qemuArch(),
		Machine:   c.machine,
		Transport: c.transport,
		Kernel:    c.kernel.image,
		Initrd:    c.initrds[b.variant],
		Append:    c.cmdline(extra),
		Shares:    c.shares,
		Virtiofsd: c.virtiofsd,
		Memory:    c.memory,
		CPUs:      1,
		Icount:    true,
		Tune:      c.tune,
		NoReboot:  c.noReboot,
		ExtraArgs: c.extraArgs(),
		Timeout:   bootTimeout,
	})
	b.wall = time.Since(start)
	if res != nil {
		b.output = res.Output
	}
	switch {
	case err != nil:
		b.err = err
	case res.TimedOut:
		b.err = fmt.Errorf("timed out after %v", bootTimeout)
	}
	ns, perr := parseStamp(b.output)
	if perr != nil {
		if b.err == nil {
			b.err = perr
		}
		return
	}
	b.program = float64(ns) / 1e6
	if b.variant == goRun {
		ns, err := parseEntry(b.output)
		if err != nil {
			b.err = err
			return
		}
		b.entry = float64(ns) / 1e6
	}
}

func (b *boot) String() string {
	s := b.cfg.name + " " + string(b.variant)
	if b.debug {
		s += " (rd.debug)"
	}
	return s
}
