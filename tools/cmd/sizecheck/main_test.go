package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
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

// TestJSON runs sizecheck -json on the test binary as all three files: the
// ratio is 1, within any budget of at least 1, and the JSON file holds
// what the text says.
func TestJSON(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "size.json")
	cmd := exec.Command(exe, "-max", "1.03", "-json", path, "amd64", exe, exe, exe)
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
	if r.Arch != "amd64" || r.Ratio != 1 || r.Budget != 1.03 || !r.Within || r.Binary.File == 0 || r.Binary != r.Floor {
		t.Errorf("sizecheck -json = %+v; want amd64, ratio 1, budget 1.03, within, the same sizes thrice", r)
	}

	// Over budget: exit status 1, and the JSON says so too.
	cmd = exec.Command(exe, "-max", "0.5", "-json", path, "amd64", exe, exe, exe)
	cmd.Env = append(os.Environ(), "SIZECHECK_RUN_MAIN=1")
	out, err = cmd.CombinedOutput()
	if e, ok := err.(*exec.ExitError); !ok || e.ExitCode() != 1 || !strings.Contains(string(out), "OVER BUDGET") {
		t.Errorf("sizecheck -max 0.5 = %v\n%s\nwant exit status 1 and OVER BUDGET", err, out)
	}
	if b, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Within || r.Room >= 0 {
		t.Errorf("sizecheck -max 0.5 -json = %+v, %v; want not within, negative room", r, err)
	}
}
