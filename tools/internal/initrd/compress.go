package initrd

import (
	"compress/gzip"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// zstdWindow is the largest back-reference of the zstd frames we write.
// The kernel unpacks an initramfs in streaming mode (init/initramfs.c
// passes a flush callback to lib/decompress_unzstd.c), which allocates a
// window of the size the frame header asks for and refuses frames that ask
// for more than ZSTD_WINDOWSIZE_MAX. A streamed frame carries a window
// descriptor rather than the "single segment" flag, whose window would be
// the whole archive; 8 MiB is the size the zstd format recommends every
// decoder to support.
const zstdWindow = 8 << 20

// compress writes archive to w in the format c names. Both formats are ones
// the kernel unpacks itself (CONFIG_RD_GZIP, CONFIG_RD_ZSTD), and both
// encoders are deterministic: the same archive gives the same bytes.
func compress(w io.Writer, archive []byte, c string) error {
	switch c {
	case "", "none":
		_, err := w.Write(archive)
		return err
	case "gzip":
		// The zero Header has no name and no mtime: nothing varies.
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return err
		}
		if _, err := zw.Write(archive); err != nil {
			return err
		}
		return zw.Close()
	case "zstd":
		zw, err := zstd.NewWriter(w,
			zstd.WithEncoderLevel(zstd.SpeedBestCompression),
			zstd.WithWindowSize(zstdWindow),
			// One encoder: the output does not depend on the machine.
			zstd.WithEncoderConcurrency(1),
			zstd.WithEncoderCRC(true))
		if err != nil {
			return err
		}
		if _, err := zw.Write(archive); err != nil {
			zw.Close()
			return err
		}
		return zw.Close()
	}
	return fmt.Errorf("unknown compression %q (want none, gzip or zstd)", c)
}
