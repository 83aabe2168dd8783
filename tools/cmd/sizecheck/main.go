// Command sizecheck compares the /init binary with its two size floors and
// fails when it is over budget. `make size` builds the three binaries with
// the same toolchain and flags and runs it:
//
//	sizecheck [--over BYTES] [--limit BYTES] [--json FILE] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR
//
// The budget is the bytes BINARY may add to UNIX_FLOOR (an empty main
// importing golang.org/x/sys/unix built by the same toolchain), and, with
// --limit, the most BINARY's file may be as a whole. The budget applies to
// the file size where the linker aligns segments to 4 KiB pages (amd64).
// Where it aligns them to 64 KiB (arm64), the file size moves in 64 KiB
// steps, so there it applies to the bytes of the loadable segments
// without the alignment padding. The judgement is
// tools/internal/binsize's; --json FILE writes it there as JSON (a
// binsize.Report) for programs, such as the benchmark, beside the text.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"

	"virtinit/tools/internal/binsize"
	"virtinit/tools/internal/cli"
)

const usage = `Usage: sizecheck [OPTIONS] ARCH BINARY EMPTY_FLOOR UNIX_FLOOR

Judges the /init BINARY against the bytes it adds to UNIX_FLOOR (an empty
main importing golang.org/x/sys/unix, built by the same toolchain) and
prints the figures; exits 1 when it is over budget.

  --over BYTES   the most bytes BINARY may add to UNIX_FLOOR (required: the
                 Makefile's SIZE_OVER)
  --limit BYTES  the most bytes BINARY's file may be as a whole (default 0: none)
  --json FILE    also write the figures and the verdict as JSON to FILE
  -h, --help     this text
`

// config is what the command line asks for.
type config struct {
	over, limit int64
	json        string
	help        bool
}

func bytesOption(dst func(*config) *int64) cli.Option[*config] {
	return cli.Option[*config]{Values: 1, Set: func(c *config, v []string) error {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || n < 0 {
			return cli.Usagef("%q is not a number of bytes", v[0])
		}
		*dst(c) = n
		return nil
	}}
}

var options = map[string]cli.Option[*config]{
	"--over":  bytesOption(func(c *config) *int64 { return &c.over }),
	"--limit": bytesOption(func(c *config) *int64 { return &c.limit }),
	"--json":  {Values: 1, Set: func(c *config, v []string) error { c.json = v[0]; return nil }},
	"--help":  {Set: func(c *config, _ []string) error { c.help = true; return nil }},
	"-h":      {Set: func(c *config, _ []string) error { c.help = true; return nil }},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	c := &config{over: -1}
	files, err := cli.Parse(args, options, c, true)
	if err == nil && !c.help && c.over < 0 {
		err = cli.Usagef("no --over BYTES: the budget is the Makefile's SIZE_OVER")
	}
	if err == nil && !c.help && len(files) != 4 {
		err = cli.Usagef("want ARCH BINARY EMPTY_FLOOR UNIX_FLOOR, got %d operands", len(files))
	}
	if err != nil {
		return cli.ReportUsage(stderr, "sizecheck", err)
	}
	if c.help {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var s [3]binsize.Sizes
	for i := range s {
		if s[i], err = binsize.Measure(files[i+1]); err != nil {
			fmt.Fprintln(stderr, "sizecheck:", err)
			return 2
		}
	}
	r := binsize.Judge(files[0], s[0], s[1], s[2], c.over, c.limit)
	if v, err := binsize.GoVersion(files[1]); err == nil {
		r.GoVersion = v
	}
	if c.json != "" {
		b, err := json.MarshalIndent(r, "", "\t")
		if err == nil {
			err = os.WriteFile(c.json, append(b, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(stderr, "sizecheck:", err)
			return 2
		}
	}
	printReport(stdout, r)
	if !r.Within {
		return 1
	}
	return 0
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
