package main

import (
	"io"
	"strings"
	"testing"
)

// events is what `go test -json` printed for a package with a skipped
// subtest, a failed test, a slow test and a quick one.
const events = `{"Action":"start","Package":"x/p"}
{"Action":"run","Package":"x/p","Test":"TestA"}
{"Action":"output","Package":"x/p","Test":"TestA","Output":"=== RUN   TestA\n"}
{"Action":"run","Package":"x/p","Test":"TestA/sub"}
{"Action":"output","Package":"x/p","Test":"TestA/sub","Output":"=== RUN   TestA/sub\n"}
{"Action":"output","Package":"x/p","Test":"TestA/sub","Output":"    x_test.go:3: no kernel here\n"}
{"Action":"output","Package":"x/p","Test":"TestA/sub","Output":"        second line\n"}
{"Action":"output","Package":"x/p","Test":"TestA/sub","Output":"--- SKIP: TestA/sub (0.00s)\n"}
{"Action":"skip","Package":"x/p","Test":"TestA/sub","Elapsed":0}
{"Action":"output","Package":"x/p","Test":"TestA","Output":"--- PASS: TestA (0.00s)\n"}
{"Action":"pass","Package":"x/p","Test":"TestA","Elapsed":0}
{"Action":"run","Package":"x/p","Test":"TestB"}
{"Action":"output","Package":"x/p","Test":"TestB","Output":"=== RUN   TestB\n"}
{"Action":"output","Package":"x/p","Test":"TestB","Output":"    x_test.go:4: bad thing\n"}
{"Action":"output","Package":"x/p","Test":"TestB","Output":"--- FAIL: TestB (0.00s)\n"}
{"Action":"fail","Package":"x/p","Test":"TestB","Elapsed":0}
{"Action":"run","Package":"x/p","Test":"TestSlow"}
{"Action":"output","Package":"x/p","Test":"TestSlow","Output":"=== RUN   TestSlow\n"}
{"Action":"pass","Package":"x/p","Test":"TestSlow","Elapsed":12.5}
{"Action":"output","Package":"x/p","Output":"FAIL\n"}
{"Action":"output","Package":"x/p","Output":"FAIL\tx/p\t1.124s\n"}
{"Action":"fail","Package":"x/p","Elapsed":13}
not an event
{"Action":"build-output","ImportPath":"x/q","Output":"q.go:1: syntax error\n"}
{"Action":"build-fail","ImportPath":"x/q"}
{"Action":"start","Package":"x/q"}
{"Action":"output","Package":"x/q","Output":"FAIL\tx/q [build failed]\n"}
{"Action":"fail","Package":"x/q","Elapsed":0,"FailedBuild":"x/q [x/q.test]"}
`

// timeout is what `go test -json -timeout 2s` printed for a parallel
// subtest still running when the alarm fired.
const timeout = `{"Action":"start","Package":"x/t"}
{"Action":"run","Package":"x/t","Test":"TestA"}
{"Action":"run","Package":"x/t","Test":"TestA/sub"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"=== RUN   TestA/sub\n"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"    x_test.go:3: starting\n"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"panic: test timed out after 2s\n"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"\trunning tests:\n"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"\t\tTestA/sub (2s)\n"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"goroutine 7 [running]:\n"}
{"Action":"output","Package":"x/t","Test":"TestA/sub","Output":"testing.(*M).startAlarm.func1()\n"}
{"Action":"run","Package":"x/t","Test":"TestC"}
{"Action":"pass","Package":"x/t","Test":"TestC","Elapsed":0}
{"Action":"output","Package":"x/t","Output":"FAIL\tx/t\t2.049s\n"}
{"Action":"fail","Package":"x/t","Elapsed":2.051}
`

func TestReportTimeout(t *testing.T) {
	var out, sum strings.Builder
	r := newReport(&out)
	if err := r.read(strings.NewReader(timeout)); err != nil {
		t.Fatal(err)
	}
	r.summary(&sum)
	for _, want := range []string{
		"FAIL t TestA: did not end\n",
		"FAIL t TestA/sub: did not end\n",
		"| panic: test timed out after 2s\n",
		"| \t\tTestA/sub (2s)\n",
		"| (goroutine dump left out)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "startAlarm") || strings.Contains(out.String(), "TestC") {
		t.Errorf("progress shows the goroutine dump or the passed TestC:\n%s", out.String())
	}
	wantSum := `1 packages, 1 failed, 2 tests failed, 0 skipped
FAIL x/t
FAIL x/t TestA (did not end)
FAIL x/t TestA/sub (did not end)
`
	if sum.String() != wantSum {
		t.Errorf("summary:\n%s\nwant:\n%s", sum.String(), wantSum)
	}
}

func TestReport(t *testing.T) {
	var out, sum strings.Builder
	r := newReport(&out)
	if err := r.read(strings.NewReader(events)); err != nil {
		t.Fatal(err)
	}
	r.summary(&sum)
	for _, want := range []string{
		"SKIP p TestA/sub: x_test.go:3: no kernel here second line\n",
		"FAIL p TestB (0.0s)\n",
		"| " + "    x_test.go:4: bad thing\n",
		"PASS p TestSlow (12.5s)\n",
		"FAIL x/p 13.0s\n",
		"not an event\n",
		"q.go:1: syntax error\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "TestA ") {
		t.Errorf("progress shows the quick passing TestA:\n%s", out.String())
	}
	wantSum := `2 packages, 2 failed, 1 tests failed, 1 skipped
FAIL x/p
FAIL x/q (build failed: x/q [x/q.test])
FAIL x/p TestB
SKIP x/p TestA/sub: x_test.go:3: no kernel here second line
`
	if sum.String() != wantSum {
		t.Errorf("summary:\n%s\nwant:\n%s", sum.String(), wantSum)
	}
}

// TestSummaryGroupsSkips: four or more tests skipped for the same reason
// (what the file:line prefix aside) are one line of the summary; fewer
// are named one by one.
func TestSummaryGroupsSkips(t *testing.T) {
	r := newReport(io.Discard)
	for i, name := range []string{"TestA", "TestB", "TestC", "TestD"} {
		r.skipped = append(r.skipped, result{pkg: "x/p" + string(rune('1'+i%2)), test: name, reason: "a_test.go:" + string(rune('1'+i)) + ": boots a VM: not with -short"})
	}
	r.skipped = append(r.skipped, result{pkg: "x/q", test: "TestE", reason: "e_test.go:9: no kernel"})
	var sum strings.Builder
	r.summary(&sum)
	want := `0 packages, 0 failed, 0 tests failed, 5 skipped
SKIP 4 tests in x/p1 x/p2: boots a VM: not with -short
SKIP x/q TestE: e_test.go:9: no kernel
`
	if sum.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", sum.String(), want)
	}
}
