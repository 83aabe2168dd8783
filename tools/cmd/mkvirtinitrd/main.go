// Command mkvirtinitrd builds the initrd that boots virtinit: the /init
// binary, /dev/console, and the kernel modules virtiofs needs on one kernel
// (virtiofs, the virtio transport and everything they depend on, minus
// what the kernel has built in), as a reproducible newc cpio archive.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/initrd"
)

const usage = `Usage: mkvirtinitrd [OPTIONS] INIT MODULES_DIR OUTPUT

Builds an initrd holding INIT (a static x86_64 or aarch64 ELF executable,
virtinit's /init) as /init, a /dev/console node, and the kernel
modules from MODULES_DIR (one kernel's tree, .../lib/modules/KVER) that
virtiofs needs: virtiofs, the virtio transport and all their dependencies,
plus every --module. Modules the kernel has built in (modules.builtin) are
left out; on a kernel with virtiofs and virtio built in the initrd holds no
module at all. Modules are written decompressed as
/usr/lib/modules/NNN-name.ko, numbered in load order. Pass "" as
MODULES_DIR for an initrd without modules.

The archive is reproducible: sorted entries owned by root, every mtime
SOURCE_DATE_EPOCH (or 0). OUTPUT is replaced atomically; on error it is
left as it was. An OUTPUT that is not a regular file (a device such as
/dev/stdout, a named pipe) is refused, never replaced.

Options:
  -m, --module NAME       also include module NAME and its dependencies
                          (repeatable)
  --overlay               also include the overlay filesystem's module (the
                          same as --module overlay), for /init's rd.overlay:
                          a writable root whose writes go to a tmpfs and
                          vanish with the VM
  --transport pci|mmio|both
                          virtio transport module(s): virtio_pci (default),
                          virtio_mmio, or both
  --compress none|gzip|zstd
                          compress the archive (default none); the kernel
                          needs CONFIG_RD_GZIP or CONFIG_RD_ZSTD
  --strip-signatures      remove the modules' appended signatures. Loading
                          is faster (each signature check costs tens of ms
                          under TCG), but an unsigned module taints the
                          kernel, and kernels that enforce signatures
                          (CONFIG_MODULE_SIG_FORCE, module.sig_enforce=1,
                          lockdown) refuse to load it
  -v, --verbose           list the modules written and skipped on stderr
  -h, --help              show this text
`

// config is what the command line asks for.
type config struct {
	opts    initrd.Options
	output  string
	verbose bool
	help    bool
}

// flags are mkvirtinitrd's options (cli.Parse reads them).
var flags = map[string]cli.Option[*config]{
	"--module":           {Values: 1, Set: addModule},
	"-m":                 {Values: 1, Set: addModule},
	"--overlay":          {Set: func(c *config, _ []string) error { return addModule(c, []string{initrd.OverlayModule}) }},
	"--transport":        {Values: 1, Set: setTransport},
	"--compress":         {Values: 1, Set: setCompress},
	"--strip-signatures": {Set: func(c *config, _ []string) error { c.opts.StripSignatures = true; return nil }},
	"-v":                 {Set: setVerbose},
	"--verbose":          {Set: setVerbose},
	"-h":                 {Set: setHelp},
	"--help":             {Set: setHelp},
}

func addModule(c *config, v []string) error {
	if v[0] == "" {
		return cli.Usagef("--module needs a module name")
	}
	c.opts.Modules = append(c.opts.Modules, v[0])
	return nil
}

func setTransport(c *config, v []string) error {
	if _, ok := initrd.Transports[v[0]]; !ok {
		return cli.Usagef("--transport %q: want %s", v[0], strings.Join(initrd.TransportNames(), ", "))
	}
	c.opts.Transport = v[0]
	return nil
}

func setCompress(c *config, v []string) error {
	if !slices.Contains(initrd.Compressions, v[0]) {
		return cli.Usagef("--compress %q: want %s", v[0], strings.Join(initrd.Compressions, ", "))
	}
	c.opts.Compress = v[0]
	return nil
}

func setVerbose(c *config, _ []string) error { c.verbose = true; return nil }
func setHelp(c *config, _ []string) error    { c.help = true; return nil }

// parseArgs reads the command line (without the program name). Options and
// operands may be mixed; "--" ends the options. Options take their value
// as the next argument or after "=".
func parseArgs(args []string) (*config, error) {
	c := &config{}
	operands, err := cli.Parse(args, flags, c, true)
	if err != nil {
		return nil, err
	}
	if c.help {
		return &config{help: true}, nil
	}
	if len(operands) != 3 {
		return nil, cli.Usagef("want INIT MODULES_DIR OUTPUT, got %d operand(s)", len(operands))
	}
	c.opts.Init, c.opts.ModulesDir, c.output = operands[0], operands[1], operands[2]
	if c.opts.Init == "" {
		return nil, cli.Usagef("INIT is empty")
	}
	if c.output == "" {
		return nil, cli.Usagef("OUTPUT is empty")
	}
	return c, nil
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org): the
// time every entry of the archive carries; 0 when unset.
func sourceDateEpoch(v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 0xffffffff {
		return 0, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970 that fit 32 bits", v)
	}
	return n, nil
}

// run is main without the exit: it returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args)
	if err != nil {
		return cli.ReportUsage(stderr, "mkvirtinitrd", err)
	}
	if c.help {
		fmt.Fprint(stdout, usage)
		return 0
	}
	if c.opts.Epoch, err = sourceDateEpoch(getenv("SOURCE_DATE_EPOCH")); err != nil {
		fmt.Fprintf(stderr, "mkvirtinitrd: %v\n", err)
		return 2
	}
	if err := checkInit(c.opts.Init); err != nil {
		fmt.Fprintf(stderr, "mkvirtinitrd: %v\n", err)
		return 1
	}
	rep, err := initrd.WriteFile(c.output, c.opts)
	if err != nil {
		fmt.Fprintf(stderr, "mkvirtinitrd: %v\n", err)
		return 1
	}
	if c.verbose {
		if c.opts.ModulesDir != "" {
			fmt.Fprintf(stderr, "mkvirtinitrd: kernel %s\n", initrd.KernelRelease(c.opts.ModulesDir))
		}
		for _, m := range rep.Modules {
			fmt.Fprintf(stderr, "mkvirtinitrd: module %s\n", m)
		}
		for _, m := range rep.Builtin {
			fmt.Fprintf(stderr, "mkvirtinitrd: built in: %s\n", m)
		}
		if len(rep.Stripped) > 0 {
			fmt.Fprintf(stderr, "mkvirtinitrd: signatures removed from %d module(s)\n", len(rep.Stripped))
		}
	}
	return 0
}

// checkInit refuses an INIT the kernel could not run as /init: anything
// but a static 64-bit ELF executable of a supported architecture. A
// dynamically linked one would find no loader in the initrd.
func checkInit(path string) error {
	err := cpuarch.CheckStatic(path, "")
	if pe := (*cpuarch.ProgramError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("INIT %w", err)
	} else if err != nil {
		return fmt.Errorf("INIT: %w", err)
	}
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
