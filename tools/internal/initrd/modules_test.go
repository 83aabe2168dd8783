package initrd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// virtioGraph is the shape of Debian's 6.1 virtio modules (docs/facts.md,
// "Debian's kernels").
var virtioGraph = map[string][]string{
	"kernel/fs/fuse/fuse.ko":                            nil,
	"kernel/fs/fuse/virtiofs.ko":                        {"fuse", "virtio", "virtio_ring"},
	"kernel/drivers/virtio/virtio.ko":                   {"virtio_ring"},
	"kernel/drivers/virtio/virtio_ring.ko":              nil,
	"kernel/drivers/virtio/virtio_pci_modern_dev.ko":    nil,
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko":    nil,
	"kernel/drivers/virtio/virtio_pci.ko":               {"virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio"},
	"kernel/drivers/virtio/virtio_mmio.ko":              {"virtio", "virtio_ring"},
	"kernel/drivers/block/virtio_blk.ko":                {"virtio", "virtio_ring"},
	"kernel/drivers/char/hw_random/virtio-rng.ko":       {"virtio_ring", "virtio"},
	"kernel/drivers/gpu/drm/virtio/virtio-gpu.ko":       {"virtio", "virtio_dma_buf"},
	"kernel/drivers/virtio/virtio_dma_buf.ko":           nil,
	"kernel/net/unrelated/never_wanted_module_xyz.ko":   {"does_not_exist"},
	"kernel/drivers/virtio/virtio_balloon_unrelated.ko": {"virtio"},
}

// virtioDep is modules.dep for virtioGraph as depmod writes it: transitive
// closures, dependencies in load-reverse order.
const virtioDep = `kernel/fs/fuse/fuse.ko:
kernel/fs/fuse/virtiofs.ko: kernel/fs/fuse/fuse.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci_modern_dev.ko:
kernel/drivers/virtio/virtio_pci_legacy_dev.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_pci_modern_dev.ko kernel/drivers/virtio/virtio_pci_legacy_dev.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/gpu/drm/virtio/virtio-gpu.ko: kernel/drivers/virtio/virtio_dma_buf.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/virtio/virtio_dma_buf.ko:
`

// withSuffix renames every module of a graph to the given suffix.
func withSuffix(g map[string][]string, suffix string) map[string][]string {
	out := map[string][]string{}
	for p, d := range g {
		out[strings.TrimSuffix(p, ".ko")+suffix] = d
	}
	return out
}

// withoutDepends is a graph with the same modules and no dependencies.
func withoutDepends(g map[string][]string) map[string][]string {
	out := map[string][]string{}
	for p := range g {
		out[p] = nil
	}
	return out
}

func TestResolve(t *testing.T) {
	pciOrder := []string{"fuse", "virtio_ring", "virtio", "virtiofs", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci"}
	tests := []struct {
		name        string
		tree        fakeTree
		want        []string
		order       []string
		builtin     []string
		errContains []string // non-nil: an error is expected
	}{
		{
			name:  "modinfo only",
			tree:  fakeTree{modules: virtioGraph},
			want:  []string{"virtiofs", "virtio_pci"},
			order: pciOrder,
		},
		{
			// The modules' .modinfo names no dependency: only reading
			// modules.dep gives this order.
			name:  "modules.dep",
			tree:  fakeTree{modules: withoutDepends(virtioGraph), dep: virtioDep},
			want:  []string{"virtiofs", "virtio_pci"},
			order: pciOrder,
		},
		{
			name:  "xz modules",
			tree:  fakeTree{modules: withSuffix(virtioGraph, ".ko.xz")},
			want:  []string{"virtiofs", "virtio_pci"},
			order: pciOrder,
		},
		{
			name:  "zstd modules",
			tree:  fakeTree{modules: withSuffix(virtioGraph, ".ko.zst")},
			want:  []string{"virtiofs", "virtio_pci"},
			order: pciOrder,
		},
		{
			name:  "gzip modules",
			tree:  fakeTree{modules: withSuffix(virtioGraph, ".ko.gz")},
			want:  []string{"virtiofs", "virtio_pci"},
			order: pciOrder,
		},
		{
			name:  "duplicates and hyphens",
			tree:  fakeTree{modules: virtioGraph},
			want:  []string{"virtiofs", "virtio-pci", "virtio_pci", "virtio-rng", "virtio-gpu", "virtiofs"},
			order: append(append([]string{}, pciOrder...), "virtio_rng", "virtio_dma_buf", "virtio_gpu"),
		},
		{
			name: "virtio built in (arm64 6.1)",
			tree: fakeTree{modules: virtioGraph, builtin: []string{
				"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"}},
			want:    []string{"virtiofs", "virtio_pci"},
			order:   []string{"fuse", "virtiofs", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_pci"},
			builtin: []string{"virtio", "virtio_ring"},
		},
		{
			name: "everything built in (6.12)",
			tree: fakeTree{
				modules: map[string][]string{"kernel/drivers/virtio/virtio_mmio.ko.xz": nil},
				builtin: []string{"kernel/fs/fuse/fuse.ko", "kernel/fs/fuse/virtiofs.ko", "kernel/drivers/virtio/virtio.ko",
					"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio_pci.ko"},
			},
			want:    []string{"virtiofs", "virtio_pci"},
			order:   nil,
			builtin: []string{"virtiofs", "virtio_pci"},
		},
		{
			name: "mmio module on a built-in kernel",
			tree: fakeTree{
				modules: map[string][]string{"kernel/drivers/virtio/virtio_mmio.ko.xz": {"virtio"}},
				builtin: []string{"kernel/fs/fuse/virtiofs.ko", "kernel/drivers/virtio/virtio.ko"},
			},
			want:    []string{"virtiofs", "virtio_mmio"},
			order:   []string{"virtio_mmio"},
			builtin: []string{"virtiofs", "virtio"},
		},
		{
			name: "updates/ wins",
			tree: fakeTree{modules: map[string][]string{
				"kernel/fs/fuse/fuse.ko":         {"dep_of_kernel_copy"},
				"updates/fuse.ko":                nil,
				"kernel/x/dep_of_kernel_copy.ko": nil,
			}},
			want:  []string{"fuse"},
			order: []string{"fuse"},
		},
		{
			name:        "unknown module",
			tree:        fakeTree{modules: virtioGraph},
			want:        []string{"virtiofs", "virtio_blkk"},
			errContains: []string{"virtio_blkk not found", "did you mean virtio_blk"},
		},
		{
			name:        "missing dependency",
			tree:        fakeTree{modules: virtioGraph},
			want:        []string{"never_wanted_module_xyz"},
			errContains: []string{"does_not_exist not found", "needed by never_wanted_module_xyz"},
		},
		{
			name: "cycle",
			tree: fakeTree{modules: map[string][]string{
				"a.ko": {"b"}, "b.ko": {"c"}, "c.ko": {"a"},
			}},
			want:        []string{"a"},
			errContains: []string{"cycle", "a -> b -> c -> a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.tree)
			tr, err := openTree(dir)
			if err != nil {
				t.Fatal(err)
			}
			order, builtin, err := tr.resolve(tt.want)
			if tt.errContains != nil {
				if err == nil {
					t.Fatalf("resolve(%q) = %q, want an error", tt.want, order)
				}
				for _, s := range tt.errContains {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("resolve(%q) error = %q, want it to contain %q", tt.want, err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("resolve(%q): %v", tt.want, err)
			}
			if !reflect.DeepEqual(order, tt.order) {
				t.Errorf("resolve(%q) order = %q, want %q", tt.want, order, tt.order)
			}
			if !reflect.DeepEqual(builtin, tt.builtin) {
				t.Errorf("resolve(%q) builtin = %q, want %q", tt.want, builtin, tt.builtin)
			}
			checkOrder(t, tr, order)
		})
	}
}

// checkOrder fails if a module comes before one of its dependencies that
// is in the list, or if a dependency is neither listed nor built in.
func checkOrder(t *testing.T, tr *tree, order []string) {
	t.Helper()
	pos := map[string]int{}
	for i, m := range order {
		pos[m] = i
	}
	for i, m := range order {
		deps, err := tr.dependencies(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range deps {
			j, ok := pos[d]
			switch {
			case !ok && !tr.builtin[d]:
				t.Errorf("order %q: %s needs %s, which is neither in it nor built in", order, m, d)
			case ok && j > i:
				t.Errorf("order %q: %s (#%d) comes before its dependency %s (#%d)", order, m, i, d, j)
			}
		}
	}
}

func TestModuleName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"kernel/fs/fuse/virtiofs.ko", "virtiofs"},
		{"virtio-rng.ko.xz", "virtio_rng"},
		{"/lib/modules/6.1/kernel/a-b-c.ko.zst", "a_b_c"},
		{"x.ko.gz", "x"},
		{"virtio_pci", "virtio_pci"},
		{"virtio-pci", "virtio_pci"},
	}
	for _, tt := range tests {
		if got := moduleName(tt.in); got != tt.want {
			t.Errorf("moduleName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestModulesDepAbsolutePaths(t *testing.T) {
	// Old depmod wrote absolute paths; the tree's own base name anchors them.
	dir := writeTree(t, fakeTree{
		modules: map[string][]string{"kernel/a.ko": nil, "kernel/b.ko": nil},
		dep:     "/lib/modules/6.6.6-test/kernel/b.ko: /lib/modules/6.6.6-test/kernel/a.ko\n/lib/modules/6.6.6-test/kernel/a.ko:\n",
	})
	tr, err := openTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	order, _, err := tr.resolve([]string{"b"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b"}; !reflect.DeepEqual(order, want) {
		t.Errorf("resolve(b) = %q, want %q", order, want)
	}
}

func TestModuleAvailable(t *testing.T) {
	dir := writeTree(t, fakeTree{
		modules: map[string][]string{"kernel/drivers/virtio/virtio_mmio.ko.xz": nil, "kernel/x/virtio-rng.ko": nil},
		builtin: []string{"kernel/fs/fuse/virtiofs.ko", "kernel/drivers/virtio/virtio_pci.ko"},
	})
	tests := []struct {
		name              string
		builtin, loadable bool
	}{
		{"virtio_mmio", false, true},
		{"virtiofs", true, false},
		{"virtio_pci", true, false},
		{"virtio-rng", false, true},
		{"virtio_rng", false, true},
		{"nothing", false, false},
	}
	for _, tt := range tests {
		b, l, err := ModuleAvailable(dir, tt.name)
		if err != nil {
			t.Fatalf("ModuleAvailable(%q): %v", tt.name, err)
		}
		if b != tt.builtin || l != tt.loadable {
			t.Errorf("ModuleAvailable(%q) = %v, %v, want %v, %v", tt.name, b, l, tt.builtin, tt.loadable)
		}
	}
	if _, _, err := ModuleAvailable(filepath.Join(dir, "missing"), "x"); err == nil {
		t.Errorf("ModuleAvailable(missing dir) gave no error")
	}
}

// TestTreeFromIndexes: with a modules.dep that names every module by a
// path in the tree, the tree is not walked, so a module file depmod did not
// list is not found, as modprobe would not find it; a modules.dep with a
// path from elsewhere leaves the walk to find the files, its own paths
// still winning. Without a modules.dep, modules.order names the modules,
// by .ko paths whose files may be compressed.
func TestTreeFromIndexes(t *testing.T) {
	mods := map[string][]string{
		"kernel/a.ko":          nil,
		"kernel/b.ko":          {"a"},
		"kernel/unlisted.ko":   nil,
		"updates/b.ko":         {"a"},
		"kernel/extra/x.ko.xz": nil,
	}
	tests := []struct {
		name     string
		dep      string
		order    string
		loadable map[string]bool
		bPath    string
	}{
		{
			name:     "modules.order",
			order:    "kernel/a.ko\nkernel/b.ko\nkernel/extra/x.ko\nkernel/gone.ko\n",
			loadable: map[string]bool{"a": true, "b": true, "x": true, "unlisted": false, "gone": false},
			bPath:    "kernel/b.ko",
		},
		{
			name:     "modules.dep before modules.order",
			dep:      "kernel/a.ko:\nupdates/b.ko: kernel/a.ko\n",
			order:    "kernel/a.ko\nkernel/b.ko\nkernel/extra/x.ko\n",
			loadable: map[string]bool{"a": true, "b": true, "x": false},
			bPath:    "updates/b.ko",
		},
		{
			name:     "complete",
			dep:      "kernel/a.ko:\nkernel/b.ko: kernel/a.ko\nkernel/extra/x.ko.xz:\n",
			loadable: map[string]bool{"a": true, "b": true, "x": true, "unlisted": false},
			bPath:    "kernel/b.ko",
		},
		{
			name:     "a path from another tree",
			dep:      "kernel/a.ko:\nkernel/b.ko: kernel/a.ko\n/elsewhere/x.ko.xz:\n",
			loadable: map[string]bool{"a": true, "b": true, "x": true, "unlisted": true},
			bPath:    "kernel/b.ko",
		},
		{
			name:     "none",
			loadable: map[string]bool{"a": true, "b": true, "x": true, "unlisted": true},
			bPath:    "updates/b.ko",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, fakeTree{modules: mods, dep: tt.dep})
			if tt.order != "" {
				if err := os.WriteFile(filepath.Join(dir, "modules.order"), []byte(tt.order), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tr, err := ReadTree(dir)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.loadable {
				if _, got := tr.Available(name); got != want {
					t.Errorf("Available(%q) loadable = %v, want %v", name, got, want)
				}
			}
			if got, _ := tr.t.file("b"); got != tt.bPath {
				t.Errorf("b's path = %q, want %q", got, tt.bPath)
			}
		})
	}
}

// TestTreeAbsoluteDep: modules.dep's absolute paths are cut after the
// kernel's release, also when the tree is reached through a link named
// modules (the cache's kernels/V/modules), and a path that climbs out of
// the tree is not taken.
func TestTreeAbsoluteDep(t *testing.T) {
	dir := writeTree(t, fakeTree{
		modules: map[string][]string{"kernel/a.ko": nil, "kernel/b.ko": {"a"}},
		dep:     "/lib/modules/6.6.6-test/kernel/a.ko:\n/lib/modules/6.6.6-test/kernel/b.ko: /lib/modules/6.6.6-test/kernel/a.ko\n",
	})
	link := filepath.Join(t.TempDir(), "modules")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadTree(link)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tr.t.file("b"); got != "kernel/b.ko" || !ok {
		t.Errorf("b through a link: %q, %v; want kernel/b.ko", got, ok)
	}
	if _, err := tr.t.read("b"); err != nil {
		t.Errorf("read b through a link: %v", err)
	}
	evil := writeTree(t, fakeTree{
		modules: map[string][]string{"kernel/a.ko": nil},
		dep:     "kernel/a.ko:\n../../outside/x.ko:\n",
	})
	tr, err = ReadTree(evil)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := tr.t.file("x"); ok {
		t.Errorf("a path out of the tree was taken: %q", got)
	}
}

func TestKernelRelease(t *testing.T) {
	dir := writeTree(t, fakeTree{})
	link := filepath.Join(t.TempDir(), "modules")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{dir, dir + "/", link} {
		if got := KernelRelease(in); got != "6.6.6-test" {
			t.Errorf("KernelRelease(%q) = %q, want %q", in, got, "6.6.6-test")
		}
	}
}

func TestNearNames(t *testing.T) {
	all := []string{"virtio_blk", "virtio_net", "virtio_pci", "virtiofs", "fuse", "ext4", "vfat"}
	tests := []struct {
		name string
		want []string
	}{
		{"virtio_blkk", []string{"virtio_blk"}},
		{"virtio", []string{"virtiofs", "virtio_blk", "virtio_net"}},
		{"virtio-fs", []string{"virtiofs"}},
		{"fusee", []string{"fuse"}},
		{"zzzzzzzzzz", nil},
	}
	for _, tt := range tests {
		got := nearNames(tt.name, all, 3)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("nearNames(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestBuildFromReadTree: a tree read once (ReadTree) serves Available
// and Build without being walked again: a module added to the directory
// afterwards is not in it.
func TestBuildFromReadTree(t *testing.T) {
	dir := writeTree(t, fakeTree{modules: withSuffix(virtioGraph, ".ko")})
	tr, err := ReadTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, loadable := tr.Available("virtio_mmio"); !loadable || tr.Dir() != dir {
		t.Fatalf("ReadTree(%s): virtio_mmio loadable %v, Dir %s", dir, loadable, tr.Dir())
	}
	if err := os.WriteFile(filepath.Join(dir, "late.ko"), fakeModule("late"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	o := Options{Init: writeInit(t, "#!init"), Tree: tr, Modules: []string{"late"}}
	if _, err := Build(&b, o); !errors.Is(err, ErrNoModule) {
		t.Errorf("Build with the tree read before late.ko came = %v, want ErrNoModule", err)
	}
	o.Modules = nil
	if rep, err := Build(&b, o); err != nil || len(rep.Modules) == 0 {
		t.Errorf("Build with a read tree = %+v, %v; want its modules", rep, err)
	}
}
