package main

import (
	"fmt"
	"strings"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// share is one virtiofs tag of a configuration and how /init mounts it.
type share struct {
	tag      string
	readOnly bool
	root     bool // the new root; the others go to /run/mnt/TAG
}

// configuration is one way of booting that the benchmark times.
type configuration struct {
	name      string
	arch      string   // GOARCH of the guest: "" (amd64) or "arm64"
	kernel    string   // the directory under $CACHE/kernels: "6.1" or "6.12"
	machine   string   // qemu machine type
	transport string   // initrd transport modules: "pci" or "mmio"
	strip     bool     // initrd built with --strip-signatures
	modules   []string // more modules in the initrd (mkvirtinitrd --module)
	memory    string
	noReboot  bool
	osbuild   bool // the command line and devices of osbuild's VM
	tune      bool // vm.Config.Tune: chrootvm's boot tuning (tools/internal/vm/tune.go)
	shares    []share
	about     string
	append    string       // more kernel parameters (--append)
	qemuArgs  []string     // more qemu arguments (--qemu)
	virtiofsd vm.Virtiofsd // the virtiofsd (--virtiofsd), as main found it
}

// twoShares is the shape of the VM tests: a read-only root and one
// writable share.
var twoShares = []share{
	{tag: "rootfs", readOnly: true, root: true},
	{tag: "work"},
}

// osbuildShares are the tags osbuild gives its build VM (docs/facts.md):
// everything read-only but the object store.
var osbuildShares = []share{
	{tag: "rootfs", readOnly: true, root: true},
	{tag: "mnt0", readOnly: true},
	{tag: "libdir", readOnly: true},
	{tag: "containers", readOnly: true},
	{tag: "store"},
}

// configurations is everything a default run boots, in report order.
var configurations = []configuration{
	{name: "q35-6.1-signed", kernel: "6.1", machine: "q35", transport: "pci", memory: "1G", noReboot: true, shares: twoShares,
		about: "Debian 6.1, virtio and virtiofs as modules, signatures kept (the kernel checks each one)"},
	{name: "q35-6.1-stripped", kernel: "6.1", machine: "q35", transport: "pci", strip: true, memory: "1G", noReboot: true, shares: twoShares,
		about: "the same initrd built with --strip-signatures"},
	{name: "q35-6.12", kernel: "6.12", machine: "q35", transport: "pci", memory: "1G", noReboot: true, shares: twoShares,
		about: "Debian 6.12 (backports), virtio and virtiofs built in: no modules"},
	{name: "q35-6.12-overlay", kernel: "6.12", machine: "q35", transport: "pci", memory: "1G", noReboot: true, shares: twoShares,
		modules: []string{initrd.OverlayModule}, append: "rd.overlay",
		about: "q35-6.12 with rd.overlay: the overlay module (signed, xz) from the initrd, a tmpfs and the overlay mount"},
	{name: "q35-6.12-osbuild", kernel: "6.12", machine: "q35", transport: "pci", memory: "3G", osbuild: true, shares: osbuildShares,
		about: "osbuild's shape: 3G, five shares, a virtio-serial port, its command line, no -no-reboot"},
	{name: "q35-6.12-osbuild-tuned", kernel: "6.12", machine: "q35", transport: "pci", memory: "3G", osbuild: true, tune: true, shares: osbuildShares,
		about: "osbuild's shape with chrootvm's boot tuning (vm.Config.Tune): what osbuild would gain"},
	{name: "microvm-6.12", kernel: "6.12", machine: "microvm", transport: "mmio", memory: "1G", noReboot: true, shares: twoShares,
		about: "chrootvm's microvm setup: virtio_mmio from the initrd, signed, as chrootvm builds it"},
	{name: "microvm-6.12-stripped", kernel: "6.12", machine: "microvm", transport: "mmio", strip: true, memory: "1G", noReboot: true, shares: twoShares,
		about: "the same with --strip-signatures"},
	{name: "microvm-6.12-tuned", kernel: "6.12", machine: "microvm", transport: "mmio", strip: true, tune: true, memory: "1G", noReboot: true,
		shares: []share{{tag: "rootfs", readOnly: true, root: true}},
		about:  "chrootvm's default boot: microvm with its tuning (stripped virtio_mmio, the kernel words), one share; its null init is issue 20's reference"},
	{name: "pc-6.12", kernel: "6.12", machine: "pc", transport: "pci", memory: "1G", noReboot: true, shares: twoShares,
		about: "the pc machine, for what the machine type costs"},
	{name: "arm64-virt-6.1", arch: "arm64", kernel: "6.1", machine: "virt", transport: "mmio", memory: "1G", noReboot: true, shares: twoShares,
		about: "arm64: Debian's arm64 6.1 on qemu-system-aarch64 -machine virt -cpu cortex-a57, virtio-mmio, fuse, virtiofs and virtio_mmio from the initrd, signed"},
}

// goarch is the configuration's GOARCH: "amd64" or "arm64".
func (c configuration) goarch() string {
	if c.arch == "" {
		return "amd64"
	}
	return c.arch
}

// cpuarch is the configuration's architecture.
func (c configuration) cpuarch() cpuarch.Arch {
	a, _ := cpuarch.Lookup(c.goarch())
	return a
}

// qemuArch is the architecture as tools/internal/vm names it.
func (c configuration) qemuArch() string {
	return c.cpuarch().Name
}

// kernelKey names the configuration's kernel: "6.1", "6.12" (x86-64,
// $CACHE/kernels/DIR) or "arm64/6.1" ($CACHE/arm64/kernels/DIR, where
// tools/fetch-deps --arch arm64 puts them).
func (c configuration) kernelKey() string {
	if c.goarch() == "amd64" {
		return c.kernel
	}
	return c.goarch() + "/" + c.kernel
}

// console is the serial console's device in the guest.
func (c configuration) console() string {
	return c.cpuarch().Console
}

// stampPath is where the timed program lies in the root share.
const stampPath = "/stamp"

// cmdline is the kernel command line of a configuration. extra is added
// at the end (rd.debug for the phase boot). checkCmdline has made sure
// the kernel takes it.
func (c configuration) cmdline(extra string) string {
	line, _ := c.composeCmdline(extra)
	return line
}

// checkCmdline makes sure that the kernel takes the configuration's
// command line, with the words --append added.
func (c configuration) checkCmdline() error {
	_, err := c.composeCmdline("rd.debug")
	if err != nil {
		return fmt.Errorf("%s: %w", c.name, err)
	}
	return nil
}

func (c configuration) composeCmdline(extra string) (string, error) {
	line := contract.Cmdline{
		Console: c.console(),
		// osbuild's own words, with the benchmark's program as init=.
		Extra:  contract.OsbuildWords(),
		Init:   stampPath,
		Append: []string{c.append, extra},
	}
	if !c.osbuild {
		line.Extra = []string{"quiet", "panic=-1"}
	}
	for _, s := range c.shares {
		if s.root {
			if !c.osbuild {
				line.RootTag = s.tag
			}
			continue
		}
		line.Mounts = append(line.Mounts, contract.Mount{Tag: s.tag, ReadOnly: s.readOnly})
	}
	return line.String()
}

// withAppend adds the words of --append after the configuration's own
// (q35-6.12-overlay's rd.overlay), which they must not replace.
func (c configuration) withAppend(words string) configuration {
	c.append = strings.TrimSpace(c.append + " " + words)
	return c
}

// deterministic are the qemu arguments that, with -icount, make a boot
// repeat to the nanosecond up to the first wait on a virtiofsd: without
// them the guest's time at /init wanders over 8-12 ms in steps of a
// 4 ms tick, because the boot's instruction count depends on random
// numbers (RDRAND, which qemu takes from the host unless -seed is given;
// KASLR and hash seeds follow from them) and on the wall-clock time the
// kernel reads from the RTC (which follows the host's clock unless
// clock=vm).
var deterministic = []string{"-seed", "1", "-rtc", "base=2026-01-01T00:00:00,clock=vm"}

// extraArgs are further qemu arguments: determinism, osbuild's control
// channel, the user's.
func (c configuration) extraArgs() []string {
	a := append([]string(nil), deterministic...)
	if c.osbuild {
		a = append(a,
			"-chardev", "null,id=ipc",
			"-device", "virtio-serial-pci",
			"-device", "virtserialport,chardev=ipc,name=ipc.0")
	}
	return append(a, c.qemuArgs...)
}

// selectConfigurations returns the configurations named by a
// comma-separated list of patterns: a pattern that is a whole name selects
// that configuration, any other pattern every name containing it; "" or
// "all" selects all.
func selectConfigurations(all []configuration, patterns string) []configuration {
	if patterns == "" || patterns == "all" {
		return all
	}
	exact := map[string]bool{}
	for _, c := range all {
		exact[c.name] = true
	}
	var out []configuration
	for _, c := range all {
		for _, p := range strings.Split(patterns, ",") {
			if p != "" && (p == c.name || !exact[p] && strings.Contains(c.name, p)) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}
