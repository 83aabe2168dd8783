package vmtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// checkerInit is where the checker is when its share is mounted with
// mount-ro=checker.
const checkerInit = "/run/mnt/checker/checker"

// apiMounts are the mounts /init must hand to the program, with per-mount
// options they must have and must not have. /dev and /dev/pts hold device
// nodes, so nodev there would break them.
var apiMounts = []struct {
	dir, fstype, have, not string
}{
	{"/sys", "sysfs", "nosuid,nodev,noexec", "ro"},
	{"/dev", "devtmpfs", "nosuid", "ro,nodev"},
	{"/proc", "proc", "nosuid,nodev,noexec", "ro"},
	{"/run", "tmpfs", "nosuid,nodev", "ro"},
	{"/tmp", "tmpfs", "nosuid,nodev", "ro"},
	{"/dev/pts", "devpts", "nosuid,noexec", "ro,nodev"},
	{"/dev/shm", "tmpfs", "nosuid,nodev", "ro"},
	{"/sys/fs/cgroup", "cgroup2", "nosuid,nodev,noexec", "ro"},
}

// devNodes are the character devices a build in the VM needs.
// The modes are what udev would give them; devtmpfs alone gives /dev/fuse
// 0600 where fuse is built in (6.12), which locks non-root users out.
var devNodes = []struct{ path, major, minor, mode string }{
	{"/dev/console", "5", "1", "600"},
	{"/dev/null", "1", "3", "666"},
	{"/dev/ptmx", "5", "2", "666"},
	{"/dev/kvm", "10", "232", "666"},
	{"/dev/loop-control", "10", "237", "660"},
	{"/dev/fuse", "10", "229", "666"},
}

var devLinks = []struct{ path, target string }{
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
}

// basicPlan adds scenario 1's checks: the root tag is / and read-only, the
// API filesystems, device nodes and links are there, the checker is PID 1
// in / with fds 0-2 open and a PATH, and busybox runs from the root.
// Without tmp, /tmp must be neither mounted nor present.
func basicPlan(pl *plan, rootTag string, withTmp bool) {
	pl.add("pid1", "pid1")
	pl.add("root", "mount", "/", "virtiofs", "ro", "-", rootTag)
	pl.add("root-erofs", "erofs", "/checker-was-here")
	apiPlan(pl, withTmp)
}

// apiPlan adds the checks of basicPlan that do not depend on the root or
// on being PID 1: the working directory, fds, PATH, the API mounts,
// device nodes and links, the checker's share and a shell from the root.
func apiPlan(pl *plan, withTmp bool) {
	pl.add("cwd", "cwd", "/")
	pl.add("fds", "fds")
	pl.add("path", "envset", "PATH")
	for _, m := range apiMounts {
		if m.dir == "/tmp" && !withTmp {
			pl.add("tmp-notmounted", "notmounted", "/tmp")
			pl.add("tmp-absent", "absent", "/tmp")
			continue
		}
		pl.add("mount:"+m.dir, "mount", m.dir, m.fstype, m.have, m.not)
	}
	for _, d := range devNodes {
		pl.add("dev:"+d.path, "chardev", d.path, d.major, d.minor, d.mode)
	}
	for _, l := range devLinks {
		pl.add("link:"+l.path, "symlink", l.path, l.target)
	}
	for _, p := range []string{"/dev/null", "/dev/ptmx", "/dev/fuse"} {
		pl.add("open:"+p, "open", p)
	}
	writable := []string{"/run", "/dev/shm"}
	if withTmp {
		writable = append(writable, "/tmp")
	}
	for _, d := range writable {
		pl.add("writable:"+d, "writable", d)
	}
	pl.add("checker-share", "mount", "/run/mnt/checker", "virtiofs", "ro", "-", "checker")
	// /init brings lo up on every boot: IFF_UP in its flags.
	pl.add("lo-up", "run", "/bin/sh", "-c", "read f </sys/class/net/lo/flags && [ $((f & 1)) = 1 ]")
	pl.add("shell", "run", "/bin/sh", "-c", "echo shell >/dev/stdout && ls /dev/fd/ >/dev/null")
}

// standardBoot is the shape of most /init scenarios: the guest's machine
// (q35, virt), the busybox root as tag rootfs, the checker on its own
// read-only share, panic=-1 so that a dying PID 1 ends the VM instead of
// hanging it.
func standardBoot(t *testing.T, k kernel, initrdPath, rootfs string, pl *plan, cmdline string, shares ...vm.Share) *vm.Result {
	t.Helper()
	shares = append([]vm.Share{
		{Tag: "rootfs", Path: rootfs, ReadOnly: true},
		{Tag: "checker", Path: checkerDir(t, k, pl), ReadOnly: true},
	}, shares...)
	return boot(t, machineConfig(k, vm.Config{
		Initrd:   initrdPath,
		Append:   cmdline,
		Shares:   shares,
		NoReboot: true,
	}))
}

// machineConfig completes c for the kernel k: the kernel, the machine
// and transport of its architecture, the virtiofsd chosen for k, and the
// console and panic=-1 in front of the command line. The boot is tuned
// as chrootvm tunes it (vm.Config.Tune): /init must behave the same on a
// kernel without crypto self-tests, read-only kernel data or HPET, and
// the suite is faster so. osbuild's scenario is not tuned: it boots as
// osbuild does.
func machineConfig(k kernel, c vm.Config) vm.Config {
	c.Tune = true
	c.Arch = k.guest.arch
	c.Machine = k.guest.machine
	c.Transport = k.guest.transport
	c.Kernel = k.vmlinuz
	c = withPrograms(c, k.fsd.path)
	line, err := contract.Cmdline{Console: k.guest.console, Extra: []string{"panic=-1"}, Append: []string{c.Append}}.String()
	if err != nil {
		panic(err) // only a line over the kernel's limit fails: a defect of the scenario
	}
	c.Append = line
	return c
}

// withPrograms finds qemu and, for shares, the virtiofsd called fsd for
// c, as every caller of vm.Run does. The scenario's setup found them
// before, so an error here is a part removed since: a defect of the run.
func withPrograms(c vm.Config, fsd string) vm.Config {
	if err := c.FindPrograms(fsd); err != nil {
		panic(err)
	}
	return c
}

// TestBoot boots the /init binary on every kernel in the scenarios of
// the test issue, each checked from inside the guest. arm64 runs the
// basic, mount, argument and environment, initramfs and failure
// scenarios.
func TestBoot(t *testing.T) {
	type scenario struct {
		name    string
		run     func(*testing.T, kernel)
		kernels []string
		// eachDaemon: it runs with each virtiofsd of daemonsOn, each a
		// subtest of its own; otherwise with vm's default only.
		eachDaemon bool
	}
	scenarios := []scenario{
		{"basic-and-shares", testBasic, allKernels, true},
		{"cmdline-and-modparam", testCmdline, allKernels, true},
		{"initramfs-freed", testFreed, allKernels, true},
		// No shares: no virtiofsd.
		{"initramfs-freed-control", testFreedControl, allKernels, false},
		{"osbuild", testOsbuild, x86Kernels, true},
		{"no-tmp", testNoTmp, allKernels, true},
		{"corrupt-module", testCorruptModule, []string{"6.1"}, true},
		// rd.overlay under both ways of running the program.
		{"overlay", func(t *testing.T, k kernel) { testOverlay(t, k, false) }, []string{"6.1", "arm64-6.1"}, true},
		{"overlay-supervised", func(t *testing.T, k kernel) { testOverlay(t, k, true) }, []string{"6.12"}, true},
	}
	for _, f := range failures {
		scenarios = append(scenarios, scenario{f.name, func(t *testing.T, k kernel) { testFailure(t, k, f) }, allKernels, true})
	}
	for _, name := range kernelNames {
		for _, s := range scenarios {
			if !slices.Contains(s.kernels, name) {
				continue
			}
			if !s.eachDaemon {
				t.Run(name+"/"+s.name, func(t *testing.T) {
					t.Parallel()
					_, k := need(t, name)
					s.run(t, k)
				})
				continue
			}
			for _, d := range daemonsOn(name) {
				t.Run(name+"/"+s.name+"/"+d, func(t *testing.T) {
					t.Parallel()
					_, k := need(t, name)
					s.run(t, withDaemon(t, k, d))
				})
			}
		}
	}
}

// testBasic is scenarios 1 and 2 and the read-only scenario, with the
// daemon of k: the basic shape of the guest, a mount= tag the guest
// writes to and the host reads, a mount-ro= tag where a write fails with
// EROFS, a read-write share whose file the host rewrites while the guest
// runs (the guest must read the new content, not what it read before),
// and last, the root and the mount-ro= tag remounted read-write, then
// written to. The Rust daemon serves them with --readonly, the C one
// from a read-only bind mount (vm's readOnlyBind): both writes fail
// (EROFS) and the host's directories stay as they were. The root is a
// copy of its own, should a daemon let the guest write to it.
func testBasic(t *testing.T, k kernel) {
	rootfs := filepath.Join(t.TempDir(), "rootfs")
	if err := makeRootfs(rootfs, k.guest.busybox, true); err != nil {
		t.Fatal(err)
	}
	rw, ro := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "present"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A guest that kept its cached size and pages would read before, or
	// a part of after.
	const before, after = "old content", "new content, longer"
	if err := os.WriteFile(filepath.Join(rw, "fresh"), []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	const written = "written by the guest"
	var pl plan
	basicPlan(&pl, "rootfs", true)
	pl.add("rw-mount", "mount", "/run/mnt/rw", "virtiofs", "-", "ro", "rw")
	pl.add("rw-write", "write", "/run/mnt/rw/hello", written)
	pl.add("ro-mount", "mount", "/run/mnt/ro", "virtiofs", "ro", "-", "ro")
	pl.add("ro-read", "file", "/run/mnt/ro/present", "from the host")
	pl.add("ro-erofs", "erofs", "/run/mnt/ro/new")
	pl.add("rw-fresh", "reread", "/run/mnt/rw/fresh", before, "/run/mnt/rw/ready", "/run/mnt/rw/rewritten", after)
	pl.add("root-remount-rw", "remount-rw", "/")
	pl.add("ro-remount-rw", "remount-rw", "/run/mnt/ro")
	pl.add("root-remounted-erofs", "erofs", "/remounted")
	pl.add("ro-remounted-erofs", "erofs", "/run/mnt/ro/remounted")

	// The host's side of rw-fresh: when the guest asks, rewrite fresh in
	// place (the same inode) and answer.
	stop := make(chan struct{})
	rewrote := make(chan error, 1)
	go func() { rewrote <- rewriteWhenAsked(rw, after, stop) }()
	res := standardBoot(t, k, buildInitrd(t, k), rootfs, &pl,
		"rootfs=rootfs mount=rw mount-ro=ro mount-ro=checker init="+checkerInit,
		vm.Share{Tag: "rw", Path: rw},
		vm.Share{Tag: "ro", Path: ro, ReadOnly: true})
	close(stop)
	if err := <-rewrote; err != nil {
		t.Errorf("rewriting rw/fresh: %v", err)
	}
	expectChecks(t, res, &pl)

	got, err := os.ReadFile(filepath.Join(rw, "hello"))
	if err != nil || string(got) != written {
		t.Errorf("host reads rw/hello = %q, %v; want %q", got, err, written)
	}
	if _, err := os.Stat(filepath.Join(ro, "new")); err == nil {
		t.Errorf("ro/new exists on the host: the read-only share was written")
	}
	for _, f := range []string{filepath.Join(rootfs, "remounted"), filepath.Join(ro, "remounted")} {
		if got, err := os.ReadFile(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s on the host: %q, %v; want none: the Rust virtiofsd serves it with --readonly, the C one from a read-only bind mount", f, got, err)
		}
	}
}

// rewriteWhenAsked waits for the file "ready" in dir, then rewrites
// dir/fresh with content in place and creates dir/rewritten. It gives up
// when stop is closed (the boot ended).
func rewriteWhenAsked(dir, content string, stop <-chan struct{}) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
		select {
		case <-stop:
			return errors.New("the guest never asked (no rw/ready)")
		case <-tick.C:
		}
	}
	f, err := os.OpenFile(filepath.Join(dir, "fresh"), os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "rewritten"), nil, 0o644)
}

// testCmdline is scenarios 3 and 5: words after -- are the program's
// arguments, unknown key=value words its environment (a quoted value with
// spaces whole), a PATH from the kernel is kept and an init= without a
// slash is looked up in it, and fuse.max_user_bgreq reaches the fuse
// module (loaded by /init on 6.1, built in on 6.12). That PATH is set
// when the kernel gives none is checked by basicPlan. With rd.debug, the
// debug lines cover the API mounts made before the command line is read.
func testCmdline(t *testing.T, k kernel) {
	var pl plan
	pl.add("pid1", "pid1")
	pl.add("argv", "argv", "checker", "first", "second arg", "x=a b", "--", "last")
	pl.add("env-plain", "env", "plain=1")
	pl.add("env-quoted", "env", "greeting=hello world")
	pl.add("env-path", "env", "PATH=/run/mnt/checker:/bin")
	pl.add("fuse-param", "file", "/sys/module/fuse/parameters/max_user_bgreq", "77")
	pl.add("fuse-param2", "file", "/sys/module/fuse/parameters/max_user_congthresh", "55")

	res := standardBoot(t, k, buildInitrd(t, k), k.guest.rootfs, &pl,
		`mount-ro=checker init=checker PATH=/run/mnt/checker:/bin plain=1 greeting="hello world" fuse.max_user_bgreq=77 fuse.max-user-congthresh=55`+
			` rd.debug -- first "second arg" x="a b" -- last`)
	expectChecks(t, res, &pl)

	steps := regexp.MustCompile(`(?m)^initrd: debug [0-9.]+ \S+ (\S+) (\S+)`).FindAllStringSubmatch(string(res.Output), -1)
	mounted := map[string]bool{}
	for i, s := range steps {
		if i == 0 && s[1] != "start" {
			t.Errorf("first debug line is %q, want the start", s[0])
		}
		if s[1] == "mount" {
			mounted[s[2]] = true
		}
	}
	for _, dir := range []string{"/sys", "/dev", "/proc", "/run", "/tmp", "/dev/pts", "/dev/shm", "/sys/fs/cgroup"} {
		if !mounted[dir] {
			t.Errorf("no debug line for the API mount %s; debug steps: %q", dir, steps)
		}
	}
}

// testFreed is scenario 4: with 48 MB of padding in the initrd and no
// root= on the command line the kernel unpacks the initramfs into tmpfs,
// where whatever /init leaves behind counts as Shmem.
func testFreed(t *testing.T, k kernel) {
	var pl plan
	pl.add("pid1", "pid1")
	pl.add("shmem", "meminfo-max", "Shmem", "4096")

	res := standardBoot(t, k, buildInitrd(t, k, padding()), k.guest.rootfs, &pl, "rootfs=rootfs mount-ro=checker init="+checkerInit)
	expectChecks(t, res, &pl)
}

// paddingSize is the padding of scenario 4: tens of MB, far above the
// Shmem bound.
const paddingSize = 48 << 20

func padding() initrd.File {
	return initrd.File{Name: "padding", Mode: 0o100644, Data: bytes.Repeat([]byte{0xa5}, paddingSize)}
}

// testFreedControl shows that scenario 4 can fail: the same padded
// initrd, with the checker itself as the initramfs's init (rdinit=), so
// nothing is deleted, must show the padding as Shmem.
func testFreedControl(t *testing.T, k kernel) {
	var pl plan
	pl.add("pid1", "pid1")
	pl.add("proc", "mountfs", "proc", "proc", "/proc")
	pl.add("shmem", "meminfo-min", "Shmem", fmt.Sprint(paddingSize>>10-1024))
	data, err := os.ReadFile(k.guest.checker)
	if err != nil {
		t.Fatal(err)
	}
	path := buildInitrd(t, k, padding(),
		initrd.File{Name: "checker", Mode: 0o100755, Data: data},
		initrd.File{Name: "plan", Mode: 0o100644, Data: []byte(pl.String())})
	res := boot(t, machineConfig(k, vm.Config{
		Initrd:   path,
		Append:   "rdinit=/checker",
		NoReboot: true,
	}))
	expectChecks(t, res, &pl)
}

// osbuildTags are the shares osbuild gives its build VM.
var osbuildTags = []string{"rootfs", "mnt0", "libdir", "containers", "store"}

// osbuildCmdline is the command line osbuild gives its build VM
// (docs/facts.md, "osbuild's build VM"), the checker in the place of osbuild's vm.py.
func osbuildCmdline(k kernel) string {
	line, err := contract.Cmdline{
		Console: k.guest.console,
		Extra:   contract.OsbuildWords(),
		Mounts:  []contract.Mount{{Tag: "mnt0"}},
		Init:    "/run/mnt/mnt0/checker",
	}.String()
	if err != nil {
		panic(err)
	}
	return line
}

// testOsbuild is scenario 6 (x86_64), with each virtiofsd (osbuild starts
// the Rust one): the machine and command line osbuild uses,
// with no panic= and no -no-reboot (the checker powers off), five shares,
// a virtio-serial port, the checker as the program on mnt0. Like osbuild's
// program, the checker mounts the store tag itself and writes to it.
func testOsbuild(t *testing.T, k kernel) {
	const written = "stored by the guest"
	var pl plan
	basicPlan(&pl, "rootfs", true)
	// The checker-share check of basicPlan is about mount-ro=checker;
	// here the program's tag is mnt0, given with mount= (read-write).
	pl.lines = removeID(pl.lines, "checker-share")
	pl.add("mnt0", "mount", "/run/mnt/mnt0", "virtiofs", "-", "ro", "mnt0")
	pl.add("argv", "argv", "checker")
	pl.add("store-mount", "mountfs", "virtiofs", "store", "/run/osbuild/store")
	pl.add("store-write", "write", "/run/osbuild/store/hello", written)
	if k.version != "6.1" { // /sys/fs/virtiofs is new in 6.9
		pl.add("tags", "virtiofs-tags", osbuildTags...)
	}
	store := t.TempDir()
	shares := []vm.Share{
		{Tag: "rootfs", Path: k.guest.rootfs, ReadOnly: true},
		{Tag: "mnt0", Path: checkerDir(t, k, &pl), ReadOnly: true},
		{Tag: "libdir", Path: t.TempDir(), ReadOnly: true},
		{Tag: "containers", Path: t.TempDir(), ReadOnly: true},
		{Tag: "store", Path: store},
	}
	res := boot(t, withPrograms(vm.Config{
		Machine: "q35",
		CPUs:    1,
		Kernel:  k.vmlinuz,
		Initrd:  buildInitrd(t, k),
		Append:  osbuildCmdline(k),
		Shares:  shares,
		ExtraArgs: []string{
			"-device", "virtio-serial-pci,id=virtio-serial0",
			"-chardev", "null,id=ipc",
			"-device", "virtserialport,bus=virtio-serial0.0,chardev=ipc,name=ipc.0",
		},
		NoReboot: false,
	}, k.fsd.path))
	expectChecks(t, res, &pl)
	got, err := os.ReadFile(filepath.Join(store, "hello"))
	if err != nil || string(got) != written {
		t.Errorf("host reads store/hello = %q, %v; want %q", got, err, written)
	}
}

func removeID(lines [][]string, id string) [][]string {
	var out [][]string
	for _, l := range lines {
		if l[0] != id {
			out = append(out, l)
		}
	}
	return out
}

// testNoTmp is half of scenario 7: a root without /tmp boots, /init says
// it unmounts /tmp, and the program finds no /tmp.
func testNoTmp(t *testing.T, k kernel) {
	var pl plan
	basicPlan(&pl, "rootfs", false)
	res := standardBoot(t, k, buildInitrd(t, k), k.guest.rootNoTmp, &pl, "mount-ro=checker init="+checkerInit)
	expectChecks(t, res, &pl)
	line, ok := initrdLine(res.Output, "/tmp")
	if !ok {
		t.Errorf("no initrd: line about /tmp missing in the new root")
	}
	t.Logf("console: %s", line)
}

// testCorruptModule is half of scenario 7 (6.1): a module file the kernel
// refuses is reported by name and the boot goes on.
func testCorruptModule(t *testing.T, k kernel) {
	garbage := append([]byte("\x7fELF"), bytes.Repeat([]byte("not a kernel module "), 100)...)
	var pl plan
	basicPlan(&pl, "rootfs", true)
	path := buildInitrd(t, k, initrd.File{Name: initrd.ModulesPath + "/999-corrupt.ko", Mode: 0o100644, Data: garbage})
	res := standardBoot(t, k, path, k.guest.rootfs, &pl, "mount-ro=checker init="+checkerInit)
	expectChecks(t, res, &pl)
	line, ok := initrdLine(res.Output, "corrupt")
	if !ok {
		t.Errorf("no initrd: line naming the corrupt module")
	}
	t.Logf("console: %s", line)
	expectOnce(t, res.Output, line)
}

// expectOnce fails t unless an initrd: line appears once on the console:
// not again as the kernel's echo of its copy in the kernel log.
func expectOnce(t *testing.T, out []byte, line string) {
	t.Helper()
	if n := bytes.Count(out, []byte(line)); line != "" && n != 1 {
		t.Errorf("%q appears %d times on the console, want once", line, n)
	}
}

// failure is a boot /init cannot complete: it must print a line naming
// the cause and end the VM as rd.emergency says.
type failure struct {
	name    string
	cmdline string
	want    []string // substrings of one `initrd:` line
	want612 []string // more, on 6.12 (which lists the known tags)
	action  string   // the rd.emergency action line
	end     vm.End   // how the kernel ends the VM
}

var failures = []failure{
	{
		name:    "unknown-root-tag",
		cmdline: "rootfs=nosuch rd.timeout=3 init=/bin/sh",
		want:    []string{`virtiofs tag "nosuch" not found`},
		want612: []string{`"rootfs"`},
		action:  "initrd: powering off (rd.emergency=poweroff)",
		end:     vm.EndPowerOff,
	},
	{
		name:    "invalid-mount-tag",
		cmdline: "mount=a/b init=/bin/sh",
		want:    []string{"mount=a/b", `"a/b"`},
		action:  "initrd: powering off (rd.emergency=poweroff)",
		end:     vm.EndPowerOff,
	},
	{
		name:    "unknown-mount-tag",
		cmdline: "mount=nosuch rd.timeout=3 rd.emergency=reboot init=/bin/sh",
		want:    []string{`virtiofs tag "nosuch" not found`},
		want612: []string{`"rootfs"`},
		action:  "initrd: rebooting (rd.emergency=reboot)",
		end:     vm.EndReboot,
	},
	{
		name:    "missing-init",
		cmdline: "init=/bin/missing",
		want:    []string{"/bin/missing", "no such file or directory"},
		action:  "initrd: powering off (rd.emergency=poweroff)",
		end:     vm.EndPowerOff,
	},
	{
		// rd.overlay with an initrd without the overlay module (a
		// module on every kernel here).
		name:    "overlay-no-module",
		cmdline: "rd.overlay init=/bin/sh",
		want:    []string{"mount overlay on /sysroot: no such device", "add its module to the initrd (mkvirtinitrd --overlay)"},
		action:  "initrd: powering off (rd.emergency=poweroff)",
		end:     vm.EndPowerOff,
	},
	{
		name:    "init-not-executable",
		cmdline: "init=/bin/notexec",
		want:    []string{"/bin/notexec", "permission denied"},
		action:  "initrd: powering off (rd.emergency=poweroff)",
		end:     vm.EndPowerOff,
	},
}

// testFailure is the rest of scenario 7: the VM ends (before the hang
// guard), with the cause on the console and without a kernel panic.
func testFailure(t *testing.T, k kernel, f failure) {
	res := boot(t, machineConfig(k, vm.Config{
		Initrd:   buildInitrd(t, k),
		Append:   f.cmdline,
		Shares:   []vm.Share{{Tag: "rootfs", Path: k.guest.rootfs, ReadOnly: true}},
		NoReboot: true,
	}))
	if res.TimedOut {
		t.Errorf("the VM did not end within %v", bootTimeout)
	}
	want := f.want
	if k.version != "6.1" {
		want = slices.Concat(f.want, f.want612)
	}
	line, ok := initrdLine(res.Output, want...)
	if !ok {
		t.Errorf("no initrd: line holding all of %q", want)
	}
	t.Logf("console: %s", line)
	expectOnce(t, res.Output, line)
	if !bytes.Contains(res.Output, []byte(f.action)) {
		t.Errorf("no %q line", f.action)
	}
	if res.End != f.end {
		t.Errorf("the guest ended with %q (%s), want %q", res.End, res.Panic, f.end)
	}
	if strings.Contains(string(res.Output), "CHECK") {
		t.Errorf("a program ran after a fatal error")
	}
}
