// Command sizecheck compares the /init binary with its two size floors and
// fails when it is over budget. `make size` builds the three binaries with
// the same toolchain and flags and runs it:
//
//	sizecheck [-max 1.03] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR
//
// The budget is a ratio to UNIX_FLOOR (an empty main importing
// golang.org/x/sys/unix). It applies to the file size where the linker
// aligns segments to 4 KiB pages (amd64), as the budget was set. Where it
// aligns them to 64 KiB (arm64), the file size moves in 64 KiB steps, more
// than the whole budget, so there it applies to the bytes of the loadable
// segments without the alignment padding.
package main

import (
	"debug/elf"
	"flag"
	"fmt"
	"os"
)

type sizes struct {
	file   int64  // bytes on disk
	loaded uint64 // sum of the PT_LOAD segments' file sizes
	align  uint64 // the largest PT_LOAD alignment
}

func measure(path string) (sizes, error) {
	st, err := os.Stat(path)
	if err != nil {
		return sizes{}, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return sizes{}, err
	}
	defer f.Close()
	s := sizes{file: st.Size()}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			s.loaded += p.Filesz
			s.align = max(s.align, p.Align)
		}
	}
	return s, nil
}

func main() {
	maxRatio := flag.Float64("max", 1.03, "the budget: largest ratio to the x/sys/unix floor")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sizecheck [-max RATIO] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR")
	}
	flag.Parse()
	if flag.NArg() != 4 {
		flag.Usage()
		os.Exit(2)
	}
	arch := flag.Arg(0)
	var s [3]sizes
	for i := range s {
		var err error
		if s[i], err = measure(flag.Arg(i + 1)); err != nil {
			fmt.Fprintln(os.Stderr, "sizecheck:", err)
			os.Exit(2)
		}
	}
	bin, empty, floor := s[0], s[1], s[2]
	fmt.Printf("%-8s %-34s %10s %10s\n", arch, "", "file", "unpadded")
	fmt.Printf("%-8s %-34s %10d %10d\n", arch, "empty main", empty.file, empty.loaded)
	fmt.Printf("%-8s %-34s %10d %10d\n", arch, "empty main importing x/sys/unix", floor.file, floor.loaded)
	fmt.Printf("%-8s %-34s %10d %10d\n", arch, "initrd", bin.file, bin.loaded)
	fileRatio := float64(bin.file) / float64(floor.file)
	loadedRatio := float64(bin.loaded) / float64(floor.loaded)
	fmt.Printf("%-8s ratio to the x/sys/unix floor: file %.4f, unpadded %.4f\n", arch, fileRatio, loadedRatio)

	ratio, what, room := fileRatio, "file size", int64(float64(floor.file)**maxRatio)-bin.file
	if bin.align > 4096 {
		ratio, what = loadedRatio, fmt.Sprintf("unpadded size (segments aligned to %d KiB)", bin.align/1024)
		room = int64(float64(floor.loaded)**maxRatio) - int64(bin.loaded)
	}
	if ratio > *maxRatio {
		fmt.Printf("%-8s OVER BUDGET: %s ratio %.4f > %.2f (%d bytes over)\n", arch, what, ratio, *maxRatio, -room)
		os.Exit(1)
	}
	fmt.Printf("%-8s within budget: %s ratio %.4f <= %.2f (%d bytes to spare)\n", arch, what, ratio, *maxRatio, room)
}
