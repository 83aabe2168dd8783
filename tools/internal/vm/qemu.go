package vm

import (
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
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
// guest boot time, on q35 about 2 ms (../shared/BOOT-NOTES.md).
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
	globals []string // -global properties it needs
}

// transports are the virtio transports Run knows. A virtio-mmio device
// must be a modern one (virtio 1.0): virtiofsd refuses legacy devices
// ("virtio legacy devices aren't supported"), and qemu's virtio-mmio
// transports are legacy unless told otherwise.
var transports = map[string]transport{
	"pci":  {device: "vhost-user-fs-pci", serial: "virtio-serial-pci"},
	"mmio": {device: "vhost-user-fs-device", serial: "virtio-serial-device", globals: []string{"virtio-mmio.force-legacy=false"}},
}

// defaultMachine is the machine of each architecture when Config has none.
var defaultMachine = map[string]string{
	"x86_64":  "q35",
	"aarch64": "virt",
}

// tcgCPU is the CPU model emulated under TCG. On x86_64, "max" offers
// every feature TCG can emulate, so kernels built for x86-64-v2 (RHEL 9)
// boot too. On aarch64 "max" is the slow one: it has pointer
// authentication, whose QARMA cipher TCG computes in software at every
// signed return. Debian's 6.1 reached the program in a median 9.9 s of
// guest time and 7.3 s of host CPU time with it, 2.2 s and 2.1 s with
// "max,pauth-impdef=on", and 1.7 s and 1.64 s with cortex-a57 (a72, a53
// and neoverse-n1 within noise of it). cortex-a57 is also what osbuild
// asks for.
var tcgCPU = map[string]string{
	"x86_64":  "max",
	"aarch64": "cortex-a57",
}

// machineNames lists the machines of an architecture.
func machineNames(arch string) []string {
	var names []string
	for name, m := range machines {
		if m.arch == arch {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names
}

// plan is what Run decided for one boot besides the Config.
type plan struct {
	accel       string   // "kvm" or "tcg"
	cpu         string   // -cpu model
	sockets     []string // vhost-user socket of each share, in order
	portSockets []string // socket of each of Config.Ports, in order
	params      []string // kernel parameters in front of Config.Append
}

// qemuArgs composes qemu's command line, without the program name.
func qemuArgs(c Config, p plan) []string {
	m := machines[c.Machine]
	tr := transports[c.Transport]
	a := []string{
		"-nodefaults", "-no-user-config", "-display", "none",
		"-machine", m.option,
		"-accel", p.accel,
		"-cpu", p.cpu,
		"-smp", strconv.Itoa(c.CPUs),
		// vhost-user devices need guest memory the daemons can map.
		"-m", c.Memory,
		"-object", "memory-backend-memfd,id=mem0,size=" + c.Memory + ",share=on",
		"-numa", "node,memdev=mem0",
	}
	if c.Icount {
		a = append(a, "-icount", "shift=0,sleep=off")
	}
	a = append(a, "-kernel", c.Kernel)
	if c.Initrd != "" {
		a = append(a, "-initrd", c.Initrd)
	}
	a = append(a, "-append", strings.Join(append(p.params[:len(p.params):len(p.params)], c.Append), " "))
	a = append(a, "-serial", "stdio")
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
	return append(a, c.ExtraArgs...)
}

// optValue escapes a value inside a qemu option list, where a comma
// separates options and two commas stand for one.
func optValue(s string) string {
	return strings.ReplaceAll(s, ",", ",,")
}

// FindQemu finds the qemu system emulator for an architecture ("x86_64"
// or "aarch64"): qemu-system-ARCH on PATH or, for the host's own
// architecture, /usr/libexec/qemu-kvm, where RHEL installs it.
func FindQemu(arch string) (string, error) {
	if arch == "" {
		arch = "x86_64"
	}
	name := "qemu-system-" + arch
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if arch == hostArch() {
		if p, err := exec.LookPath("/usr/libexec/qemu-kvm"); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: no %s on PATH", ErrNoQemu, name)
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
