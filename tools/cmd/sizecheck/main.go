// Command sizecheck compares the /init binary with its two size floors and
// fails when it is over budget. `make size` builds the three binaries with
// the same toolchain and flags and runs it:
//
//	sizecheck [-max 1.03] [-json FILE] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR
//
// The budget is a ratio to UNIX_FLOOR (an empty main importing
// golang.org/x/sys/unix). It applies to the file size where the linker
// aligns segments to 4 KiB pages (amd64), as the budget was set. Where it
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
	maxRatio := flag.Float64("max", 1.03, "the budget: largest ratio to the x/sys/unix floor")
	jsonPath := flag.String("json", "", "also write the figures and the verdict as JSON to `FILE`")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: sizecheck [-max RATIO] [-json FILE] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR")
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
	r := binsize.Judge(flag.Arg(0), s[0], s[1], s[2], *maxRatio)
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
	fmt.Fprintf(w, "%-8s %-34s %10s %10s\n", a, "", "file", "unpadded")
	fmt.Fprintf(w, "%-8s %-34s %10d %10d\n", a, "empty main", r.Empty.File, r.Empty.Unpadded)
	fmt.Fprintf(w, "%-8s %-34s %10d %10d\n", a, "empty main importing x/sys/unix", r.Floor.File, r.Floor.Unpadded)
	fmt.Fprintf(w, "%-8s %-34s %10d %10d\n", a, "initrd", r.Binary.File, r.Binary.Unpadded)
	fmt.Fprintf(w, "%-8s ratio to the x/sys/unix floor: file %.4f, unpadded %.4f\n", a, r.FileRatio, r.UnpaddedRatio)
	what := "file size"
	if r.Judged == "unpadded" {
		what = fmt.Sprintf("unpadded size (segments aligned to %d KiB)", r.Binary.Align/1024)
	}
	if !r.Within {
		fmt.Fprintf(w, "%-8s OVER BUDGET: %s ratio %.4f > %.2f (%d bytes over)\n", a, what, r.Ratio, r.Budget, -r.Room)
		return
	}
	fmt.Fprintf(w, "%-8s within budget: %s ratio %.4f <= %.2f (%d bytes to spare)\n", a, what, r.Ratio, r.Budget, r.Room)
}
