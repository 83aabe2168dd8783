package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"virtinit/tools/internal/binsize"
)

// TestMain runs the command itself when the test re-executes its binary.
func TestMain(m *testing.M) {
	if os.Getenv("SIZECHECK_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestJSON runs sizecheck -json on the test binary as all three files: it
// adds nothing to the floor, is within any budget, and the JSON file holds
// what the text says.
func TestJSON(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "size.json")
	cmd := exec.Command(exe, "--over", "1000", "--json", path, "amd64", exe, exe, exe)
	cmd.Env = append(os.Environ(), "SIZECHECK_RUN_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sizecheck: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "within budget") {
		t.Errorf("sizecheck printed no verdict:\n%s", out)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r binsize.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("sizecheck -json wrote %q: %v", b, err)
	}
	if r.Arch != "amd64" || r.Added != 0 || r.Budget != 1000 || !r.Within || r.Binary.File == 0 || r.Binary != r.Floor || r.GoVersion != runtime.Version() {
		t.Errorf("sizecheck -json = %+v; want amd64, adds 0, budget 1000, within, the same sizes thrice, built by %s", r, runtime.Version())
	}

	// Over the limit: exit status 1, and the JSON says so too.
	cmd = exec.Command(exe, "--over", "1000", "--limit", "1000", "--json", path, "amd64", exe, exe, exe)
	cmd.Env = append(os.Environ(), "SIZECHECK_RUN_MAIN=1")
	out, err = cmd.CombinedOutput()
	if e, ok := err.(*exec.ExitError); !ok || e.ExitCode() != 1 || !strings.Contains(string(out), "OVER BUDGET") {
		t.Errorf("sizecheck --limit 1000 = %v\n%s\nwant exit status 1 and OVER BUDGET", err, out)
	}
	if b, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Within || r.Room >= 0 {
		t.Errorf("sizecheck --limit 1000 -json = %+v, %v; want not within, negative room", r, err)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"--over", "1", "amd64", "a", "b"}, {"amd64", "a", "b", "c"}, {"--over", "lots", "amd64", "a", "b", "c"}, {"--max", "1.05", "amd64", "a", "b", "c"}} {
		var out, errs strings.Builder
		if code := run(args, &out, &errs); code != 2 || !strings.Contains(errs.String(), "Try 'sizecheck --help'") {
			t.Errorf("sizecheck %q = %d, %q; want 2 and a pointer to --help", args, code, errs.String())
		}
	}
	var out, errs strings.Builder
	if code := run([]string{"--help"}, &out, &errs); code != 0 || !strings.HasPrefix(out.String(), "Usage: sizecheck") {
		t.Errorf("sizecheck --help = %d, %q", code, out.String())
	}
}
