package vmtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/testenv"
	"virtinit/tools/internal/vm"
)

// kernelNames are the kernels of the cache tools/fetch-deps fills
// (testenv knows its layout), each the name of its subtests. x86_64's 6.1
// has virtio, fuse and virtiofs as modules, 6.12 has them built in;
// arm64's 6.1 has virtio and virtio_ring built in and the rest as modules
// (tools/fetch-deps --arch arm64).
var kernelNames = testenv.KernelNames()

// Sets of kernel names for the scenarios.
var (
	x86Kernels = []string{"6.1", "6.12"}
	allKernels = []string{"6.1", "6.12", "arm64-6.1"}
)

// bootTimeout guards every boot against a hang. A TCG boot takes 7-10 s;
// the bound is generous so a loaded machine does not fail the suite.
const bootTimeout = 120 * time.Second

// bootSlots limits the boots running at once: every TCG guest keeps a
// host core busy.
var bootSlots = make(chan struct{}, 2)

// tmpRoot holds what the tests share: the checker binary and the root
// directories. TestMain removes it.
var tmpRoot string

func TestMain(m *testing.M) {
	dir, err := testenv.TempDir()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(1)
	}
	tmpRoot = dir
	testenv.Main(m)
}

// kernel is one kernel of the cache.
type kernel struct {
	name    string // "6.1", "6.12", "arm64-6.1"
	version string // "6.1", "6.12"
	vmlinuz string
	modules string // lib/modules/KVER
	guest   *guest
	// fsd is the virtiofsd a scenario runs with (see withDaemon); the
	// zero value is vm's default choice.
	fsd daemon
}

// daemon is one of the virtiofsd implementations (testenv.FindVirtiofsd)
// the suite runs scenarios with.
type daemon struct {
	name string // "c", "rust"
	path string
	rust bool
}

// daemonsOn are the daemons that a scenario run with each daemon runs
// with on a kernel: both on x86_64, where users have the Rust one; on
// arm64 the C one only, to keep the suite short (the daemon runs on the
// host, whatever the guest's architecture).
func daemonsOn(kernel string) []string {
	if slices.Contains(x86Kernels, kernel) {
		return testenv.VirtiofsdNames()
	}
	return []string{"c"}
}

// withDaemon returns k set up to run with the virtiofsd called name, or
// ends the test with testenv.Missing when that daemon is missing or is
// not the implementation its name says.
func withDaemon(t *testing.T, k kernel, name string) kernel {
	t.Helper()
	path, err := testenv.FindVirtiofsd(name)
	if err != nil {
		testenv.Missing(t, "%v", err)
	}
	v, err := vm.FindVirtiofsd(path)
	if err != nil {
		t.Fatalf("the %s virtiofsd: %v", name, err)
	}
	if v.Rust != (name == "rust") {
		t.Fatalf("%s is not the %s virtiofsd: %s", path, name, v)
	}
	k.fsd = daemon{name: name, path: path, rust: v.Rust}
	return k
}

// guest is what the VMs of one architecture need besides a kernel.
type guest struct {
	arch      string // qemu's name: "x86_64", "aarch64"
	goarch    string
	machine   string // q35, virt
	transport string // of the virtiofs devices: pci on q35, mmio on virt (chrootvm's default there)
	console   string // ttyS0, ttyAMA0
	init      string // the /init binary
	busybox   string
	checker   string // the checker, built for arch
	rootfs    string // a busybox root
	rootNoTmp string // the same root without /tmp
}

// guests are the architectures the suite boots: every one cpuarch has,
// on its default machine with that machine's default transport.
var guests = func() []guest {
	var gs []guest
	for _, a := range cpuarch.All() {
		gs = append(gs, guest{arch: a.Name, goarch: a.GOARCH, machine: a.Machine, transport: vm.MachineTransports(a.Machine)[0], console: a.Console})
	}
	return gs
}()

// parts are the real pieces the VM tests need.
type parts struct {
	tools   string            // the tools/ module directory
	kernels map[string]kernel // by name
	missing map[string]error  // by architecture: the parts not found
}

var (
	partsOnce sync.Once
	theParts  *parts
	setupErr  error // our own setup failed: always fail
)

// need returns the parts with the kernel called name, or ends the test:
// a missing part of the kernel's architecture skips it, or fails it when
// VIRTINIT_REQUIRE_VM=1 (testenv.Missing).
func need(t *testing.T, name string) (*parts, kernel) {
	t.Helper()
	testenv.NeedVM(t)
	partsOnce.Do(func() { theParts, setupErr = findParts() })
	if setupErr != nil {
		t.Fatalf("vmtest setup: %v", setupErr)
	}
	k, ok := theParts.kernels[name]
	if !ok {
		t.Fatalf("no kernel %q in the suite", name)
	}
	if err := theParts.missing[k.guest.arch]; err != nil {
		testenv.Missing(t, "VM tests on %s need real parts:\n%v", k.guest.arch, err)
	}
	return theParts, k
}

// findParts looks for every architecture's parts and prepares those of
// each architecture that has them all: its checker and roots.
func findParts() (*parts, error) {
	repo, err := testenv.Repo()
	if err != nil {
		return nil, err
	}
	p := &parts{tools: filepath.Join(repo, "tools"), kernels: map[string]kernel{}, missing: map[string]error{}}
	var virtiofsdErr error
	if _, err := vm.FindVirtiofsd(""); err != nil {
		virtiofsdErr = fmt.Errorf("virtiofsd: %w (run tools/fetch-deps)", err)
	}

	for i := range guests {
		g := &guests[i]
		var miss []error
		if g.init, err = testenv.FindInit(g.goarch); err != nil {
			miss = append(miss, fmt.Errorf("/init binary: %w", err))
		}
		for _, name := range kernelNames {
			tk, err := testenv.FindKernel(name)
			if tk.GOARCH != g.goarch {
				continue
			}
			if err != nil {
				miss = append(miss, err)
			}
			p.kernels[name] = kernel{name: name, version: tk.Version, vmlinuz: tk.Vmlinuz, modules: tk.Modules, guest: g}
		}
		if _, err := vm.FindQemu(g.arch); err != nil {
			miss = append(miss, fmt.Errorf("qemu: %w (run %s)", err, fetchDeps(g.goarch)))
		}
		if virtiofsdErr != nil {
			miss = append(miss, virtiofsdErr)
		}
		if g.busybox, err = testenv.FindBusybox(g.goarch); err != nil {
			miss = append(miss, err)
		}
		if len(miss) > 0 {
			p.missing[g.arch] = errors.Join(miss...)
			continue
		}

		dir := filepath.Join(tmpRoot, g.goarch)
		if g.checker, err = buildChecker(filepath.Join(dir, "checker-bin"), g.goarch); err != nil {
			return nil, err
		}
		g.rootfs = filepath.Join(dir, "rootfs")
		if err := makeRootfs(g.rootfs, g.busybox, true); err != nil {
			return nil, err
		}
		g.rootNoTmp = filepath.Join(dir, "rootfs-notmp")
		if err := makeRootfs(g.rootNoTmp, g.busybox, false); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func fetchDeps(goarch string) string {
	if goarch == "amd64" {
		return "tools/fetch-deps"
	}
	return "tools/fetch-deps --arch " + goarch
}

// buildChecker builds ./checker statically for goarch into dir.
func buildChecker(dir, goarch string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(dir, "checker")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./checker")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("GOARCH=%s go build ./checker: %v\n%s", goarch, err, b)
	}
	return out, nil
}

// makeRootfs makes testenv's busybox root with bin/notexec, a script
// without execute permission. withTmp false leaves out /tmp.
func makeRootfs(dir, busybox string, withTmp bool) error {
	if err := testenv.BusyboxRoot(dir, busybox); err != nil {
		return err
	}
	if !withTmp {
		if err := os.Remove(filepath.Join(dir, "tmp")); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "bin", "notexec"), []byte("#!/bin/sh\nexit 0\n"), 0o644)
}

// buildInitrd writes an initrd for k with /init, the kernel's virtiofs
// modules for the guest's transport and extra files, uncompressed, into a
// temporary directory.
func buildInitrd(t *testing.T, k kernel, extra ...initrd.File) string {
	t.Helper()
	return buildInitrdOpts(t, k, initrd.Options{Extra: extra})
}

// buildInitrdOpts is buildInitrd with more options: o completed with k's
// /init, modules and transport.
func buildInitrdOpts(t *testing.T, k kernel, o initrd.Options) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "initrd")
	o.Init, o.ModulesDir, o.Transport = k.guest.init, k.modules, k.guest.transport
	_, err := initrd.WriteFile(path, o)
	if err != nil {
		t.Fatalf("initrd.WriteFile(%s): %v", path, err)
	}
	return path
}

// plan is what the checker is asked to check in one boot (see
// checker/main.go for the kinds).
type plan struct {
	lines [][]string // ID, KIND, ARGS...
}

func (p *plan) add(id, kind string, args ...string) {
	p.lines = append(p.lines, append([]string{id, kind}, args...))
}

// drop removes the check id.
func (p *plan) drop(id string) {
	p.lines = slices.DeleteFunc(p.lines, func(l []string) bool { return l[0] == id })
}

func (p *plan) ids() []string {
	var ids []string
	for _, l := range p.lines {
		ids = append(ids, l[0])
	}
	return ids
}

func (p *plan) String() string {
	var b strings.Builder
	for _, l := range p.lines {
		b.WriteString(strings.Join(l, "\t") + "\n")
	}
	return b.String()
}

// checkerDir makes a directory holding the checker and its plan, to be
// shared with the guest.
func checkerDir(t *testing.T, k kernel, pl *plan) string {
	t.Helper()
	dir := t.TempDir()
	data, err := os.ReadFile(k.guest.checker)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "checker"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plan"), []byte(pl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// boot runs one VM, at most two at a time, with the hang guard. It fails
// the test when the VM cannot be run at all; what the guest did is for the
// caller to judge. On failure the console and the runner's log are logged.
func boot(t *testing.T, c vm.Config) *vm.Result {
	t.Helper()
	var console, log bytes.Buffer
	c.Console = &console
	c.Log = &log
	c.Debug = true
	if c.Timeout == 0 {
		c.Timeout = bootTimeout
	}
	bootSlots <- struct{}{}
	start := time.Now()
	res, err := vm.Run(context.Background(), c)
	<-bootSlots
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kernel command line: %s", c.Append)
			t.Logf("vm log:\n%s", log.String())
			t.Logf("console:\n%s", console.String())
		}
	})
	if err != nil {
		t.Fatalf("vm.Run: %v", err)
	}
	t.Logf("boot took %.1fs (timed out: %v, exit code %d)", time.Since(start).Seconds(), res.TimedOut, res.ExitCode)
	return res
}

// checkResult is one CHECK line of the guest.
type checkResult struct {
	ok     bool
	detail string
}

var checkLine = regexp.MustCompile(`CHECK (\S+) (ok|fail)(?: (.*))?$`)

// parseChecks collects the checker's lines from the console. The lines
// are searched anywhere in a console line, in case kernel output precedes
// them; ended tells whether CHECK-END was seen. An identifier reported
// twice is a problem.
func parseChecks(out []byte) (res map[string]checkResult, ended bool, problems []string) {
	res = map[string]checkResult{}
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.Contains(line, "CHECK-END") {
			ended = true
			continue
		}
		m := checkLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if _, dup := res[m[1]]; dup {
			problems = append(problems, "check "+m[1]+" reported twice")
		}
		res[m[1]] = checkResult{ok: m[2] == "ok", detail: m[3]}
	}
	return res, ended, problems
}

// checkErrors compares the console with the plan's identifiers: every
// planned check must be reported and ok, nothing else may be reported, and
// the checker must have reached its end.
func checkErrors(out []byte, want []string) []string {
	got, ended, errs := parseChecks(out)
	planned := map[string]bool{}
	for _, id := range want {
		planned[id] = true
		r, ok := got[id]
		switch {
		case !ok:
			errs = append(errs, "check "+id+": no CHECK line on the console")
		case !r.ok:
			errs = append(errs, "check "+id+" failed: "+r.detail)
		}
	}
	for id, r := range got {
		if !planned[id] {
			errs = append(errs, fmt.Sprintf("unplanned check %s (ok=%v): %s", id, r.ok, r.detail))
		}
	}
	if !ended {
		errs = append(errs, "no CHECK-END line: the checker did not finish")
	}
	return errs
}

// expectChecks fails t for every problem checkErrors finds.
func expectChecks(t *testing.T, res *vm.Result, pl *plan) {
	t.Helper()
	if res.TimedOut {
		t.Errorf("the VM did not end within %v", bootTimeout)
	}
	if res.End != vm.EndPowerOff {
		t.Errorf("the guest ended with %q (%s), want the checker's power-off", res.End, res.Panic)
	}
	got, _, _ := parseChecks(res.Output)
	for _, id := range pl.ids() {
		if r, ok := got[id]; ok && r.ok {
			t.Logf("check %s ok: %s", id, r.detail)
		}
	}
	for _, e := range checkErrors(res.Output, pl.ids()) {
		t.Error(e)
	}
}

// initrdLine finds a line the /init binary printed ("initrd: ...") that
// holds every one of parts.
func initrdLine(out []byte, parts ...string) (string, bool) {
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimRight(line, "\r")
		i := strings.Index(line, "initrd: ")
		if i < 0 {
			continue
		}
		line = line[i:]
		all := true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return line, true
		}
	}
	return "", false
}
