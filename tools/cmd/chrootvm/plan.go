package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// plan is everything a run will do, decided before anything starts:
// the kernel and its modules, the machine, the daemons, the kernel's
// words and the initrd's contents. makePlan computes it from the options
// and the host's files, looking each thing up once; execute carries it
// out. A plan is a plain value: its tests need no VM.
type plan struct {
	kernel    kernel
	tree      *initrd.Tree // the kernel's module tree, read once; nil without one
	arch      cpuarch.Arch // the guest's
	machine   string
	transport string // the virtiofs devices' bus: "mmio" or "pci"
	qemu      string
	virtiofsd vm.Virtiofsd
	shares    []vm.Share // ROOTFS, then --mount's
	mode      string     // rd.supervise: contract.ModePorts, or ModeTTY on a terminal
	line      string     // the kernel command line
	initrd    initrd.Options
	// panicDevice gives the guest qemu's pvpanic device (panicDevice).
	panicDevice bool
	warnings    []string // said whatever the run's end
	notes       []string // what --debug shows of the decisions
}

// terminal is what makePlan needs to know of chrootvm's stdio: whether
// stdin and stdout are terminals, and the environment a program on the
// guest's terminal gets (TERM, COLUMNS, LINES).
type terminal struct {
	tty bool
	env []string
}

// makePlan decides the run of o. Its error has the kind that decides the
// exit status (exitStatus); the plan holds the warnings found so far
// even then.
func makePlan(o *options, term terminal) (*plan, error) {
	p := &plan{}
	rootfs, err := filepath.Abs(o.rootfs)
	if err != nil {
		return p, failure(errNoRootfs, fmt.Errorf("ROOTFS %s: %w", o.rootfs, err))
	}
	if msg := dirProblem(rootfs); msg != "" {
		return p, failure(errNoRootfs, fmt.Errorf("ROOTFS %s %s", o.rootfs, msg))
	}
	for _, m := range o.mounts {
		if msg := dirProblem(m.Path); msg != "" {
			return p, failure(errNoRootfs, fmt.Errorf("directory for tag %s: %s %s", m.Tag, m.Path, msg))
		}
	}
	p.shares = append([]vm.Share{{Tag: contract.RootTag, Path: rootfs, ReadOnly: true}}, o.mounts...)
	if p.kernel, err = planKernel(o, rootfs); err != nil {
		return p, err
	}
	if p.kernel.modules == "" {
		p.warnings = append(p.warnings, fmt.Sprintf("warning: no module tree for %s: the initrd holds no modules (pass --modules DIR unless virtiofs is built in)", p.kernel.image))
	} else if p.tree, err = initrd.ReadTree(p.kernel.modules); err != nil {
		return p, failure(errNoKernel, fmt.Errorf("module tree %s: %w", p.kernel.modules, err))
	}
	program, err := findProgram(rootfs, o.program, o.mounts)
	if err != nil {
		return p, err
	}
	if err := p.chooseGuest(o, rootfs, program); err != nil {
		return p, err
	}
	if err := p.compose(o, term); err != nil {
		return p, err
	}
	if err := p.findPrograms(o); err != nil {
		return p, err
	}
	initBin, err := findInit(o.init, p.arch.Name)
	if err != nil {
		return p, err
	}
	p.initrd = initrdOptions(o, p.tree, p.transport, initBin, append([]string{program}, o.args...))
	p.initrd.KernelRelease = p.kernel.built
	var panicModule string
	p.panicDevice, panicModule = panicDevice(p.arch.Name, p.tree)
	if panicModule != "" {
		p.initrd.Modules = append(p.initrd.Modules, panicModule)
	}
	return p, nil
}

// chooseGuest decides the architecture, machine and transport.
func (p *plan) chooseGuest(o *options, rootfs, program string) error {
	rootsArch, rootProgram := rootfsArch(rootfs, program)
	guest, warnings := chooseArch(o.arch, p.kernel.image, p.kernel.arch, rootsArch, rootProgram)
	p.warnings = append(p.warnings, warnings...)
	p.arch, _ = cpuarch.Lookup(guest)
	var err error
	if p.machine, p.transport, err = chooseMachine(guest, o.machine, o.transport, p.tree); err != nil {
		return err
	}
	p.notes = append(p.notes, fmt.Sprintf("kernel %s (%s), modules %s, machine %s, virtio-%s", p.kernel.image, guest, orNone(p.kernel.modules), p.machine, p.transport))
	return nil
}

// compose decides the mode of the program's stdio and the kernel
// command line. A terminal on both ends makes an interactive run: the
// program gets a terminal of the guest. Otherwise its stdio are plain
// ports, byte for byte.
func (p *plan) compose(o *options, term terminal) error {
	p.mode = contract.ModePorts
	var env []string
	if term.tty {
		p.mode, env = contract.ModeTTY, term.env
	}
	appends := append(netWords(o, p.shares[0].Path), o.appends...)
	if o.overlay {
		appends = append([]string{contract.OverlayWord(o.overlaySize)}, appends...)
	}
	var err error
	p.line, err = cmdline(p.arch.Console, p.mode, o.mounts, appends, env, o.debug)
	if err != nil {
		return cli.Usagef("%v", err)
	}
	return nil
}

// findPrograms finds qemu and the virtiofsd, the parts that may be
// missing from the host, once.
func (p *plan) findPrograms(o *options) error {
	var err error
	if p.qemu, err = vm.FindQemu(p.arch.Name); err != nil {
		return fmt.Errorf("%w (install %s)", err, p.arch.QemuPackage)
	}
	p.virtiofsd, err = vm.FindVirtiofsd(o.virtiofsd)
	switch {
	case err != nil && o.virtiofsd != "":
		return fmt.Errorf("--virtiofsd %s: %w", o.virtiofsd, err)
	case errors.Is(err, vm.ErrNoVirtiofsd):
		return fmt.Errorf("%w (install virtiofsd, or qemu-system-common on Debian 12)", err)
	case err != nil && os.Geteuid() != 0:
		// It is there, but did not say what it is.
		return fmt.Errorf("%w (qemu's C virtiofsd, Debian 12's, needs root; the Rust virtiofsd does not: --virtiofsd PATH or $%s)", err, vm.VirtiofsdEnv)
	case err != nil:
		return err
	}
	p.notes = append(p.notes, fmt.Sprintf("virtiofsd %s", p.virtiofsd))
	return nil
}

// initrdOptions are the initrd's contents: /init, virtiofs and the
// modules of its transport, the modules the run needs besides, and the
// program with its arguments in /init.argv. The ports need virtio_console: a module on
// Debian's 6.1, built in on 6.12 (then it stays out of the initrd).
func initrdOptions(o *options, tree *initrd.Tree, transport, initBin string, argv []string) initrd.Options {
	opts := initrd.Options{
		Init:            initBin,
		Tree:            tree,
		Transport:       transport,
		StripSignatures: o.strip || !o.noTune && vm.TuneStripsSignatures(),
		Argv:            argv,
	}
	if tree != nil {
		opts.ModulesDir = tree.Dir()
		opts.Modules = []string{"virtio_console"}
	}
	if o.overlay {
		opts.Modules = append(opts.Modules, initrd.OverlayModule)
	}
	if o.net {
		opts.Modules = append(opts.Modules, initrd.NetModule)
	}
	return opts
}

// panicDevice says whether the guest gets qemu's pvpanic device, and the
// module the initrd needs for it (or ""): a kernel panic must end the VM
// even when the program set panic=0, and the device does where the
// kernel has its driver (Debian: the module pvpanic_mmio on x86_64; none
// in arm64's 6.1). A kernel without a module tree is not asked.
func panicDevice(arch string, tree *initrd.Tree) (bool, string) {
	if arch != "x86_64" || tree == nil {
		return false, ""
	}
	builtin, loadable := tree.Available("pvpanic_mmio")
	if loadable {
		return true, "pvpanic_mmio"
	}
	return builtin, ""
}

// planKernel finds the kernel and its modules.
func planKernel(o *options, rootfs string) (kernel, error) {
	var k kernel
	if o.modules != "" {
		if why := dirProblem(o.modules); why != "" {
			return k, failure(errNoKernel, fmt.Errorf("--modules %s %s", o.modules, why))
		}
	}
	if o.kernel != "" {
		if why := notFile(o.kernel); why != "" {
			return k, failure(errNoKernel, fmt.Errorf("--kernel %s: %s", o.kernel, why))
		}
		k.image = o.kernel
		if o.modules == "" {
			k.modules = modulesOf(o.kernel, rootfs)
		}
	} else {
		var err error
		if k, err = findKernel(rootfs); err != nil {
			return k, failure(errNoKernel, err)
		}
	}
	if o.modules != "" {
		k.modules = o.modules
	}
	// Not a kernel image: said in one line, before anything else about
	// the kernel.
	arch, err := kernelArch(k.image)
	if err != nil {
		return k, failure(errNoKernel, err)
	}
	if arch == "" {
		return k, failure(errNoKernel, fmt.Errorf("%s is not a kernel image (no bzImage, arm64 Image, EFI or ELF header)", k.image))
	}
	k.arch = arch
	k.built = bzImageRelease(k.image)
	return k, nil
}

// chooseMachine picks the machine and the virtio transport of the
// virtiofs devices, which the initrd must carry the module of. virtio-mmio
// reaches the program sooner than virtio-pci: on x86_64 because microvm
// boots faster than q35 (docs/facts.md, "Machines"), on aarch64's virt,
// which has both buses, because virtio_mmio is one small module where
// virtio_pci is three and the device needs no PCI setup (Debian's 6.1,
// cortex-a57, TCG: the program started 10 ms of guest time sooner under
// -icount, 837 against 848 ms, and /init took 171 against 187 ms in the
// medians of ten boots without it). So mmio is the default where the
// kernel has virtio_mmio, built in or as a module. A kernel without a
// module tree (tree nil) is taken to have it only when it is asked for.
func chooseMachine(arch, machine, transport string, tree *initrd.Tree) (string, string, error) {
	// A machine with virtio-mmio only (microvm) asks for it too.
	mmio := transport == "mmio" || slices.Equal(vm.MachineTransports(machine), []string{"mmio"})
	if tree != nil {
		builtin, loadable := tree.Available("virtio_mmio")
		mmio = builtin || loadable
	}
	if transport == "" {
		switch ts := vm.MachineTransports(machine); {
		case len(ts) == 1:
			transport = ts[0]
		case mmio:
			transport = "mmio"
		default:
			transport = "pci"
		}
	}
	if transport == "mmio" && !mmio {
		return "", "", failure(errNoKernel, fmt.Errorf("the kernel of %s has no virtio_mmio, which microvm and --transport mmio need; use --transport pci", tree.Dir()))
	}
	want := vm.MachineFor(arch, transport)
	if machine == "" {
		return want, transport, nil
	}
	if !slices.Contains(vm.MachineNames(arch), machine) || !slices.Contains(vm.MachineTransports(machine), transport) {
		return "", "", cli.Usagef("--machine %s cannot have %s virtio-%s devices (it takes --machine %s)", machine, arch, transport, want)
	}
	return machine, transport, nil
}

// dirProblem says what is wrong with a directory to share, or "".
func dirProblem(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "does not exist"
	case err != nil:
		return err.Error()
	case !fi.IsDir():
		return "is not a directory"
	}
	// The daemon runs as this user (the Rust one without root): a
	// directory it cannot read or enter would fail in the guest as a
	// program "not found".
	if err := syscall.Access(path, 5); err != nil { // R_OK|X_OK
		return "cannot be read: " + err.Error()
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// joinOrNone joins names with spaces, or says "(none)".
func joinOrNone(names []string) string { return orNone(strings.Join(names, " ")) }
