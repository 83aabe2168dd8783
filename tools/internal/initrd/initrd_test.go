package initrd

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
)

// writeInit writes a fake init binary and returns its path.
func writeInit(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func build(t *testing.T, o Options) ([]byte, *Report) {
	t.Helper()
	var b bytes.Buffer
	rep, err := Build(&b, o)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return b.Bytes(), rep
}

func TestBuildContents(t *testing.T) {
	dir := writeTree(t, fakeTree{
		modules: withSuffix(virtioGraph, ".ko.xz"),
		builtin: []string{"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko"},
	})
	tr, err := openTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	mod := func(name string) string {
		data, err := tr.read(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	o := Options{
		Init:       writeInit(t, "#!init"),
		ModulesDir: dir,
		Modules:    []string{"virtio-blk"},
		Transport:  "both",
		Epoch:      1700000000,
		Extra: []File{
			{Name: "/etc/motd", Mode: 0o100644, Data: []byte("hi\n")},
			{Name: "etc/deep/er/file", Mode: 0o100600, Data: []byte("x")},
			{Name: "bin/sh", Mode: 0o120777, Data: []byte("busybox")},
			{Name: "empty", Mode: 0o40700},
		},
	}
	archive, rep := build(t, o)

	wantModules := []string{"001-fuse.ko", "002-virtiofs.ko", "003-virtio_pci_legacy_dev.ko",
		"004-virtio_pci_modern_dev.ko", "005-virtio_pci.ko", "006-virtio_mmio.ko", "007-virtio_blk.ko"}
	if !reflect.DeepEqual(rep.Modules, wantModules) {
		t.Errorf("Report.Modules = %q, want %q", rep.Modules, wantModules)
	}
	if want := []string{"virtio", "virtio_ring"}; !reflect.DeepEqual(rep.Builtin, want) {
		t.Errorf("Report.Builtin = %q, want %q", rep.Builtin, want)
	}

	const ep = 1700000000
	dirEntry := func(name string, mode uint32) cpioEntry {
		return cpioEntry{Name: name, Mode: mode, Nlink: 2, Mtime: ep}
	}
	fileEntry := func(name string, mode uint32, data string) cpioEntry {
		return cpioEntry{Name: name, Mode: mode, Nlink: 1, Mtime: ep, Data: data}
	}
	want := []cpioEntry{
		fileEntry("bin/sh", 0o120777, "busybox"),
		dirEntry("bin", 0o40755),
		{Name: "dev/console", Mode: 0o20600, Nlink: 1, Mtime: ep, RdevMajor: 5, RdevMinor: 1},
		dirEntry("dev", 0o40755),
		dirEntry("empty", 0o40700),
		dirEntry("etc", 0o40755),
		dirEntry("etc/deep", 0o40755),
		dirEntry("etc/deep/er", 0o40755),
		fileEntry("etc/deep/er/file", 0o100600, "x"),
		fileEntry("etc/motd", 0o100644, "hi\n"),
		fileEntry("init", 0o100755, "#!init"),
		dirEntry("usr", 0o40755),
		dirEntry("usr/lib", 0o40755),
		dirEntry("usr/lib/modules", 0o40755),
		fileEntry("usr/lib/modules/001-fuse.ko", 0o100644, mod("fuse")),
		fileEntry("usr/lib/modules/002-virtiofs.ko", 0o100644, mod("virtiofs")),
		fileEntry("usr/lib/modules/003-virtio_pci_legacy_dev.ko", 0o100644, mod("virtio_pci_legacy_dev")),
		fileEntry("usr/lib/modules/004-virtio_pci_modern_dev.ko", 0o100644, mod("virtio_pci_modern_dev")),
		fileEntry("usr/lib/modules/005-virtio_pci.ko", 0o100644, mod("virtio_pci")),
		fileEntry("usr/lib/modules/006-virtio_mmio.ko", 0o100644, mod("virtio_mmio")),
		fileEntry("usr/lib/modules/007-virtio_blk.ko", 0o100644, mod("virtio_blk")),
	}
	// The archive is in byte order of names; build the expectation so.
	sortEntries(want)

	got, err := readNewc(archive)
	if err != nil {
		t.Fatalf("readNewc: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("archive has %d entries, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Errorf("entry %d = %v, want %v", i, got[i], want[i])
		}
	}

	// A second, unrelated reader must agree on names, sizes and data.
	r := cpio.NewReader(bytes.NewReader(archive))
	for i := 0; ; i++ {
		h, err := r.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Errorf("cpio reader saw %d entries, want %d", i, len(want))
			}
			break
		}
		if err != nil {
			t.Fatalf("cpio reader: %v", err)
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Errorf("cpio reader: extra entry %s", h.Name)
			continue
		}
		w := want[i]
		if h.Mode&cpio.ModeType == cpio.TypeSymlink {
			data = []byte(h.Linkname)
		}
		if h.Name != w.Name || string(data) != w.Data || h.Uid != 0 || h.Guid != 0 || !h.ModTime.Equal(time.Unix(ep, 0)) {
			t.Errorf("cpio reader: entry %d = %s (%d bytes, uid %d, gid %d, %v), want %v", i, h.Name, len(data), h.Uid, h.Guid, h.ModTime, w)
		}
		if uint32(h.Mode)&0o7777 != w.Mode&0o7777 {
			t.Errorf("cpio reader: %s mode %#o, want permissions %#o", h.Name, h.Mode, w.Mode&0o7777)
		}
	}
}

func sortEntries(e []cpioEntry) {
	for i := 1; i < len(e); i++ {
		for j := i; j > 0 && e[j].Name < e[j-1].Name; j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
}

func TestBuildNoModules(t *testing.T) {
	tests := []struct {
		name string
		tree *fakeTree
	}{
		{"no modules dir", nil},
		{"everything built in", &fakeTree{builtin: []string{"kernel/fs/fuse/virtiofs.ko", "kernel/drivers/virtio/virtio_pci.ko"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Init: writeInit(t, "init")}
			if tt.tree != nil {
				o.ModulesDir = writeTree(t, *tt.tree)
			}
			archive, rep := build(t, o)
			if len(rep.Modules) != 0 {
				t.Errorf("Report.Modules = %q, want none", rep.Modules)
			}
			got, err := readNewc(archive)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range got {
				names = append(names, e.Name)
			}
			if want := []string{"dev", "dev/console", "init"}; !reflect.DeepEqual(names, want) {
				t.Errorf("archive entries = %q, want %q", names, want)
			}
		})
	}
}

// TestBuildMachine: modules of another architecture than the init binary
// are refused (that initrd could not boot), those of its own are taken.
func TestBuildMachine(t *testing.T) {
	tree := writeTree(t, fakeTree{modules: virtioGraph})
	elfOf := func(m elf.Machine) string {
		data := fakeModule("init") // any ELF file will do: only its e_machine is read
		binary.LittleEndian.PutUint16(data[18:], uint16(m))
		return writeInit(t, string(data))
	}
	var b bytes.Buffer
	_, err := Build(&b, Options{Init: elfOf(elf.EM_AARCH64), ModulesDir: tree})
	if err == nil || !strings.Contains(err.Error(), "is built for x86_64, but the init binary") || !strings.Contains(err.Error(), "for aarch64") {
		t.Errorf("aarch64 init, x86_64 modules: Build error = %v, want the mismatch named", err)
	}
	if _, err := Build(&b, Options{Init: elfOf(elf.EM_X86_64), ModulesDir: tree}); err != nil {
		t.Errorf("x86_64 init, x86_64 modules: %v", err)
	}
}

func TestBuildErrors(t *testing.T) {
	tree := writeTree(t, fakeTree{modules: virtioGraph})
	init := writeInit(t, "init")
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no init", Options{ModulesDir: tree}, "no init"},
		{"missing init", Options{Init: filepath.Join(tree, "nope"), ModulesDir: tree}, "no such file"},
		{"missing modules dir", Options{Init: init, ModulesDir: filepath.Join(tree, "nope")}, "no such file"},
		{"modules dir is a file", Options{Init: init, ModulesDir: init}, "not a directory"},
		{"unknown module", Options{Init: init, ModulesDir: tree, Modules: []string{"virtio_nett"}}, "virtio_nett not found"},
		{"module without tree", Options{Init: init, Modules: []string{"fuse"}}, "no modules directory"},
		{"bad transport", Options{Init: init, ModulesDir: tree, Transport: "usb"}, "unknown transport"},
		{"bad compression", Options{Init: init, Compress: "lz4"}, "unknown compression"},
		{"mmio missing", Options{Init: init, ModulesDir: writeTree(t, fakeTree{builtin: []string{"kernel/fs/fuse/virtiofs.ko"}}), Transport: "mmio"}, "virtio_mmio not found"},
		{"extra clashes", Options{Init: init, Extra: []File{{Name: "/init", Mode: 0o100755}}}, "already in the archive"},
		{"extra twice", Options{Init: init, Extra: []File{{Name: "a", Mode: 0o100644}, {Name: "a/", Mode: 0o40755}}}, "already in the archive"},
		{"extra device", Options{Init: init, Extra: []File{{Name: "dev/null", Mode: 0o20666}}}, "unsupported mode"},
		{"extra root", Options{Init: init, Extra: []File{{Name: "/", Mode: 0o40755}}}, "empty name"},
		{"negative epoch", Options{Init: init, Epoch: -1}, "does not fit"},
		{"huge epoch", Options{Init: init, Epoch: 1 << 33}, "does not fit"},
		{"empty argv", Options{Init: init, Argv: []string{}}, "no program"},
		{"empty program", Options{Init: init, Argv: []string{"", "a"}}, "no program"},
		{"NUL in program", Options{Init: init, Argv: []string{"/bin/s\x00h"}}, "the program"},
		{"NUL in argument", Options{Init: init, Argv: []string{"/bin/sh", "a", "b\x00"}}, "argument 2"},
		{"argv clashes", Options{Init: init, Argv: []string{"/bin/sh"}, Extra: []File{{Name: "init.argv", Mode: 0o100644}}}, "already in the archive"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		_, err := Build(&b, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Build error = %v, want one containing %q", tt.name, err, tt.want)
		}
		if b.Len() != 0 {
			t.Errorf("%s: Build wrote %d bytes before failing", tt.name, b.Len())
		}
		// A missing module is ErrNoModule (chrootvm's status 121), and
		// nothing else is.
		missing := strings.Contains(tt.want, " not found") || tt.want == "no modules directory"
		if errors.Is(err, ErrNoModule) != missing {
			t.Errorf("%s: errors.Is(%v, ErrNoModule) = %v, want %v", tt.name, err, !missing, missing)
		}
	}
}

// TestBuildBadModules: a module the tree holds broken is ErrBadModule
// (chrootvm's status 121 too), one it lists but lacks is ErrNoModule.
func TestBuildBadModules(t *testing.T) {
	init := writeInit(t, "init")
	tree := writeTree(t, fakeTree{
		modules: map[string][]string{"kernel/a.ko": {"b"}, "kernel/b.ko": {"a"}, "kernel/ok.ko": nil},
		dep:     "kernel/a.ko: kernel/b.ko\nkernel/b.ko: kernel/a.ko\nkernel/ok.ko:\nkernel/gone.ko:\nkernel/junk.ko.xz:\nkernel/text.ko:\nkernel/fifo.ko:\n",
		builtin: []string{"kernel/fs/fuse/virtiofs.ko", "kernel/drivers/virtio/virtio_pci.ko", "kernel/drivers/virtio/virtio_mmio.ko"},
	})
	for name, data := range map[string]string{"junk.ko.xz": "this is not an xz stream, only text", "text.ko": "not ELF"} {
		if err := os.WriteFile(filepath.Join(tree, "kernel", name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A FIFO would block a read until someone writes to it.
	if err := syscall.Mkfifo(filepath.Join(tree, "kernel", "fifo.ko"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		module string
		want   error
		text   string
	}{
		{"a", ErrBadModule, "cycle"},
		{"junk", ErrBadModule, "xz: "},
		{"text", ErrBadModule, "not an ELF file"},
		{"gone", ErrNoModule, "is not there"},
		{"fifo", ErrBadModule, "not a regular file"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		_, err := Build(&b, Options{Init: init, ModulesDir: tree, Modules: []string{tt.module}})
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) || strings.Contains(err.Error(), "xz: xz:") {
			t.Errorf("module %s: Build error = %v, want %v with %q", tt.module, err, tt.want, tt.text)
		}
	}
	if _, err := Build(new(bytes.Buffer), Options{Init: init, ModulesDir: tree, Modules: []string{"ok"}}); err != nil {
		t.Errorf("module ok: %v", err)
	}
}

// TestArgv: /init.argv holds the program and its arguments, awkward
// bytes and all, each ended by a NUL; without Argv there is no such file.
func TestArgv(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	argv := []string{"/run/mnt/s/a b", "", "--", "say \"hi\"\nthere", "\xff\xfe non-UTF-8", "'", long}
	want := strings.Join(argv, "\x00") + "\x00"
	archive, _ := build(t, Options{Init: writeInit(t, "init"), Argv: argv})
	entries, err := readNewc(archive)
	if err != nil {
		t.Fatal(err)
	}
	var found bool
	for _, e := range entries {
		if e.Name != ArgvPath {
			continue
		}
		found = true
		if string(e.Data) != want {
			t.Errorf("%s holds %d bytes, want the %d of %q...", ArgvPath, len(e.Data), len(want), want[:40])
		}
		if e.Mode != modeFile|0o644 {
			t.Errorf("%s has mode %#o, want %#o", ArgvPath, e.Mode, modeFile|0o644)
		}
	}
	if !found {
		t.Errorf("no %s in the archive", ArgvPath)
	}
	archive, _ = build(t, Options{Init: writeInit(t, "init")})
	entries, _ = readNewc(archive)
	for _, e := range entries {
		if e.Name == ArgvPath {
			t.Errorf("%s in an archive without Argv", ArgvPath)
		}
	}
}

func TestReproducible(t *testing.T) {
	dir := writeTree(t, fakeTree{modules: withSuffix(virtioGraph, ".ko.zst")})
	init := writeInit(t, "init binary")
	for _, c := range []string{"none", "gzip", "zstd"} {
		o := Options{Init: init, ModulesDir: dir, Compress: c, Transport: "both", Modules: []string{"virtio_gpu", "virtio_blk"}, Epoch: 12345,
			Extra: []File{{Name: "z", Mode: 0o100644, Data: bytes.Repeat([]byte("pad"), 100000)}, {Name: "a/b", Mode: 0o100644}}}
		first, _ := build(t, o)
		// Nothing on the host may leak in: not file times, not the order
		// of the caller's lists.
		future := time.Now().Add(time.Hour)
		filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chtimes(p, future, future) })
		os.Chtimes(init, future, future)
		o.Extra[0], o.Extra[1] = o.Extra[1], o.Extra[0]
		second, _ := build(t, o)
		if !bytes.Equal(first, second) {
			t.Errorf("compress %s: two builds differ (%d and %d bytes)", c, len(first), len(second))
		}
		o.Epoch = 12346
		third, _ := build(t, o)
		if bytes.Equal(first, third) {
			t.Errorf("compress %s: Epoch does not reach the archive", c)
		}
	}
}

func TestCompress(t *testing.T) {
	dir := writeTree(t, fakeTree{modules: virtioGraph})
	o := Options{Init: writeInit(t, "init"), ModulesDir: dir,
		Extra: []File{{Name: "padding", Mode: 0o100644, Data: bytes.Repeat([]byte("0123456789abcdef"), 1<<20)}}}
	plain, _ := build(t, o)
	if _, err := readNewc(plain); err != nil {
		t.Fatal(err)
	}

	o.Compress = "gzip"
	gz, _ := build(t, o)
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Header.Name != "" || !zr.Header.ModTime.IsZero() {
		t.Errorf("gzip header name %q mtime %v, want neither", zr.Header.Name, zr.Header.ModTime)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("gunzip(gzip archive) = %d bytes, %v; want the %d-byte plain archive", len(got), err, len(plain))
	}

	o.Compress = "zstd"
	zs, _ := build(t, o)
	// The frame header (RFC 8878 3.1.1.1): the kernel's streaming decoder
	// allocates the window the header names, so the frame must carry a
	// window descriptor, not the single-segment flag whose window is the
	// whole content (16 MiB here).
	if !bytes.HasPrefix(zs, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
		t.Fatalf("zstd archive starts % x, want the zstd magic", zs[:4])
	}
	fhd := zs[4]
	if fhd&0x20 != 0 {
		t.Errorf("zstd frame has the single-segment flag set (descriptor %#x)", fhd)
	}
	wd := zs[5]
	exp, mant := uint64(wd>>3), uint64(wd&7)
	window := uint64(1) << (10 + exp)
	window += window / 8 * mant
	if window > zstdWindow {
		t.Errorf("zstd window %d bytes, want at most %d", window, zstdWindow)
	}
	dec, err := zstd.NewReader(bytes.NewReader(zs), zstd.WithDecoderMaxWindow(zstdWindow))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	got, err = io.ReadAll(dec)
	if err != nil || !bytes.Equal(got, plain) {
		t.Errorf("unzstd(zstd archive) = %d bytes, %v; want the %d-byte plain archive", len(got), err, len(plain))
	}
	if len(zs) >= len(plain)/10 || len(gz) >= len(plain)/10 {
		t.Errorf("compressed sizes %d (zstd), %d (gzip) of %d: not compressed", len(zs), len(gz), len(plain))
	}
}

func TestStripSignatures(t *testing.T) {
	plain := fakeModule("fuse")
	signed := sign(plain, "", "", strings.Repeat("S", 700))
	dir := filepath.Join(t.TempDir(), "6.6.6")
	if err := os.MkdirAll(filepath.Join(dir, "kernel"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kernel", "fuse.ko.gz"), compressAs(t, ".ko.gz", signed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/fuse/virtiofs.ko\nkernel/virtio_pci.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{Init: writeInit(t, "init"), ModulesDir: dir, Modules: []string{"fuse"}}
	for _, strip := range []bool{false, true} {
		o.StripSignatures = strip
		archive, rep := build(t, o)
		entries, err := readNewc(archive)
		if err != nil {
			t.Fatal(err)
		}
		want, wantStripped := signed, []string(nil)
		if strip {
			want, wantStripped = plain, []string{"001-fuse.ko"}
		}
		var got string
		for _, e := range entries {
			if e.Name == "usr/lib/modules/001-fuse.ko" {
				got = e.Data
			}
		}
		if got != string(want) {
			t.Errorf("StripSignatures=%v: module is %d bytes, want %d", strip, len(got), len(want))
		}
		if !reflect.DeepEqual(rep.Stripped, wantStripped) {
			t.Errorf("StripSignatures=%v: Report.Stripped = %q, want %q", strip, rep.Stripped, wantStripped)
		}
	}
}

// TestWriteFileNotRegular: an OUTPUT that is a device, a named pipe or a
// link to one is refused and left as it is; the rename would have put a
// regular file in its place (mkvirtinitrd ... /dev/full did).
func TestWriteFileNotRegular(t *testing.T) {
	dir := t.TempDir()
	init := writeInit(t, "init")
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink("fifo", link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{fifo, link} { // never a node of /dev: a regression would replace it
		before, err := os.Lstat(out)
		if err != nil {
			t.Fatal(err)
		}
		_, err = WriteFile(out, Options{Init: init})
		if err == nil || !strings.Contains(err.Error(), "write "+out+": not a regular file") {
			t.Errorf("WriteFile(%s) = %v, want a refusal naming it", out, err)
		}
		if after, err := os.Lstat(out); err != nil || after.Mode() != before.Mode() {
			t.Errorf("WriteFile(%s) changed it: %v, %v", out, after, err)
		}
	}
	if names, _ := os.ReadDir(dir); len(names) != 2 {
		t.Errorf("the directory holds %d entries, want fifo and link alone", len(names))
	}
}

// TestWriteFileOverInit: mkvirtinitrd INIT MODULES INIT must not replace
// the init binary with the archive, through any name of it.
func TestWriteFileOverInit(t *testing.T) {
	init := writeInit(t, "init")
	want, err := os.ReadFile(init)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(init, link); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{init, link} {
		if _, err := WriteFile(out, Options{Init: init}); err == nil || !strings.Contains(err.Error(), "the init binary") {
			t.Errorf("WriteFile(%s, Init %s) = %v, want a refusal", out, init, err)
		}
		if got, err := os.ReadFile(init); err != nil || !bytes.Equal(got, want) {
			t.Errorf("WriteFile(%s) changed the init binary (%v)", out, err)
		}
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "initrd.img")
	init := writeInit(t, "init")

	rep, err := WriteFile(out, Options{Init: init})
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil {
		t.Fatal("WriteFile returned no report")
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("output mode %v, want 0644", fi.Mode().Perm())
	}
	good, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := build(t, Options{Init: init}); !bytes.Equal(good, want) {
		t.Errorf("WriteFile output differs from Build's")
	}

	// A failed build leaves the old file as it was and no temporary file.
	if _, err := WriteFile(out, Options{Init: init, Modules: []string{"x"}}); err == nil {
		t.Fatal("WriteFile with a bad option succeeded")
	}
	if now, err := os.ReadFile(out); err != nil || !bytes.Equal(now, good) {
		t.Errorf("failed WriteFile changed the existing output (%v)", err)
	}
	fresh := filepath.Join(dir, "fresh.img")
	if _, err := WriteFile(fresh, Options{Init: filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("WriteFile with a missing init succeeded")
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("failed WriteFile left %s: %v", fresh, err)
	}
	names, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 1 {
		var s []string
		for _, n := range names {
			s = append(s, n.Name())
		}
		t.Errorf("directory holds %q, want only initrd.img", s)
	}
	if _, err := WriteFile(filepath.Join(dir, "no", "such", "dir"), Options{Init: init}); err == nil {
		t.Errorf("WriteFile into a missing directory succeeded")
	}
}
