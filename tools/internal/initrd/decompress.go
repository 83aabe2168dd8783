package initrd

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// decompress returns a module file's contents uncompressed, by the suffix
// of its name (kmod and the kernel's CONFIG_MODULE_COMPRESS_* use .ko.xz,
// .ko.zst and .ko.gz). The initrd always holds plain .ko files, so /init
// can load them on any kernel, also those without CONFIG_MODULE_DECOMPRESS.
func decompress(name string, raw []byte) ([]byte, error) {
	var r io.Reader
	switch {
	case strings.HasSuffix(name, ".ko"):
		return raw, nil
	case strings.HasSuffix(name, ".ko.xz"):
		xr, err := xz.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err // its messages begin with "xz: "
		}
		r = xr
	case strings.HasSuffix(name, ".ko.zst"):
		zr, err := zstd.NewReader(bytes.NewReader(raw), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		defer zr.Close()
		r = zr
	case strings.HasSuffix(name, ".ko.gz"):
		gr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		r = gr
	default:
		return nil, fmt.Errorf("%s: not a module file name", name)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("decompressing: %w", err)
	}
	return data, nil
}
