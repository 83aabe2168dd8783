package initrd

import (
	"bytes"

	"virtinit/tools/internal/contract"
)

// ArgvArchive is a newc archive holding /init.argv alone: the program and
// its arguments of one run, in a second archive appended to an initrd
// built without Options.Argv. The kernel unpacks concatenated archives
// one after the other into the same root (init/initramfs.c: after a
// trailer, unpack_to_rootfs skips the zero padding and reads the next
// header), so a cached initrd serves every run and only this small
// archive changes. Every archive writeCpio makes ends on a four-byte
// boundary, as the next header must start on one.
func ArgvArchive(argv []string) ([]byte, error) {
	data, err := contract.ArgvFile(argv)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := writeCpio(&b, []entry{{name: ArgvPath, mode: modeFile | 0o644, data: data}}, 0); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
