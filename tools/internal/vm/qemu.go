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
	arch     string
	option   string   // the value of -machine
	fsDevice string   // the vhost-user-fs device model on this machine's bus
	globals  []string // -global properties
	params   []string // kernel parameters put in front of the caller's command line (see Run)
}

// machines are the machine types Run knows.
//
// microvm: the RTC gives the guest wall-clock time; virtio-mmio devices
// must be modern ones, because virtiofsd refuses legacy virtio devices
// ("virtio legacy devices aren't supported"); the guest finds the devices
// through ACPI, so ACPI stays on. Its firmware (qboot) loads the kernel
// itself, so no option ROM is needed.
//
// q35 and pc: -nodefaults leaves no network card, hence no option ROM but
// the kernel loader's. On pc every virtio-pci device costs about 80 ms of
// guest boot time, on q35 about 2 ms (../shared/BOOT-NOTES.md).
var machines = map[string]machine{
	"q35": {
		arch:     "x86_64",
		option:   "q35",
		fsDevice: "vhost-user-fs-pci",
	},
	"pc": {
		arch:     "x86_64",
		option:   "pc",
		fsDevice: "vhost-user-fs-pci",
	},
	"microvm": {
		arch:     "x86_64",
		option:   "microvm,rtc=on,x-option-roms=off",
		fsDevice: "vhost-user-fs-device",
		globals:  []string{"virtio-mmio.force-legacy=false"},
		params:   []string{"reboot=t"},
	},
	"virt": {
		arch:     "aarch64",
		option:   "virt",
		fsDevice: "vhost-user-fs-pci",
	},
}

// defaultMachine is the machine of each architecture when Config has none.
var defaultMachine = map[string]string{
	"x86_64":  "q35",
	"aarch64": "virt",
}

// tcgCPU is the CPU model emulated under TCG. On x86_64, "max" offers
// every feature TCG can emulate, so kernels built for x86-64-v2 (RHEL 9)
// boot too; on aarch64, the model measured with Debian's arm64 kernel.
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
	accel   string   // "kvm" or "tcg"
	cpu     string   // -cpu model
	sockets []string // vhost-user socket of each share, in order
	params  []string // kernel parameters in front of Config.Append
}

// qemuArgs composes qemu's command line, without the program name.
func qemuArgs(c Config, p plan) []string {
	m := machines[c.Machine]
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
	for _, g := range m.globals {
		a = append(a, "-global", g)
	}
	for i, s := range c.Shares {
		id := "fs" + strconv.Itoa(i)
		a = append(a,
			"-chardev", "socket,id="+id+",path="+optValue(p.sockets[i]),
			"-device", m.fsDevice+",queue-size=1024,chardev="+id+",tag="+optValue(s.Tag))
	}
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
