package vmtest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/ulikunitz/xz"

	"virtinit/tools/internal/vm"
)

// toolBinaries caches the commands of tools/cmd built for this run.
var (
	toolMu       sync.Mutex
	toolBinaries = map[string]string{}
)

// buildTool builds tools/cmd/NAME once per test run.
func buildTool(t *testing.T, p *parts, name string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	if bin, ok := toolBinaries[name]; ok {
		return bin
	}
	bin := filepath.Join(tmpRoot, "bin", name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/"+name)
	cmd.Dir = p.tools
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	toolBinaries[name] = bin
	return bin
}

// mkModules are the modules mkvirtinitrd must put in the initrd of each
// kernel for each transport, as a set: what the kernel has built in
// stays out (arm64's 6.1 has virtio and virtio_ring built in, 6.12 all
// of virtiofs and virtio-pci).
var mkModules = map[string]map[string][]string{
	"6.1": {
		"pci":  {"fuse", "virtio_ring", "virtio", "virtiofs", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci"},
		"mmio": {"fuse", "virtio_ring", "virtio", "virtiofs", "virtio_mmio"},
	},
	"6.12": {
		"pci":  nil,
		"mmio": {"virtio_mmio"},
	},
	"arm64-6.1": {
		"pci":  {"fuse", "virtiofs", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci"},
		"mmio": {"fuse", "virtiofs", "virtio_mmio"},
	},
}

// mkvirtinitrdModules reads the modules of mkvirtinitrd -v's output
// ("mkvirtinitrd: module 001-fuse.ko"), in order.
func mkvirtinitrdModules(out []byte) []string {
	var mods []string
	for _, line := range strings.Split(string(out), "\n") {
		name, ok := strings.CutPrefix(line, "mkvirtinitrd: module ")
		if !ok {
			continue
		}
		if i := strings.IndexByte(name, '-'); i >= 0 {
			name = name[i+1:]
		}
		mods = append(mods, strings.TrimSuffix(name, ".ko"))
	}
	return mods
}

// moduleOrderErrors tells how got differs from the set want, and which
// module comes before one it needs (deps: a module's dependencies).
func moduleOrderErrors(got, want []string, deps map[string][]string) []string {
	var errs []string
	if a, b := sorted(got), sorted(want); !slices.Equal(a, b) {
		errs = append(errs, fmt.Sprintf("modules %q, want the set %q", got, want))
	}
	for i, m := range got {
		for _, dep := range deps[m] {
			if j := slices.Index(got, dep); j > i {
				errs = append(errs, fmt.Sprintf("module %s comes before %s, which it needs", m, dep))
			}
		}
	}
	return errs
}

// TestMkvirtinitrd is scenario 9: mkvirtinitrd puts the modules each
// kernel needs for each transport into the initrd in load order, the
// initrd is the same byte for byte when built twice, and the default one
// boots on every kernel: on arm64 on virt with virtio-pci, the transport
// the other arm64 tests do not use.
func TestMkvirtinitrd(t *testing.T) {
	for _, name := range allKernels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, k := need(t, name)
			mk := buildTool(t, p, "mkvirtinitrd")
			dir := t.TempDir()
			variants := []struct {
				name      string
				flags     []string
				transport string   // whose modules to check
				also      []string // modules wanted besides the transport's
			}{
				{"default", nil, "pci", nil},
				{"mmio", []string{"--transport", "mmio"}, "mmio", nil},
				{"zstd-stripped", []string{"--compress", "zstd", "--strip-signatures"}, "pci", nil},
				{"gzip-both", []string{"--compress=gzip", "--transport=both"}, "", nil},
				// overlay is a module on every kernel here.
				{"overlay", []string{"--overlay"}, "pci", []string{"overlay"}},
			}
			built := map[string]string{}
			for _, vr := range variants {
				var outs [2][]byte
				for i := range outs {
					path := filepath.Join(dir, vr.name+"-"+string(rune('a'+i)))
					args := append(append([]string{"-v"}, vr.flags...), k.guest.init, k.modules, path)
					cmd := exec.Command(mk, args...)
					out, err := cmd.CombinedOutput()
					if err != nil {
						t.Fatalf("mkvirtinitrd %q: %v\n%s", args, err, out)
					}
					if i == 0 && vr.transport != "" {
						got := mkvirtinitrdModules(out)
						for _, e := range moduleOrderErrors(got, slices.Concat(mkModules[name][vr.transport], vr.also), realDepends(t, k.modules, got)) {
							t.Errorf("mkvirtinitrd %q: %s", vr.flags, e)
						}
					}
					data, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					outs[i] = data
					built[vr.name] = path
				}
				if !bytes.Equal(outs[0], outs[1]) {
					t.Errorf("mkvirtinitrd %q: two builds differ (%d and %d bytes)", vr.flags, len(outs[0]), len(outs[1]))
				}
			}

			var pl plan
			basicPlan(&pl, "rootfs", true)
			shares := []vm.Share{
				{Tag: "rootfs", Path: k.guest.rootfs, ReadOnly: true},
				{Tag: "checker", Path: checkerDir(t, k, &pl), ReadOnly: true},
			}
			c := machineConfig(k, vm.Config{
				Initrd:   built["default"],
				Append:   "mount-ro=checker init=" + checkerInit,
				Shares:   shares,
				NoReboot: true,
			})
			c.Transport = "pci"
			expectChecks(t, boot(t, c), &pl)
		})
	}
}

// TestChrootvm is scenario 8, with each virtiofsd: chrootvm boots the
// busybox root, runs a command and returns its exit status
// (cmd/chrootvm's TestBootTimeout shows that --timeout ends a program
// that is running). On arm64 it must tell the architecture from the
// kernel by itself (no --arch) and use its default transport,
// virtio-mmio. The read-only case is
// chrootvm's side of the read-only scenario: with --debug it must name
// the daemon, its dialect and read-only mode, and a program that
// remounts the root and a --mount-ro share read-write and writes to them
// must fail with the Rust daemon and, the known limit, succeed with the
// C one.
func TestChrootvm(t *testing.T) {
	const remountAndWrite = "mount -o remount,rw / && mount -o remount,rw /run/mnt/ro; " +
		"echo guest >/remounted; echo root-status=$?; echo guest >/run/mnt/ro/remounted; echo ro-status=$?"
	cases := []struct {
		name    string
		options []string
		program []string
		want    int
		output  string // printed by the program, so it ran
		kernels []string
		absent  string // a path in the root the program wrote, absent on the host after
	}{
		{"true", nil, []string{"/bin/true"}, 0, "", allKernels, ""},
		{"echo", nil, []string{"sh", "-c", "echo guest ran"}, 0, "guest ran", x86Kernels, ""},
		{"exit-3", nil, []string{"sh", "-c", "echo guest ran on $(uname -m); exit 3"}, 3, "guest ran on ", allKernels, ""},
		{"read-only", []string{"--debug"}, []string{"sh", "-c", remountAndWrite}, 0, "", x86Kernels, ""},
		// A tag with a space: valid by /init's rules, quoted on the
		// command line (contract.Cmdline), mounted at /run/mnt/a b.
		{"tag-with-space", nil, []string{"sh", "-c", `cat /run/mnt/a\ b/hello`}, 0, "hello from the host", []string{"6.12"}, ""},
		// --overlay: the root is an overlay the program writes to; the
		// host's root is not written (the full check is TestBoot's
		// overlay scenarios).
		{"overlay", []string{"--overlay=8m"}, []string{"sh", "-c",
			"echo changed >/etc/overlay-test && read l </etc/overlay-test && [ $l = changed ] &&" +
				" while read d m t r; do [ $m = / ] && echo root is $t; done </proc/mounts"},
			0, "root is overlay", []string{"6.12"}, "etc/overlay-test"},
		// A hostile program under --overlay: it remounts the overlay's
		// lower layer read-write, or mounts the root tag again, and
		// writes; ROOTFS is never written, with either daemon.
		{"overlay-lower-remount", []string{"--overlay=8m"}, []string{"sh", "-c",
			"mount -o remount,rw /run/overlay/lower; echo x >/run/overlay/lower/lower-written; echo wrote=$?"},
			0, "wrote=1", []string{"6.12"}, "lower-written"},
		{"overlay-root-tag-again", []string{"--overlay=8m"}, []string{"sh", "-c",
			"mkdir -p /tmp/m && mount -t virtiofs rootfs /tmp/m && echo x >/tmp/m/tag-written; echo wrote=$?"},
			0, "wrote=1", []string{"6.12"}, "tag-written"},
	}
	for _, name := range kernelNames {
		for _, c := range cases {
			if !slices.Contains(c.kernels, name) {
				continue
			}
			for _, dn := range daemonsOn(name) {
				t.Run(name+"/"+c.name+"/"+dn, func(t *testing.T) {
					t.Parallel()
					p, k := need(t, name)
					k = withDaemon(t, k, dn)
					bin := buildTool(t, p, "chrootvm")
					output := c.output
					if c.name == "exit-3" {
						output += k.guest.arch
					}
					rootfs, ro := k.guest.rootfs, ""
					options := c.options
					if c.name == "read-only" {
						// The C daemon lets the guest write: a root of
						// its own.
						rootfs, ro = filepath.Join(t.TempDir(), "rootfs"), t.TempDir()
						if err := makeRootfs(rootfs, k.guest.busybox, true); err != nil {
							t.Fatal(err)
						}
						options = append(slices.Clip(options), "--mount-ro", "ro", ro)
					}
					if c.name == "tag-with-space" {
						dir := t.TempDir()
						if err := os.WriteFile(filepath.Join(dir, "hello"), []byte(c.output+"\n"), 0o644); err != nil {
							t.Fatal(err)
						}
						options = append(slices.Clip(options), "--mount-ro", "a b", dir)
					}
					args := append([]string{"--kernel", k.vmlinuz, "--modules", k.modules, "--init", k.guest.init,
						"--virtiofsd", k.fsd.path}, options...)
					args = append(append(args, rootfs), c.program...)
					got, out := runChrootvm(t, bin, args)
					if got != c.want {
						t.Errorf("chrootvm %q: exit status %d, want %d\n%s", args, got, c.want, out)
					}
					if !bytes.Contains(out, []byte(output)) {
						t.Errorf("chrootvm %q: output lacks %q\n%s", args, output, out)
					}
					if c.name == "read-only" {
						checkReadOnly(t, k.fsd, out, rootfs, ro)
					}
					if c.absent != "" {
						if _, err := os.Lstat(filepath.Join(rootfs, c.absent)); err == nil {
							t.Errorf("chrootvm %q: %s exists on the host: the program wrote through", args, c.absent)
						}
					}
				})
			}
		}
	}
}

// checkReadOnly judges chrootvm's read-only case: what --debug said of
// the daemon, what the program's writes returned, and what the host's
// directories hold.
func checkReadOnly(t *testing.T, d daemon, out []byte, rootfs, ro string) {
	t.Helper()
	// The status of busybox sh's echo with a redirection: 1 when the
	// file cannot be created.
	named, status := "chrootvm: virtiofsd "+d.path+" (C dialect, read-only shares served from a read-only bind mount", "1"
	if d.rust {
		named, status = "chrootvm: virtiofsd "+d.path+" (Rust dialect, read-only shares served with --readonly", "1"
	}
	if !bytes.Contains(out, []byte(named)) {
		t.Errorf("chrootvm --debug does not say %q\n%s", named, out)
	}
	for _, s := range []string{"root-status=" + status, "ro-status=" + status} {
		if !bytes.Contains(out, []byte(s)) {
			t.Errorf("the guest's writes after remounting read-write: no %q in the output\n%s", s, out)
		}
	}
	for _, f := range []string{filepath.Join(rootfs, "remounted"), filepath.Join(ro, "remounted")} {
		got, err := os.ReadFile(f)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s on the host: %q, %v; want none: the Rust virtiofsd serves it with --readonly, the C one from a read-only bind mount", f, got, err)
		}
	}
}

// runChrootvm runs chrootvm in a boot slot without input and returns its
// exit status and output, stdout then stderr.
func runChrootvm(t *testing.T, bin string, args []string) (int, []byte) {
	t.Helper()
	r := runChrootvmIO(t, bin, args, nil)
	return r.code, append(r.stdout, r.stderr...)
}

// realDepends reads the dependencies of the named modules from the
// depends= entry of each one's .modinfo in the kernel's tree: the order
// is checked against the kernel's own facts, which change between kernel
// builds, read here without the initrd package's code.
func realDepends(t *testing.T, tree string, names []string) map[string][]string {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deps := map[string][]string{}
	// The trailing slash follows the tree's link (fetch-deps' modules).
	err := filepath.WalkDir(tree+"/", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base, _, ok := strings.Cut(d.Name(), ".ko")
		name := strings.ReplaceAll(base, "-", "_")
		if !ok || !want[name] {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(path, ".ko.xz"):
			r, err := xz.NewReader(bytes.NewReader(data))
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if data, err = io.ReadAll(r); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		case !strings.HasSuffix(path, ".ko"):
			return fmt.Errorf("%s: the test reads only .ko and .ko.xz modules", path)
		}
		f, err := elf.NewFile(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		sec := f.Section(".modinfo")
		if sec == nil {
			return fmt.Errorf("%s: no .modinfo", path)
		}
		info, err := sec.Data()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		deps[name] = nil
		for _, kv := range strings.Split(string(info), "\x00") {
			if v, ok := strings.CutPrefix(kv, "depends="); ok && v != "" {
				deps[name] = strings.Split(strings.ReplaceAll(v, "-", "_"), ",")
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("reading the modules' dependencies in %s: %v", tree, err)
	}
	for _, n := range names {
		if _, ok := deps[n]; !ok {
			t.Fatalf("module %s is not in %s", n, tree)
		}
	}
	return deps
}

// sorted is a sorted copy of s (slices.Sorted is Go 1.23's).
func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
