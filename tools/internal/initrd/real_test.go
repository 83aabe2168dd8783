package initrd

import (
	"bytes"
	"debug/elf"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"virtinit/tools/internal/testenv"
)

// realTree returns one cached kernel's module tree, or ends the test
// with testenv.Missing.
func realTree(t *testing.T, name string) string {
	t.Helper()
	return testenv.NeedKernel(t, name).Modules
}

// TestRealKernel61 builds against Debian's 6.1 tree, where virtio, fuse and
// virtiofs are modules and there is no modules.dep (dpkg -x runs no depmod),
// so every dependency comes from .modinfo.
func TestRealKernel61(t *testing.T) {
	dir := realTree(t, "6.1")
	init := writeInit(t, "init")
	var archives [][]byte
	for _, strip := range []bool{false, true} {
		archive, rep := build(t, Options{Init: init, ModulesDir: dir, StripSignatures: strip})

		var names []string
		for _, m := range rep.Modules {
			names = append(names, strings.TrimSuffix(m[strings.IndexByte(m, '-')+1:], ".ko"))
		}
		got := append([]string{}, names...)
		sort.Strings(got)
		want := []string{"fuse", "virtio", "virtio_pci", "virtio_pci_legacy_dev", "virtio_pci_modern_dev", "virtio_ring", "virtiofs"}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("modules %q, want the set %q", rep.Modules, want)
		}
		if len(rep.Builtin) != 0 {
			t.Errorf("Report.Builtin = %q, want none on 6.1", rep.Builtin)
		}
		tr, err := openTree(dir)
		if err != nil {
			t.Fatal(err)
		}
		checkOrder(t, tr, names)

		entries, err := readNewc(archive)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range entries {
			if !strings.HasPrefix(e.Name, ModulesPath+"/") {
				continue
			}
			n++
			f, err := elf.NewFile(strings.NewReader(e.Data))
			if err != nil {
				t.Errorf("%s: not a valid ELF file: %v", e.Name, err)
				continue
			}
			if f.Section(".modinfo") == nil {
				t.Errorf("%s: no .modinfo section", e.Name)
			}
			signed := strings.HasSuffix(e.Data, moduleSigString)
			if signed == strip {
				t.Errorf("%s: signed = %v with StripSignatures = %v", e.Name, signed, strip)
			}
		}
		if n != len(want) {
			t.Errorf("archive holds %d modules, want %d", n, len(want))
		}
		if strip && len(rep.Stripped) != len(want) {
			t.Errorf("Report.Stripped = %q, want all %d modules", rep.Stripped, len(want))
		}
		archives = append(archives, archive)
	}
	if len(archives[1]) >= len(archives[0]) {
		t.Errorf("stripped archive %d bytes, unstripped %d: nothing removed", len(archives[1]), len(archives[0]))
	}
}

// TestRealKernel612 builds against Debian's 6.12 tree from backports, with
// virtio, fuse and virtiofs built in and modules compressed with xz: the
// initrd holds no module, unless the mmio transport asks for virtio_mmio.
func TestRealKernel612(t *testing.T) {
	dir := realTree(t, "6.12")
	init := writeInit(t, "init")
	archive, rep := build(t, Options{Init: init, ModulesDir: dir})
	if len(rep.Modules) != 0 {
		t.Errorf("Report.Modules = %q, want none on 6.12", rep.Modules)
	}
	if want := []string{"virtiofs", "virtio_pci"}; !reflect.DeepEqual(rep.Builtin, want) {
		t.Errorf("Report.Builtin = %q, want %q", rep.Builtin, want)
	}
	entries, err := readNewc(archive)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name, "usr") {
			t.Errorf("archive holds %s, want no modules at all", e.Name)
		}
	}

	_, rep = build(t, Options{Init: init, ModulesDir: dir, Transport: "mmio", StripSignatures: true})
	if want := []string{"001-virtio_mmio.ko"}; !reflect.DeepEqual(rep.Modules, want) {
		t.Errorf("mmio: Report.Modules = %q, want %q", rep.Modules, want)
	}
	builtin, loadable, err := ModuleAvailable(dir, "virtio_mmio")
	if err != nil || builtin || !loadable {
		t.Errorf("ModuleAvailable(6.12, virtio_mmio) = %v, %v, %v; want false, true, nil", builtin, loadable, err)
	}
	tr, err := openTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := tr.read("virtio_mmio")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		t.Errorf("virtio_mmio.ko.xz did not decompress to ELF")
	}
	if rel := KernelRelease(dir); !strings.HasPrefix(rel, "6.12.") {
		t.Errorf("KernelRelease(%s) = %q, want 6.12.*", dir, rel)
	}
	// The modules are checked against the kernel's release.
	mmio := Options{Init: init, ModulesDir: dir, Transport: "mmio", KernelRelease: KernelRelease(dir)}
	if _, err := Build(new(bytes.Buffer), mmio); err != nil {
		t.Errorf("mmio with the tree's own release: %v", err)
	}
	mmio.KernelRelease = "6.1.0-1-amd64"
	if _, err := Build(new(bytes.Buffer), mmio); !errors.Is(err, ErrBadModule) || !strings.Contains(err.Error(), "another kernel's") {
		t.Errorf("mmio with another release: %v, want the mismatch named", err)
	}
}
