// Command sizecheck compares the /init binary with its two size floors and
// fails when it is over budget. `make size` builds the three binaries with
// the same toolchain and flags and runs it:
//
//	sizecheck [-over BYTES] [-limit BYTES] [-json FILE] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR
//
// The budget is the bytes BINARY may add to UNIX_FLOOR (an empty main
// importing golang.org/x/sys/unix built by the same toolchain), and, with
// -limit, the most BINARY's file may be as a whole. The budget applies to
// the file size where the linker aligns segments to 4 KiB pages (amd64).
// Where it
// aligns them to 64 KiB (arm64), the file size moves in 64 KiB steps, more
// than the whole budget, so there it applies to the bytes of the loadable
// segments without the alignment padding. The judgement is
// tools/internal/binsize's; -json FILE writes it there as JSON (a
// binsize.Report) for programs, such as the benchmark, beside the text.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"virtinit/tools/internal/binsize"
)

func main() {
	over := flag.Int64("over", 81920, "the budget: most `BYTES` the binary may add to the x/sys/unix floor")
	limit := flag.Int64("limit", 0, "the most `BYTES` the binary's file may be as a whole (0: no limit)")
	jsonPath := flag.String("json", "", "also write the figures and the verdict as JSON to `FILE`")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sizecheck [-over BYTES] [-limit BYTES] [-json FILE] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 4 {
		flag.Usage()
		os.Exit(2)
	}
	var s [3]binsize.Sizes
	for i := range s {
		var err error
		if s[i], err = binsize.Measure(flag.Arg(i + 1)); err != nil {
			fmt.Fprintln(os.Stderr, "sizecheck:", err)
			os.Exit(2)
		}
	}
	r := binsize.Judge(flag.Arg(0), s[0], s[1], s[2], *over, *limit)
	if v, err := binsize.GoVersion(flag.Arg(1)); err == nil {
		r.GoVersion = v
	}
	if *jsonPath != "" {
		b, err := json.MarshalIndent(r, "", "\t")
		if err == nil {
			err = os.WriteFile(*jsonPath, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "sizecheck:", err)
			os.Exit(2)
		}
	}
	printReport(os.Stdout, r)
	if !r.Within {
		os.Exit(1)
	}
}

// printReport writes the report for people.
func printReport(w io.Writer, r binsize.Report) {
	a := r.Arch
	fmt.Fprintf(w, "%-8s %-34s %10s %10s\n", a, r.GoVersion, "file", "unpadded")
	fmt.Fprintf(w, "%-8s %-34s %10d %10d\n", a, "empty main", r.Empty.File, r.Empty.Unpadded)
	fmt.Fprintf(w, "%-8s %-34s %10d %10d\n", a, "empty main importing x/sys/unix", r.Floor.File, r.Floor.Unpadded)
	fmt.Fprintf(w, "%-8s %-34s %10d %10d\n", a, "initrd", r.Binary.File, r.Binary.Unpadded)
	fmt.Fprintf(w, "%-8s over the x/sys/unix floor: file %d (%.4f), unpadded %d (%.4f)\n", a,
		r.Binary.File-r.Floor.File, r.FileRatio, int64(r.Binary.Unpadded)-int64(r.Floor.Unpadded), r.UnpaddedRatio)
	what := "file size"
	if r.Judged == "unpadded" {
		what = fmt.Sprintf("unpadded size (segments aligned to %d KiB)", r.Binary.Align/1024)
	}
	limit := ""
	if r.Limit > 0 {
		limit = fmt.Sprintf(", file %d <= %d", r.Binary.File, r.Limit)
	}
	if !r.Within {
		fmt.Fprintf(w, "%-8s OVER BUDGET: %s adds %d bytes, budget %d%s (%d bytes over)\n", a, what, r.Added, r.Budget, limit, -r.Room)
		return
	}
	fmt.Fprintf(w, "%-8s within budget: %s adds %d bytes <= %d%s (%d bytes to spare)\n", a, what, r.Added, r.Budget, limit, r.Room)
}
