package initrd

import (
	"bufio"
	"fmt"
	"io"
	"sort"
)

// File type bits of a cpio mode, as in the kernel's <linux/stat.h>.
const (
	modeType    = 0o170000
	modeSymlink = 0o120000
	modeFile    = 0o100000
	modeDir     = 0o040000
	modeChar    = 0o020000
)

// entry is one member of the archive. name has no leading slash.
type entry struct {
	name                 string
	mode                 uint32
	data                 []byte
	rdevMajor, rdevMinor uint32
}

// newcMagic starts every header of the "new ASCII" cpio format, the one
// the kernel's initramfs unpacker reads (Documentation/driver-api/
// early-userspace/buffer-format.rst).
const newcMagic = "070701"

// newcTrailer is the name of the entry that ends an archive.
const newcTrailer = "TRAILER!!!"

// writeCpio writes entries as a newc archive, sorted by name, owned by
// root, every mtime set to epoch and inodes numbered in that order, so that
// the same entries always give the same bytes.
func writeCpio(w io.Writer, entries []entry, epoch int64) error {
	if epoch < 0 || epoch > 0xffffffff {
		return fmt.Errorf("mtime %d does not fit a cpio header", epoch)
	}
	sorted := make([]entry, len(entries))
	copy(sorted, entries)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].name == sorted[i-1].name {
			return fmt.Errorf("%s is in the archive twice", sorted[i].name)
		}
	}

	bw := bufio.NewWriter(w)
	cw := &countWriter{w: bw}
	for i, e := range sorted {
		if err := writeEntry(cw, e, uint32(i+1), uint32(epoch)); err != nil {
			return err
		}
	}
	if err := writeEntry(cw, entry{name: newcTrailer}, 0, 0); err != nil {
		return err
	}
	if cw.err != nil {
		return cw.err
	}
	return bw.Flush()
}

// writeEntry writes one header, its name and its data, each padded to a
// multiple of four bytes as newc requires.
func writeEntry(w *countWriter, e entry, ino, mtime uint32) error {
	if uint64(len(e.data)) > 0xffffffff {
		return fmt.Errorf("%s: %d bytes do not fit a cpio header", e.name, len(e.data))
	}
	nlink := uint32(1)
	if e.mode&modeType == modeDir {
		nlink = 2
	}
	if e.name == newcTrailer {
		nlink = 1
	}
	fields := [...]uint32{
		ino,
		e.mode,
		0, // uid
		0, // gid
		nlink,
		mtime,
		uint32(len(e.data)),
		0, // devmajor
		0, // devminor
		e.rdevMajor,
		e.rdevMinor,
		uint32(len(e.name) + 1), // namesize, with the NUL
		0,                       // check: only the "070702" format sets it
	}
	hdr := make([]byte, 0, 110)
	hdr = append(hdr, newcMagic...)
	for _, f := range fields {
		hdr = fmt.Appendf(hdr, "%08x", f)
	}
	w.write(hdr)
	w.write([]byte(e.name))
	w.write([]byte{0})
	w.pad()
	w.write(e.data)
	w.pad()
	return w.err
}

// countWriter counts what it writes so that it can pad to four bytes, and
// keeps the first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}

func (c *countWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}
