package vm

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/testenv"
)

func TestQemuArgs(t *testing.T) {
	tests := []struct {
		name string
		c    Config
		p    plan
		want string
	}{{
		name: "q35, TCG, no shares",
		c:    Config{Machine: "q35", Transport: "pci", Kernel: "/k", Initrd: "/i", Append: "console=ttyS0", Memory: "1G", CPUs: 1},
		p:    plan{accel: "tcg", cpu: "max"},
		want: "-nodefaults -no-user-config -display none -machine q35 -accel tcg -cpu max -smp 1 " +
			"-m 1G -object memory-backend-memfd,id=mem0,size=1G,share=on -numa node,memdev=mem0 " +
			"-kernel /k -initrd /i -append console=ttyS0 -serial stdio",
	}, {
		name: "microvm, two shares, no reboot, parameters",
		c: Config{Machine: "microvm", Transport: "mmio", Kernel: "/k", Initrd: "/i", Append: "quiet -- a b", Memory: "512M", CPUs: 2, NoReboot: true,
			Shares: []Share{{Tag: "rootfs", Path: "/r", ReadOnly: true}, {Tag: "x", Path: "/x"}}},
		p: plan{accel: "tcg", cpu: "max", sockets: []string{"/t/fs0.sock", "/t/fs1.sock"}, params: []string{"reboot=t", "tsc_early_khz=1000"}},
		want: "-nodefaults -no-user-config -display none -machine microvm,rtc=on,x-option-roms=off -accel tcg -cpu max -smp 2 " +
			"-m 512M -object memory-backend-memfd,id=mem0,size=512M,share=on -numa node,memdev=mem0 " +
			"-kernel /k -initrd /i -append 'reboot=t tsc_early_khz=1000 quiet -- a b' -serial stdio -no-reboot " +
			"-global virtio-mmio.force-legacy=false " +
			"-chardev socket,id=fs0,path=/t/fs0.sock -device vhost-user-fs-device,queue-size=1024,chardev=fs0,tag=rootfs " +
			"-chardev socket,id=fs1,path=/t/fs1.sock -device vhost-user-fs-device,queue-size=1024,chardev=fs1,tag=x",
	}, {
		name: "pc, KVM, icount, no initrd, extra arguments, commas escaped",
		c: Config{Machine: "pc", Transport: "pci", Kernel: "/k", Append: "", Memory: "2G", CPUs: 1, Icount: true,
			Shares: []Share{{Tag: "a,b", Path: "/a"}}, ExtraArgs: []string{"-device", "virtio-serial"}},
		p: plan{accel: "kvm", cpu: "host", sockets: []string{"/t,u/fs0.sock"}},
		want: "-nodefaults -no-user-config -display none -machine pc -accel kvm -cpu host -smp 1 " +
			"-m 2G -object memory-backend-memfd,id=mem0,size=2G,share=on -numa node,memdev=mem0 " +
			"-icount shift=0,sleep=off -kernel /k -append '' -serial stdio " +
			"-chardev socket,id=fs0,path=/t,,u/fs0.sock -device vhost-user-fs-pci,queue-size=1024,chardev=fs0,tag=a,,b " +
			"-device virtio-serial",
	}, {
		name: "virt on aarch64, virtio-mmio",
		c: Config{Arch: "aarch64", Machine: "virt", Transport: "mmio", Kernel: "/k", Append: "console=ttyAMA0", Memory: "1G", CPUs: 1,
			Shares: []Share{{Tag: "rootfs", Path: "/r"}}},
		p: plan{accel: "tcg", cpu: "cortex-a57", sockets: []string{"/t/fs0.sock"}},
		want: "-nodefaults -no-user-config -display none -machine virt -accel tcg -cpu cortex-a57 -smp 1 " +
			"-m 1G -object memory-backend-memfd,id=mem0,size=1G,share=on -numa node,memdev=mem0 " +
			"-kernel /k -append console=ttyAMA0 -serial stdio -global virtio-mmio.force-legacy=false " +
			"-chardev socket,id=fs0,path=/t/fs0.sock -device vhost-user-fs-device,queue-size=1024,chardev=fs0,tag=rootfs",
	}, {
		name: "virt on aarch64, virtio-pci",
		c: Config{Arch: "aarch64", Machine: "virt", Transport: "pci", Kernel: "/k", Append: "console=ttyAMA0", Memory: "1G", CPUs: 1,
			Shares: []Share{{Tag: "rootfs", Path: "/r"}}},
		p: plan{accel: "tcg", cpu: "cortex-a57", sockets: []string{"/t/fs0.sock"}},
		want: "-nodefaults -no-user-config -display none -machine virt -accel tcg -cpu cortex-a57 -smp 1 " +
			"-m 1G -object memory-backend-memfd,id=mem0,size=1G,share=on -numa node,memdev=mem0 " +
			"-kernel /k -append console=ttyAMA0 -serial stdio " +
			"-chardev socket,id=fs0,path=/t/fs0.sock -device vhost-user-fs-pci,queue-size=1024,chardev=fs0,tag=rootfs",
	}, {
		name: "q35 with the user-mode network",
		c:    Config{Machine: "q35", Transport: "pci", Kernel: "/k", Append: "console=ttyS0", Memory: "1G", CPUs: 1, Net: true},
		p:    plan{accel: "tcg", cpu: "max"},
		want: "-nodefaults -no-user-config -display none -machine q35 -accel tcg -cpu max -smp 1 " +
			"-m 1G -object memory-backend-memfd,id=mem0,size=1G,share=on -numa node,memdev=mem0 " +
			"-kernel /k -append console=ttyS0 -serial stdio -netdev user,id=net0 -device virtio-net-pci,romfile=,netdev=net0",
	}, {
		name: "microvm with the user-mode network",
		c:    Config{Machine: "microvm", Transport: "mmio", Kernel: "/k", Append: "console=ttyS0", Memory: "1G", CPUs: 1, Net: true},
		p:    plan{accel: "tcg", cpu: "max"},
		want: "-nodefaults -no-user-config -display none -machine microvm,rtc=on,x-option-roms=off -accel tcg -cpu max -smp 1 " +
			"-m 1G -object memory-backend-memfd,id=mem0,size=1G,share=on -numa node,memdev=mem0 " +
			"-kernel /k -append console=ttyS0 -serial stdio -global virtio-mmio.force-legacy=false " +
			"-netdev user,id=net0 -device virtio-net-device,netdev=net0",
	}, {
		name: "memory without a suffix is mebibytes to both",
		c:    Config{Machine: "q35", Transport: "pci", Kernel: "/k", Append: "console=ttyS0", Memory: "1024", CPUs: 1},
		p:    plan{accel: "tcg", cpu: "max"},
		want: "-nodefaults -no-user-config -display none -machine q35 -accel tcg -cpu max -smp 1 " +
			"-m 1024M -object memory-backend-memfd,id=mem0,size=1024M,share=on -numa node,memdev=mem0 " +
			"-kernel /k -append console=ttyS0 -serial stdio",
	}}
	for _, tt := range tests {
		params := append([]string(nil), tt.p.params...)
		if got := shellQuote(qemuArgs(tt.c, tt.p)); got != tt.want {
			t.Errorf("%s: qemuArgs =\n%s\nwant\n%s", tt.name, got, tt.want)
		}
		if strings.Join(params, " ") != strings.Join(tt.p.params, " ") {
			t.Errorf("%s: qemuArgs changed the plan's parameters to %q", tt.name, tt.p.params)
		}
	}
}

// TestMachines checks the table of machines: what each needs is there,
// and nothing is given to the wrong one.
func TestMachines(t *testing.T) {
	for name, m := range machines {
		if _, ok := cpuarch.Lookup(m.arch); !ok {
			t.Errorf("machine %s: unknown architecture %q", name, m.arch)
		}
		if !strings.HasPrefix(m.option, name) {
			t.Errorf("machine %s: -machine %s", name, m.option)
		}
		if len(m.transports) == 0 {
			t.Errorf("machine %s: no virtio transport", name)
		}
		for _, tr := range m.transports {
			if _, ok := transports[tr]; !ok {
				t.Errorf("machine %s: unknown transport %q", name, tr)
			}
		}
		// A PC has no virtio-mmio transports and microvm no PCI bus.
		if mmioOnly, pciOnly := name == "microvm", name == "q35" || name == "pc"; mmioOnly && slices.Contains(m.transports, "pci") || pciOnly && slices.Contains(m.transports, "mmio") {
			t.Errorf("machine %s: transports %q", name, m.transports)
		}
		if strings.Contains(m.option, "acpi=off") {
			t.Errorf("machine %s: ACPI is off, but the guest finds virtio-mmio devices through it", name)
		}
	}
	for name, tr := range transports {
		mmio := name == "mmio"
		if got := tr.device == "vhost-user-fs-device"; got != mmio {
			t.Errorf("transport %s: device %s", name, tr.device)
		}
		if got := strings.Contains(strings.Join(tr.globals, " "), "virtio-mmio.force-legacy=false"); got != mmio {
			t.Errorf("transport %s: modern virtio-mmio forced = %v, want %v", name, got, mmio)
		}
	}
	for _, a := range cpuarch.All() {
		if machines[a.Machine].arch != a.Name {
			t.Errorf("default machine of %s is %s, a machine of %q", a.Name, a.Machine, machines[a.Machine].arch)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"a", "-b=c,d", "/x/y.z"}, "a -b=c,d /x/y.z"},
		{[]string{"a b", ""}, "'a b' ''"},
		{[]string{"it's"}, `'it'\''s'`},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.args); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.args, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(kernel, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Config{Kernel: kernel, Shares: []Share{{Tag: "rootfs", Path: dir}}}.normalize()
	if err != nil {
		t.Fatalf("normalize: %v", err)
	}
	if c.Arch != "x86_64" || c.Machine != "q35" || c.Memory != "1G" || c.CPUs != 1 {
		t.Errorf("normalize: defaults %q %q %q %d, want x86_64 q35 1G 1", c.Arch, c.Machine, c.Memory, c.CPUs)
	}
	c, err = Config{Arch: "aarch64", Kernel: kernel}.normalize()
	if err != nil || c.Machine != "virt" || c.Transport != machines["virt"].transports[0] {
		t.Errorf("normalize: aarch64 machine %q, transport %q, %v; want virt, %s", c.Machine, c.Transport, err, machines["virt"].transports[0])
	}
	for _, tt := range []struct{ arch, machine, transport, want string }{
		{"x86_64", "q35", "", "pci"},
		{"x86_64", "microvm", "", "mmio"},
		{"aarch64", "virt", "pci", "pci"},
		{"aarch64", "virt", "mmio", "mmio"},
	} {
		c, err := Config{Arch: tt.arch, Machine: tt.machine, Transport: tt.transport, Kernel: kernel}.normalize()
		if err != nil || c.Transport != tt.want {
			t.Errorf("normalize(%s, %s, %q): transport %q, %v; want %q", tt.arch, tt.machine, tt.transport, c.Transport, err, tt.want)
		}
	}

	long := strings.Repeat("t", 37)
	bad := []struct {
		name string
		c    Config
		want string
	}{
		{"arch", Config{Arch: "riscv64", Kernel: kernel}, "unknown architecture"},
		{"machine of another arch", Config{Machine: "virt", Kernel: kernel}, `machine "virt"`},
		{"unknown machine", Config{Machine: "isapc", Kernel: kernel}, `machine "isapc" is not one of microvm, pc, q35`},
		{"pci on microvm", Config{Machine: "microvm", Transport: "pci", Kernel: kernel}, `transport "pci": machine microvm has mmio`},
		{"mmio on q35", Config{Machine: "q35", Transport: "mmio", Kernel: kernel}, `transport "mmio": machine q35 has pci`},
		{"unknown transport", Config{Arch: "aarch64", Transport: "ccw", Kernel: kernel}, `transport "ccw": machine virt has mmio or pci`},
		{"memory", Config{Memory: "1.5G", Kernel: kernel}, "memory size"},
		{"cpus", Config{CPUs: -1, Kernel: kernel}, "-1 CPUs"},
		{"no kernel", Config{}, "no kernel"},
		{"missing kernel", Config{Kernel: kernel + ".no"}, "no such file"},
		{"kernel a directory", Config{Kernel: dir}, "not a regular file"},
		{"missing initrd", Config{Kernel: kernel, Initrd: kernel + ".no"}, "no such file"},
		{"empty tag", Config{Kernel: kernel, Shares: []Share{{Path: dir}}}, `virtiofs tag "" is empty`},
		{"long tag", Config{Kernel: kernel, Shares: []Share{{Tag: long, Path: dir}}}, "longer than 36"},
		{"duplicate tag", Config{Kernel: kernel, Shares: []Share{{Tag: "a", Path: dir}, {Tag: "a", Path: dir}}}, `virtiofs tag "a" is given twice`},
		// Tags /init refuses, which Run once took.
		{"tag with a slash", Config{Kernel: kernel, Shares: []Share{{Tag: "a/b", Path: dir}}}, `virtiofs tag "a/b" contains '/'`},
		{"tag ..", Config{Kernel: kernel, Shares: []Share{{Tag: "..", Path: dir}}}, `virtiofs tag ".." is not a name`},
		{"missing share", Config{Kernel: kernel, Shares: []Share{{Tag: "a", Path: dir + "/no"}}}, "no such file"},
		{"share a file", Config{Kernel: kernel, Shares: []Share{{Tag: "a", Path: kernel}}}, "not a directory"},
	}
	for _, tt := range bad {
		_, err := tt.c.normalize()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: normalize = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestNormalizeRelativeShare(t *testing.T) {
	dir := t.TempDir()
	kernel := filepath.Join(dir, "vmlinuz")
	if err := os.WriteFile(kernel, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	testenv.Chdir(t, dir)
	c, err := Config{Kernel: kernel, Shares: []Share{{Tag: "here", Path: "."}}}.normalize()
	if err != nil {
		t.Fatalf("normalize: %v", err)
	}
	if got := c.Shares[0].Path; got != dir {
		t.Errorf("normalize: share path %q, want %q", got, dir)
	}
}

func TestMachineFor(t *testing.T) {
	tests := []struct{ arch, transport, want string }{
		{"x86_64", "pci", "q35"},
		{"x86_64", "mmio", "microvm"},
		{"amd64", "mmio", "microvm"},
		{"aarch64", "mmio", "virt"},
		{"aarch64", "pci", "virt"},
		{"x86_64", "ccw", ""},
		{"riscv64", "pci", ""},
	}
	for _, tt := range tests {
		if got := MachineFor(tt.arch, tt.transport); got != tt.want {
			t.Errorf("MachineFor(%s, %s) = %q, want %q", tt.arch, tt.transport, got, tt.want)
		}
	}
}

// TestRunChecksFinalLine: a command line that fits the kernel's limit
// as the caller composed it (contract.Cmdline checks that) but not with
// the words Run puts in front of it is refused before anything starts,
// not cut short by the kernel.
func TestRunChecksFinalLine(t *testing.T) {
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(kernel, []byte("not booted"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := strings.Repeat("x", 2040) // 2040 < 2047: the caller's check passes
	_, err := Run(context.Background(), Config{
		Machine: "microvm", // reboot=t, and under Icount no_timer_check and tsc_early_khz=
		Kernel:  kernel,
		Qemu:    filepath.Join(t.TempDir(), "qemu-never-started"),
		Icount:  true,
		Append:  line,
		TempDir: t.TempDir(),
	})
	if err == nil || !strings.Contains(err.Error(), "longer than the kernel takes") {
		t.Errorf("Run with a %d-byte line on microvm = %v, want the final line refused", len(line), err)
	}
}

// TestNormalizeTerminalStdin: a terminal as the serial console's input
// is refused before qemu starts, in its own process group, and stops at
// its first read (SIGTTIN).
func TestNormalizeTerminalStdin(t *testing.T) {
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(kernel, []byte("k"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := (Config{Kernel: kernel, Stdin: tty}).normalize(); err == nil || !strings.Contains(err.Error(), "terminal") {
		t.Errorf("normalize with a terminal as Stdin = %v, want it refused", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if _, err := (Config{Kernel: kernel, Stdin: r}).normalize(); err != nil {
		t.Errorf("normalize with a pipe as Stdin = %v", err)
	}
}

// TestFindQemuWithoutPath: with no PATH at all (env -i), qemu is looked
// for where distributions install it.
func TestFindQemuWithoutPath(t *testing.T) {
	want := "/usr/bin/qemu-system-x86_64"
	if _, err := os.Stat(want); err != nil {
		t.Skipf("no %s here to find: %v", want, err)
	}
	t.Setenv("PATH", "")
	if got, err := FindQemu("x86_64"); err != nil || got != want {
		t.Errorf("FindQemu with PATH empty = %q, %v; want %s", got, err, want)
	}
	t.Setenv("PATH", t.TempDir())
	if got, err := FindQemu("x86_64"); err == nil {
		t.Errorf("FindQemu with a PATH that lacks it = %q, want an error", got)
	}
}
