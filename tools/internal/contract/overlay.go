package contract

import (
	"fmt"
	"strconv"
	"strings"
)

// OverlayWord is /init's kernel word for a writable root, an overlay on
// a tmpfs: rd.overlay, or rd.overlay=SIZE with the tmpfs's size.
func OverlayWord(size string) string {
	if size == "" {
		return "rd.overlay"
	}
	return "rd.overlay=" + size
}

// CheckOverlaySize checks a size for rd.overlay=SIZE by /init's rules: a
// decimal number of bytes (at most 9 digits) with an optional k, m or g
// (either case), or a percentage of the memory; not zero, which to tmpfs
// means no limit. The table testdata/overlay-sizes.json of the repository
// holds both to the same rules.
func CheckOverlaySize(size string) error {
	n := strings.TrimRight(size, "kKmMgG%")
	if len(size)-len(n) > 1 {
		n = "" // two suffixes
	}
	v, err := strconv.ParseUint(n, 10, 32)
	if n == "" || len(n) > 9 || err != nil || v == 0 {
		return fmt.Errorf("overlay size %q: want a number of bytes, at most 9 digits, with an optional k, m or g, or a percentage of the memory (512m, 2g, 25%%), and not 0, which to tmpfs means no limit", size)
	}
	return nil
}
