package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"virtinit/tools/internal/cli"
)

// benchOption is one option of the command line: its name, the value it
// takes (none for a switch), what it does for --help, and how it sets
// options.
type benchOption struct {
	name, value, help string
	set               func(o *options, v string) error
}

// str sets a string field.
func str(field func(*options) *string) func(*options, string) error {
	return func(o *options, v string) error { *field(o) = v; return nil }
}

// atLeast sets an integer field of at least lo.
func atLeast(lo int, field func(*options) *int) func(*options, string) error {
	return func(o *options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo {
			return cli.Usagef("%q: want a whole number of at least %d", v, lo)
		}
		*field(o) = n
		return nil
	}
}

// benchOptions are bench's options, in the order --help lists them, as
// the other commands of tools/ spell theirs (tools/internal/cli).
var benchOptions = []benchOption{
	{"-n", "N", "boots per configuration and variant (default 5)", atLeast(1, func(o *options) *int { return &o.n })},
	{"--configs", "LIST", "configurations to boot: comma-separated parts of their names, or none (default all)", str(func(o *options) *string { return &o.configs })},
	{"--base", "REV", "a git revision whose /init is booted alternately with ours (default $BASE)", str(func(o *options) *string { return &o.base })},
	{"--base-init", "BINARY", "an amd64 /init booted alternately with ours, named by the Go release that built it (make build-oldgo's, say); instead of --base", str(func(o *options) *string { return &o.baseInit })},
	{"--init", "BINARY", "our /init (default out/amd64/initrd of the repository)", str(func(o *options) *string { return &o.init })},
	{"--init-arm64", "BINARY", "our arm64 /init, for the arm64 configurations (default: make build GOARCH=arm64, out/arm64/initrd)", str(func(o *options) *string { return &o.initArm })},
	{"--cache", "DIR", "the cache of kernels (default $VIRTINIT_CACHE, else .cache of the repository)", str(func(o *options) *string { return &o.cache })},
	{"--out", "DIR", "where the JSON and SVG files go (default out/bench of the repository)", str(func(o *options) *string { return &o.out })},
	{"--jobs", "N", "VMs booted at a time; guest time does not depend on it (default: the CPUs, at most 2)", atLeast(1, func(o *options) *int { return &o.jobs })},
	{"--wall", "N", "rounds of chrootvm ROOTFS /bin/true boots for the host's times, each tuned and --no-tune, cold and warm; 0: none (default 3)", atLeast(0, func(o *options) *int { return &o.wall })},
	{"--chrootvm", "BINARY", "the chrootvm binary (default: built from this source tree)", str(func(o *options) *string { return &o.chrootvm })},
	{"--chroot", "LIST", "chrootvm configurations booted with its defaults and with --no-tune: comma-separated parts of their names, or none (default all)", str(func(o *options) *string { return &o.chroot })},
	{"--append", "WORDS", "kernel parameters added to every boot's command line", str(func(o *options) *string { return &o.append })},
	{"--qemu", "ARGS", "qemu arguments added to every boot, separated by spaces", str(func(o *options) *string { return &o.qemu })},
	{"--virtiofsd", "PATH", "the virtiofsd that serves the shares, Rust or C (default: vm's choice: $VIRTIOFSD, else the first of /usr/libexec/virtiofsd, /usr/lib/qemu/virtiofsd, /usr/lib/virtiofsd, virtiofsd on PATH)", str(func(o *options) *string { return &o.fsd })},
	{"--phase-boots", "N", "rd.debug boots per configuration and variant; the breakdown is the median one's (default 1)", atLeast(1, func(*options) *int { return &phaseBoots })},
	{"-v", "", "print the console output of the phase boots", func(o *options, _ string) error { o.verbose = true; return nil }},
	{"--help", "", "this text (also -h)", func(o *options, _ string) error { o.help = true; return nil }},
}

// parseArgs reads the command line, over the defaults.
func parseArgs(args []string) (options, error) {
	o := options{n: 5, configs: "all", chroot: "all", base: os.Getenv("BASE"), cache: os.Getenv("VIRTINIT_CACHE"), jobs: min(runtime.NumCPU(), 2), wall: 3}
	table := map[string]cli.Option[*options]{}
	for _, b := range benchOptions {
		b := b
		values := 1
		if b.value == "" {
			values = 0
		}
		table[b.name] = cli.Option[*options]{Values: values, Set: func(o *options, v []string) error {
			if err := b.set(o, strings.Join(v, "")); err != nil {
				return cli.Usagef("%s %v", b.name, err)
			}
			return nil
		}}
	}
	table["-h"] = table["--help"]
	ops, err := cli.Parse(args, table, &o, true)
	if err == nil && len(ops) > 0 {
		err = cli.Usagef("no operands, got %q", ops)
	}
	return o, err
}

// usage is --help's text.
func usage() string {
	var b strings.Builder
	b.WriteString("Usage: bench [OPTIONS]\n\nBoots every configuration under qemu -icount and reports guest times, sizes and a phase breakdown.\nConfigurations: ")
	for i, c := range configurations {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.name)
	}
	b.WriteString("\n\nOptions:\n")
	for _, o := range benchOptions {
		fmt.Fprintf(&b, "  %-22s %s\n", strings.TrimSpace(o.name+" "+o.value), o.help)
	}
	return b.String()
}
