// Command testrun runs `go test -json` and shows its progress as the
// tests end: one line per package, per failed or skipped test, and per
// test that took a second or more (every VM scenario), the whole output
// of every failed test, and at the end a summary that names every skipped
// test with its reason and every failed test. `make check` runs it for
// both modules:
//
//	testrun [--summary FILE] DIR [go test flags and packages]
//
// With --summary, the summary is appended to FILE too (.ci/run prints it
// at the end of its log). The exit status is 1 when go test failed or a
// test failed, 0 otherwise.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"virtinit/tools/internal/cli"
)

// event is one line of `go test -json` (go doc test2json).
type event struct {
	Action     string
	Package    string
	ImportPath string // build-output and build-fail
	Test       string
	Elapsed    float64
	Output     string
	// FailedBuild names the package whose build failed the test binary.
	FailedBuild string
}

// slow is the time from which a passing test gets its own progress line.
const slow = 1.0

// result is one test that ended other than passing.
type result struct {
	pkg, test string
	reason    string // a skip's reason
}

// report follows the events of one or more runs.
type report struct {
	out      io.Writer
	output   map[string][]string // by package and test: the lines so far
	running  map[string][]string // by package: the tests that started and have not ended
	skipped  []result
	failed   []result
	pkgFails []string
	pkgs     int
}

func newReport(out io.Writer) *report {
	return &report{out: out, output: map[string][]string{}, running: map[string][]string{}}
}

func key(pkg, test string) string { return pkg + "\x00" + test }

// add takes one event.
func (r *report) add(e event) {
	k := key(e.Package, e.Test)
	if e.Test != "" {
		switch e.Action {
		case "run":
			r.running[e.Package] = append(r.running[e.Package], e.Test)
		case "pass", "fail", "skip":
			r.running[e.Package] = slices.DeleteFunc(r.running[e.Package], func(t string) bool { return t == e.Test })
		}
	} else if e.Action == "pass" || e.Action == "fail" {
		r.unfinished(e.Package)
	}
	switch e.Action {
	case "output":
		r.output[k] = append(r.output[k], e.Output)
	case "build-output":
		fmt.Fprint(r.out, e.Output)
	case "build-fail":
		// The package's own fail event follows, with FailedBuild.
	case "pass":
		if e.Test == "" {
			r.pkgs++
			fmt.Fprintf(r.out, "ok   %s %.1fs\n", e.Package, e.Elapsed)
		} else if e.Elapsed >= slow {
			fmt.Fprintf(r.out, "     PASS %s %s (%.1fs)\n", path.Base(e.Package), e.Test, e.Elapsed)
		}
		delete(r.output, k)
	case "skip":
		if e.Test == "" {
			r.pkgs++
			fmt.Fprintf(r.out, "?    %s [no tests]\n", e.Package)
			break
		}
		reason := skipReason(r.output[k])
		r.skipped = append(r.skipped, result{pkg: e.Package, test: e.Test, reason: reason})
		fmt.Fprintf(r.out, "     SKIP %s %s: %s\n", path.Base(e.Package), e.Test, firstLine(reason))
		delete(r.output, k)
	case "fail":
		lines := r.output[k]
		delete(r.output, k)
		if e.Test == "" {
			r.pkgs++
			name := e.Package
			if e.FailedBuild != "" {
				name += " (build failed: " + e.FailedBuild + ")"
			}
			r.pkgFails = append(r.pkgFails, name)
			// What the package printed outside its tests: a panic,
			// TestMain's own errors, the final FAIL.
			fmt.Fprintf(r.out, "FAIL %s %.1fs\n", e.Package, e.Elapsed)
			for _, l := range lines {
				if !strings.HasPrefix(l, "FAIL") && l != "PASS\n" {
					fmt.Fprint(r.out, "     "+l)
				}
			}
			break
		}
		r.failed = append(r.failed, result{pkg: e.Package, test: e.Test})
		fmt.Fprintf(r.out, "     FAIL %s %s (%.1fs)\n", path.Base(e.Package), e.Test, e.Elapsed)
		for _, l := range lines {
			if !strings.HasPrefix(l, "=== ") {
				fmt.Fprint(r.out, "     | "+l)
			}
		}
	}
}

// unfinished reports the tests of a package that ended without ending
// themselves (a panic, go test's -timeout): failed, with what they
// printed up to the goroutine dump.
func (r *report) unfinished(pkg string) {
	for _, test := range r.running[pkg] {
		k := key(pkg, test)
		r.failed = append(r.failed, result{pkg: pkg, test: test + " (did not end)"})
		fmt.Fprintf(r.out, "     FAIL %s %s: did not end\n", path.Base(pkg), test)
		for _, l := range r.output[k] {
			if strings.HasPrefix(l, "goroutine ") {
				fmt.Fprint(r.out, "     | (goroutine dump left out)\n")
				break
			}
			if !strings.HasPrefix(l, "=== ") {
				fmt.Fprint(r.out, "     | "+l)
			}
		}
		delete(r.output, k)
	}
	delete(r.running, pkg)
}

// skipReason is what a skipped test printed, without go test's own
// framing lines.
func skipReason(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "=== ") || strings.HasPrefix(t, "--- SKIP") {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(t)
	}
	if b.Len() == 0 {
		return "(no reason given)"
	}
	return b.String()
}

func firstLine(s string) string {
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// summary writes what ended other than passing.
func (r *report) summary(w io.Writer) {
	fmt.Fprintf(w, "%d packages, %d failed, %d tests failed, %d skipped\n",
		r.pkgs, len(r.pkgFails), len(r.failed), len(r.skipped))
	for _, p := range r.pkgFails {
		fmt.Fprintf(w, "FAIL %s\n", p)
	}
	sort.SliceStable(r.failed, func(i, j int) bool { return r.failed[i].pkg < r.failed[j].pkg })
	for _, f := range r.failed {
		fmt.Fprintf(w, "FAIL %s %s\n", f.pkg, f.test)
	}
	// Many tests skipped for one reason (every VM test under -short) are
	// one line: the reason, how many, and their packages.
	groups := map[string][]result{}
	for _, s := range r.skipped {
		groups[commonReason(s.reason)] = append(groups[commonReason(s.reason)], s)
	}
	for _, s := range r.skipped {
		g := groups[commonReason(s.reason)]
		switch {
		case len(g) < manySkips:
			fmt.Fprintf(w, "SKIP %s %s: %s\n", s.pkg, s.test, s.reason)
		case g[0] == s:
			var pkgs []string
			for _, t := range g {
				if !slices.Contains(pkgs, t.pkg) {
					pkgs = append(pkgs, t.pkg)
				}
			}
			fmt.Fprintf(w, "SKIP %d tests in %s: %s\n", len(g), strings.Join(pkgs, " "), commonReason(s.reason))
		}
	}
}

// manySkips is the number of tests skipped for one reason from which the
// summary names the reason once.
const manySkips = 4

// commonReason is a skip's reason without the file:line: t.Skip puts in
// front, so that tests skipped by one helper share it.
func commonReason(reason string) string {
	file, rest, ok := strings.Cut(reason, ": ")
	if ok && strings.Contains(file, ".go:") && !strings.Contains(file, " ") {
		return rest
	}
	return reason
}

// read takes the events of a stream; a line that is not an event is
// shown as it is.
func (r *report) read(in io.Reader) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(r.out, "%s\n", line)
			continue
		}
		r.add(e)
	}
	return sc.Err()
}

// goVersion names the Go release go test ran with in dir: make check runs
// the tests with two (GOTOOLCHAIN), and the summary tells them apart.
func goVersion(dir string) string {
	cmd := exec.Command("go", "env", "GOVERSION")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "go env GOVERSION: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}

func main() {
	var summaryFile string
	options := map[string]cli.Option[*string]{
		"--summary": {Values: 1, Set: func(f *string, v []string) error { *f = v[0]; return nil }},
	}
	// The first operand, DIR, ends the options: the rest are go test's.
	args, err := cli.Parse(os.Args[1:], options, &summaryFile, false)
	if err == nil && len(args) < 1 {
		err = cli.Usagef("no DIR (usage: testrun [--summary FILE] DIR [go test flags and packages])")
	}
	if err != nil {
		os.Exit(cli.ReportUsage(os.Stderr, "testrun", err))
	}
	dir, testArgs := args[0], args[1:]
	cmd := exec.Command("go", append([]string{"test", "-json"}, testArgs...)...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(1)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testrun:", err)
		os.Exit(1)
	}
	r := newReport(os.Stdout)
	readErr := r.read(stdout)
	waitErr := cmd.Wait()

	var sum strings.Builder
	fmt.Fprintf(&sum, "== go test %s (in %s, %s, %s) ==\n", strings.Join(testArgs, " "), dir, goVersion(dir), time.Since(start).Round(time.Second))
	r.summary(&sum)
	if waitErr != nil && len(r.pkgFails) == 0 && len(r.failed) == 0 {
		fmt.Fprintf(&sum, "FAIL go test: %v\n", waitErr)
	}
	fmt.Print(sum.String())
	if summaryFile != "" {
		f, err := os.OpenFile(summaryFile, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err == nil {
			_, err = io.WriteString(f, sum.String())
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "testrun:", err)
			os.Exit(1)
		}
	}
	if readErr != nil {
		fmt.Fprintln(os.Stderr, "testrun: reading go test's output:", readErr)
		os.Exit(1)
	}
	if waitErr != nil || len(r.failed) > 0 || len(r.pkgFails) > 0 {
		os.Exit(1)
	}
}
