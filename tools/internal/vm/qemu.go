package vm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"virtinit/tools/internal/cpuarch"
)

// machine is what differs between qemu machine types.
type machine struct {
	arch       string
	option     string   // the value of -machine
	transports []string // the virtio transports its virtiofs devices may use; the first is the default
	params     []string // kernel parameters put in front of the caller's command line (see Run)
}

// machines are the machine types Run knows.
//
// microvm: the RTC gives the guest wall-clock time; the guest finds the
// virtio-mmio devices through ACPI, so ACPI stays on. Its firmware
// (qboot) loads the kernel itself, so no option ROM is needed.
//
// q35 and pc: -nodefaults leaves no network card, hence no option ROM but
// the kernel loader's. On pc every virtio-pci device costs about 80 ms of
// guest boot time, on q35 about 2 ms (docs/facts.md, "Machines").
//
// virt (aarch64): a PCIe host bridge and 32 virtio-mmio transports, both
// described to the kernel in the device tree qemu generates; -kernel
// boots the Image without firmware. Both transports work. mmio comes
// first: with Debian's 6.1 (virtio_mmio one module, virtio_pci three),
// cortex-a57, the program started 10 ms of guest time sooner under
// -icount (837 against 848 ms; the kernel reached /init at 798 ms with
// either), and /init took 171 against 187 ms in the medians of ten boots
// without -icount.
var machines = map[string]machine{
	"q35": {
		arch:       "x86_64",
		option:     "q35",
		transports: []string{"pci"},
	},
	"pc": {
		arch:       "x86_64",
		option:     "pc",
		transports: []string{"pci"},
	},
	"microvm": {
		arch:       "x86_64",
		option:     "microvm,rtc=on,x-option-roms=off",
		transports: []string{"mmio"},
		params:     []string{"reboot=t"},
	},
	"virt": {
		arch:       "aarch64",
		option:     "virt",
		transports: []string{"mmio", "pci"},
	},
}

// transport is how a vhost-user-fs device reaches the guest.
type transport struct {
	device  string   // the vhost-user-fs device model
	serial  string   // the virtio-serial controller model
	net     string   // the virtio-net device model, with its options
	globals []string // -global properties it needs
}

// transports are the virtio transports Run knows. A virtio-mmio device
// must be a modern one (virtio 1.0): virtiofsd refuses legacy devices
// ("virtio legacy devices aren't supported"), and qemu's virtio-mmio
// transports are legacy unless told otherwise.
var transports = map[string]transport{
	// romfile= (none): the PXE boot ROM of virtio-net-pci is of no use
	// with -kernel, and qemu refuses to start where it is not installed.
	"pci":  {device: "vhost-user-fs-pci", serial: "virtio-serial-pci", net: "virtio-net-pci,romfile="},
	"mmio": {device: "vhost-user-fs-device", serial: "virtio-serial-device", net: "virtio-net-device", globals: []string{"virtio-mmio.force-legacy=false"}},
}

// MachineNames lists the machines Run knows for an architecture (qemu's
// name, as Config.Arch).
func MachineNames(arch string) []string {
	var names []string
	for name, m := range machines {
		if m.arch == arch {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// MachineTransports lists the virtio transports a machine's virtiofs
// devices may use, its default first; none for a machine Run does not
// know.
func MachineTransports(machine string) []string {
	return slices.Clone(machines[machine].transports)
}

// TransportNames lists the virtio transports Run knows.
func TransportNames() []string {
	var names []string
	for name := range transports {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// MachineFor is the machine for an architecture and a virtio transport:
// the architecture's default machine where it has that transport, else
// the machine whose default the transport is (x86_64: pci on q35, mmio on
// microvm; aarch64: both on virt). It returns "" when there is none.
func MachineFor(arch, transport string) string {
	a, ok := cpuarch.Lookup(arch)
	if !ok {
		return ""
	}
	if slices.Contains(machines[a.Machine].transports, transport) {
		return a.Machine
	}
	for _, name := range MachineNames(a.Name) {
		if machines[name].transports[0] == transport {
			return name
		}
	}
	return ""
}

// plan is what Run decided for one boot besides the Config.
type plan struct {
	accel       string   // "kvm" or "tcg"
	cpu         string   // -cpu model
	sockets     []string // vhost-user socket of each share, in order
	portSockets []string // socket of each of Config.Ports, in order
	params      []string // kernel parameters in front of Config.Append
	// machineOptions are more -machine properties, each after a comma.
	machineOptions string
}

// qemuArgs composes qemu's command line, without the program name.
func qemuArgs(c Config, p plan) []string {
	m := machines[c.Machine]
	tr := transports[c.Transport]
	// A size without a suffix is mebibytes to -m but bytes to the
	// memory backend's size=, which must match it: qemu refused
	// --memory 1024 ("backing store size 0x400 does not match").
	mem := c.Memory
	if mem != "" && mem[len(mem)-1] >= '0' && mem[len(mem)-1] <= '9' {
		mem += "M"
	}
	a := []string{
		"-nodefaults", "-no-user-config", "-display", "none",
		"-machine", m.option + p.machineOptions,
		"-accel", p.accel,
		"-cpu", p.cpu,
		"-smp", strconv.Itoa(c.CPUs),
		// vhost-user devices need guest memory the daemons can map.
		"-m", mem,
		"-object", "memory-backend-memfd,id=mem0,size=" + mem + ",share=on",
		"-numa", "node,memdev=mem0",
	}
	if c.Icount {
		a = append(a, "-icount", "shift=0,sleep=off")
	}
	a = append(a, "-kernel", c.Kernel)
	if c.Initrd != "" {
		a = append(a, "-initrd", c.Initrd)
	}
	a = append(a, "-append", joinLine(p.params, c.Append))
	a = append(a, "-serial", "stdio")
	if c.PanicDevice && c.Arch == "x86_64" {
		// The kernel tells a panic to the device (drivers/misc/pvpanic,
		// a panic notifier, before any panic= wait), and qemu then exits
		// with status 1: a panicked guest ends the VM even when the
		// guest set /proc/sys/kernel/panic to 0 (wait forever).
		a = append(a, "-device", "pvpanic", "-action", "panic=exit-failure")
	}
	if c.NoReboot {
		a = append(a, "-no-reboot")
	}
	for _, g := range tr.globals {
		a = append(a, "-global", g)
	}
	for i, s := range c.Shares {
		id := "fs" + strconv.Itoa(i)
		a = append(a,
			"-chardev", "socket,id="+id+",path="+optValue(p.sockets[i]),
			"-device", tr.device+",queue-size=1024,chardev="+id+",tag="+optValue(s.Tag))
	}
	a = append(a, portArgs(c.Ports, p.portSockets, tr.serial)...)
	if c.Net {
		a = append(a, "-netdev", "user,id=net0", "-device", tr.net+",netdev=net0")
	}
	return append(a, c.ExtraArgs...)
}

// optValue escapes a value inside a qemu option list, where a comma
// separates options and two commas stand for one.
func optValue(s string) string {
	return strings.ReplaceAll(s, ",", ",,")
}

// FindQemu finds the qemu system emulator for an architecture ("x86_64"
// or "aarch64"; "" is x86_64): qemu-system-ARCH on PATH or, for the
// host's own architecture, /usr/libexec/qemu-kvm, where RHEL installs it.
func FindQemu(arch string) (string, error) {
	a := cpuarch.Default()
	if arch != "" {
		var ok bool
		if a, ok = cpuarch.Lookup(arch); !ok {
			return "", fmt.Errorf("vm: unknown architecture %q (want %s)", arch, strings.Join(cpuarch.Names(), " or "))
		}
	}
	name := a.Qemu
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	// No PATH at all (env -i): where distributions install it.
	for _, dir := range pathlessDirs() {
		if p, err := exec.LookPath(filepath.Join(dir, name)); err == nil {
			return p, nil
		}
	}
	if host, ok := cpuarch.Host(); ok && host.Name == a.Name {
		if p, err := exec.LookPath("/usr/libexec/qemu-kvm"); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no %s on PATH", ErrNoQemu, name)
}

// pathlessDirs are the directories searched for a program when PATH is
// empty or unset (env -i), as a shell would: none when PATH is set.
func pathlessDirs() []string {
	if os.Getenv("PATH") != "" {
		return nil
	}
	return []string{"/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"}
}

// shellQuote renders a command line a shell would read back the same way,
// for debug output.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%_+=:,./-") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}
