package initrd

import (
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// fakeModule returns a minimal ELF64 relocatable file, as a kernel module
// is, whose .modinfo section holds name= and depends= (and filler so that
// modules differ in size).
func fakeModule(name string, depends ...string) []byte {
	modinfo := []byte("license=GPL\x00depends=" + strings.Join(depends, ",") + "\x00name=" + name + "\x00")
	shstrtab := []byte("\x00.modinfo\x00.shstrtab\x00")
	const ehsize, shentsize = 64, 64
	modinfoOff := uint64(ehsize)
	shstrtabOff := modinfoOff + uint64(len(modinfo))
	shoff := (shstrtabOff + uint64(len(shstrtab)) + 7) &^ 7

	var b bytes.Buffer
	hdr := elf.Header64{
		Type:      uint16(elf.ET_REL),
		Machine:   uint16(elf.EM_X86_64),
		Version:   uint32(elf.EV_CURRENT),
		Shoff:     shoff,
		Ehsize:    ehsize,
		Shentsize: shentsize,
		Shnum:     3,
		Shstrndx:  2,
	}
	copy(hdr.Ident[:], elf.ELFMAG)
	hdr.Ident[elf.EI_CLASS] = byte(elf.ELFCLASS64)
	hdr.Ident[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	hdr.Ident[elf.EI_VERSION] = byte(elf.EV_CURRENT)
	binary.Write(&b, binary.LittleEndian, hdr)
	b.Write(modinfo)
	b.Write(shstrtab)
	for uint64(b.Len()) < shoff {
		b.WriteByte(0)
	}
	sections := []elf.Section64{
		{},
		{Name: 1, Type: uint32(elf.SHT_PROGBITS), Flags: uint64(elf.SHF_ALLOC), Off: modinfoOff, Size: uint64(len(modinfo)), Addralign: 1},
		{Name: 10, Type: uint32(elf.SHT_STRTAB), Off: shstrtabOff, Size: uint64(len(shstrtab)), Addralign: 1},
	}
	for _, s := range sections {
		binary.Write(&b, binary.LittleEndian, s)
	}
	return b.Bytes()
}

// sign appends a fake module signature in the kernel's layout: signer name,
// key id, signature, struct module_signature, magic.
func sign(data []byte, signer, keyID, sig string) []byte {
	out := append([]byte{}, data...)
	out = append(out, signer...)
	out = append(out, keyID...)
	out = append(out, sig...)
	info := make([]byte, moduleSigInfoSize)
	info[2] = 2 // PKEY_ID_PKCS7
	info[3] = byte(len(signer))
	info[4] = byte(len(keyID))
	binary.BigEndian.PutUint32(info[8:], uint32(len(sig)))
	out = append(out, info...)
	return append(out, moduleSigString...)
}

// compressAs compresses data as a module file with the given suffix.
func compressAs(t *testing.T, suffix string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch suffix {
	case ".ko":
		return data
	case ".ko.xz":
		// The kernel's scripts use --check=crc32 for modules.
		w, err := xz.WriterConfig{CheckSum: xz.CRC32}.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case ".ko.zst":
		w, err := zstd.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	case ".ko.gz":
		w := gzip.NewWriter(&b)
		if _, err := w.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("compressAs: unknown suffix %q", suffix)
	}
	return b.Bytes()
}

// fakeTree describes a module tree for writeTree.
type fakeTree struct {
	modules map[string][]string // path (relative, with suffix) -> depends
	builtin []string            // lines of modules.builtin
	dep     string              // contents of modules.dep; "" = none
}

// writeTree creates a module tree in a new temporary directory named like
// a kernel release and returns its path.
func writeTree(t *testing.T, ft fakeTree) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "6.6.6-test")
	for rel, deps := range ft.modules {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := fakeModule(moduleName(rel), deps...)
		for _, s := range moduleSuffixes {
			if strings.HasSuffix(rel, s) && s != ".ko" {
				data = compressAs(t, s, data)
				break
			}
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if ft.builtin != nil {
		if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte(strings.Join(ft.builtin, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ft.dep != "" {
		if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(ft.dep), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// cpioEntry is one member of a newc archive as readNewc sees it.
type cpioEntry struct {
	Name                 string
	Mode                 uint32
	UID, GID, Nlink      uint32
	Mtime                uint32
	RdevMajor, RdevMinor uint32
	Data                 string
}

func (e cpioEntry) String() string {
	return fmt.Sprintf("{%s %#o uid=%d gid=%d nlink=%d mtime=%d rdev=%d:%d %d bytes}",
		e.Name, e.Mode, e.UID, e.GID, e.Nlink, e.Mtime, e.RdevMajor, e.RdevMinor, len(e.Data))
}

// readNewc parses a newc archive strictly, independently of the writer:
// magic, hexadecimal fields, four-byte alignment, the trailer last and
// nothing but zeros after it. Inode numbers are checked to be distinct and
// non-zero and then dropped.
func readNewc(archive []byte) ([]cpioEntry, error) {
	var out []cpioEntry
	inodes := map[uint64]string{}
	off := 0
	for {
		if off+110 > len(archive) {
			return nil, fmt.Errorf("offset %d: truncated header", off)
		}
		h := archive[off : off+110]
		if string(h[:6]) != "070701" {
			return nil, fmt.Errorf("offset %d: magic %q", off, h[:6])
		}
		var f [13]uint64
		for i := range f {
			v, err := strconv.ParseUint(string(h[6+8*i:14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("offset %d: field %d: %v", off, i, err)
			}
			f[i] = v
		}
		namesize, filesize := int(f[11]), int(f[6])
		nameStart := off + 110
		if namesize < 1 || nameStart+namesize > len(archive) {
			return nil, fmt.Errorf("offset %d: bad namesize %d", off, namesize)
		}
		name := archive[nameStart : nameStart+namesize]
		if name[namesize-1] != 0 {
			return nil, fmt.Errorf("offset %d: name not NUL-terminated", off)
		}
		dataStart := (nameStart + namesize + 3) &^ 3
		for _, c := range archive[nameStart+namesize : dataStart] {
			if c != 0 {
				return nil, fmt.Errorf("offset %d: non-zero name padding", off)
			}
		}
		if dataStart+filesize > len(archive) {
			return nil, fmt.Errorf("offset %d: truncated data", off)
		}
		e := cpioEntry{
			Name: string(name[:namesize-1]), Mode: uint32(f[1]), UID: uint32(f[2]), GID: uint32(f[3]),
			Nlink: uint32(f[4]), Mtime: uint32(f[5]), RdevMajor: uint32(f[9]), RdevMinor: uint32(f[10]),
			Data: string(archive[dataStart : dataStart+filesize]),
		}
		if f[7] != 0 || f[8] != 0 || f[12] != 0 {
			return nil, fmt.Errorf("%s: devmajor/devminor/check = %d/%d/%d, want 0", e.Name, f[7], f[8], f[12])
		}
		off = (dataStart + filesize + 3) &^ 3
		if e.Name == "TRAILER!!!" {
			for _, c := range archive[off:] {
				if c != 0 {
					return nil, fmt.Errorf("data after the trailer")
				}
			}
			if off != len(archive) && len(archive)%4 != 0 {
				return nil, fmt.Errorf("archive length %d not aligned", len(archive))
			}
			return out, nil
		}
		if f[0] == 0 {
			return nil, fmt.Errorf("%s: inode 0", e.Name)
		}
		if other, ok := inodes[f[0]]; ok {
			return nil, fmt.Errorf("%s and %s share inode %d", other, e.Name, f[0])
		}
		inodes[f[0]] = e.Name
		out = append(out, e)
	}
}
