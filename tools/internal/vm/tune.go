package vm

import (
	"slices"
	"strings"
)

// Lever is one change to a boot that makes it reach /init sooner without
// changing what a program in the VM can do. Config.Tune applies every
// lever of the boot's architecture and machine; chrootvm does so unless
// it is told --no-tune, and the benchmark measures a boot with and
// without them (tools/cmd/bench/README.md has the figures of every lever
// tried, kept or not).
type Lever struct {
	// Param is a kernel parameter, put in front of Config.Append; or "".
	Param string
	// MachineOption is a property of qemu's -machine; or "".
	MachineOption string
	// StripSignatures: the lever is in the initrd, not in the VM: its
	// modules without their signatures (initrd.Options.StripSignatures).
	// Whoever builds the initrd applies it (TuneStripsSignatures).
	StripSignatures bool
	// Arches and Machines limit the lever to those architectures and
	// machines; nil is all of them.
	Arches   []string
	Machines []string
	// Skips says what the guest no longer does or has.
	Skips string
	// Costs says what is lost.
	Costs string
	// Safe says why a build VM does not miss it.
	Safe string
	// Saves is the measured gain: guest time to a null init under
	// qemu -icount, one lever at a time against the same boot without it.
	Saves string
}

// Name is how the lever is spelled: its kernel parameter or its
// -machine property.
func (l Lever) Name() string {
	switch {
	case l.Param != "":
		return l.Param
	case l.StripSignatures:
		return "modules without signatures"
	}
	return "-machine " + l.MachineOption
}

// levers are the boot tuning, biggest gain first. Everything else tried
// (mitigations=off, nokaslr, audit=0, 8250.nr_uarts=1,
// random.trust_cpu=on, swiotlb=noforce, tsc=reliable,
// less memory, no PIT, PIC, SATA, SMBus, i8042 or vmport) moved a null
// init's start by less than the 4 ms the boot's own timer tick jitters,
// and is left out: a lever must pay for what it changes.
var levers = []Lever{
	{
		Param: "cryptomgr.notests",
		Skips: "the self-tests the kernel's crypto manager runs on every algorithm it registers " +
			"(crypto/testmgr.c): known-answer tests of hashes, ciphers and signatures",
		Costs: "a crypto implementation that computes wrong results is not caught at boot; " +
			"in FIPS mode (fips=1) the kernel would refuse to run without them",
		Safe: "Debian's and Fedora's kernels ship the tested generic code; the tests find bugs in " +
			"new or hardware-specific implementations, not in a build VM's use of them. " +
			"Under emulation they are about half of the boot",
		Saves: "686 ms on microvm 6.12, 683 ms on q35 6.12, 875 ms on q35 6.1",
	},
	{
		Param: "rodata=off",
		Skips: "making the kernel's text and read-only data read-only after the boot " +
			"(mark_rodata_ro), and with it the walk of every page table that checks " +
			"for writable and executable pages (CONFIG_DEBUG_WX)",
		Costs: "a hardening measure: a kernel bug or exploit inside the VM could write to " +
			"kernel code and constants",
		Safe: "the VM runs one build and is thrown away; what protects the host is the VM " +
			"boundary, which this does not touch, and nothing the build does needs the " +
			"guest kernel to defend itself against the build",
		Saves: "307 ms on microvm 6.12, 301 ms on q35 6.12, 136 ms on q35 6.1",
	},
	{
		Param: "initcall_blacklist=jent_mod_init",
		Skips: "the start of the jitter entropy RNG (crypto/jitterentropy.c, built in on 6.12), " +
			"whose health test times thousands of memory accesses at boot",
		Costs: "no jitterentropy_rng algorithm: the kernel's DRBG seeds from the kernel's " +
			"random pool alone, and in FIPS mode (fips=1) it would refuse to start",
		Safe: "the kernel's random pool (/dev/urandom, getrandom) does not use it; " +
			"only the crypto API's stdrng does, which a build does not call. " +
			"Where it is a module or missing, the word does nothing",
		Saves: "127 ms on microvm 6.12 with the two levers above",
	},
	{
		StripSignatures: true,
		Skips: "the kernel's check of each module's signature as /init loads it from " +
			"the initrd (an RSA verification, slow under emulation)",
		Costs: "the kernel is tainted (flag E, unsigned module), and a kernel that enforces " +
			"signatures (CONFIG_MODULE_SIG_FORCE, module.sig_enforce=1, lockdown) refuses the " +
			"modules: /init then stops with the error; boot such a kernel with --no-tune",
		Safe: "the modules come from the kernel's own module tree on the host, the one the " +
			"signatures vouch for; qemu's direct kernel boot has no Secure Boot, so Debian's, " +
			"Fedora's and Ubuntu's kernels do not enforce",
		Saves: "56 ms on microvm 6.12 (virtio_mmio), 104 ms on q35 6.1 (seven modules); " +
			"arm64 6.1 not measured stripped (its three signed modules took 38.8 ms)",
	},
	{
		Param: "init_on_alloc=0",
		Skips: "zeroing every page and heap object the kernel allocates for itself " +
			"(CONFIG_INIT_ON_ALLOC_DEFAULT_ON, on in Debian's and Fedora's kernels): " +
			"above all the 128 page-sized receive buffers virtio_console allocates per " +
			"virtio-serial port (drivers/char/virtio_console.c, fill_queue)",
		Costs: "a hardening measure: a kernel bug that reads memory it never wrote could " +
			"see old kernel data instead of zeros; memory asked for zeroed (__GFP_ZERO) and " +
			"every page a program gets are still zeroed",
		Safe: "what a program in the VM can read is unchanged, and the kernel data it " +
			"might leak through such a bug is the same throwaway VM's; the host is " +
			"protected by the VM boundary, which this does not touch. Under emulation each " +
			"zeroed byte is an instruction",
		Saves: "11 ms on a microvm 6.12 null init with the three levers above; " +
			"40-48 ms on chrootvm's boot to its program there, four ports (577 -> 537 ms)",
	},
	{
		MachineOption: "hpet=off",
		Machines:      []string{"q35", "pc"},
		Skips:         "qemu's HPET timer device, and the kernel's setup of it as a clock event and clock source",
		Costs:         "no HPET clock source or timer in the guest (/dev/hpet stays: the driver makes it without the device)",
		Safe: "the kernel keeps its clock on the TSC (kvm-clock under KVM) with the APIC timer " +
			"for events, as on microvm, which has no HPET at all; the ACPI PM timer remains " +
			"for the clock source watchdog",
		Saves: "168 ms on q35 6.12",
	},
}

// Levers returns the tuning of a boot on machine of arch ("x86_64" or
// "aarch64"), in the order of the levers table.
func Levers(arch, machine string) []Lever {
	var out []Lever
	for _, l := range levers {
		if (l.Arches == nil || slices.Contains(l.Arches, arch)) &&
			(l.Machines == nil || slices.Contains(l.Machines, machine)) {
			out = append(out, l)
		}
	}
	return out
}

// TuneParams returns the kernel parameters of the tuning of a boot on
// machine of arch.
func TuneParams(arch, machine string) []string {
	var p []string
	for _, l := range Levers(arch, machine) {
		if l.Param != "" {
			p = append(p, l.Param)
		}
	}
	return p
}

// TuneStripsSignatures tells whether the tuning puts modules into the
// initrd without their signatures.
func TuneStripsSignatures() bool {
	for _, l := range levers {
		if l.StripSignatures {
			return true
		}
	}
	return false
}

// tuneMachineOptions returns the -machine properties of the tuning, each
// with a leading comma, to follow the machine's own option.
func tuneMachineOptions(arch, machine string) string {
	var b strings.Builder
	for _, l := range Levers(arch, machine) {
		if l.MachineOption != "" {
			b.WriteString("," + l.MachineOption)
		}
	}
	return b.String()
}

// AllLevers returns every lever of every architecture and machine, for
// documentation (chrootvm --help).
func AllLevers() []Lever {
	return slices.Clone(levers)
}
