package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"virtinit/tools/internal/binsize"
)

// sizeReport holds the figures of `make size` and the initrd sizes.
type sizeReport struct {
	Output string `json:"make_size_output"`
	Error  string `json:"make_size_error,omitempty"`
	// Check is sizecheck's verdict on the amd64 binary, as it wrote it
	// (make size SIZE_JSON=DIR); nil when make size failed before it.
	Check    *binsize.Report `json:"make_size,omitempty"`
	Init     int64           `json:"init_bytes"`                // our /init as measured
	BaseInit int64           `json:"base_init_bytes,omitempty"` // the base revision's
	Stamp    int64           `json:"stamp_bytes"`               // the stamp program
	GoStamp  int64           `json:"go_stamp_bytes"`            // the Go floor's program
	// The same for arm64, when an arm64 configuration ran.
	InitArm64    int64 `json:"init_arm64_bytes,omitempty"`
	StampArm64   int64 `json:"stamp_arm64_bytes,omitempty"`
	GoStampArm64 int64 `json:"go_stamp_arm64_bytes,omitempty"`
}

// makeSize runs `make size` in the repository for amd64, with sizecheck's
// JSON going to dir. It fails when the binary is over its budget; the
// figures are kept all the same.
func makeSize(root, dir string) sizeReport {
	cmd := exec.Command("make", "-s", "-C", root, "size", "SIZE_ARCHES=amd64", "GOARCH=amd64", "SIZE_JSON="+dir)
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	out, err := cmd.CombinedOutput()
	r := sizeReport{Output: strings.TrimSpace(string(out))}
	if err != nil {
		r.Error = err.Error()
	}
	check, err := readSizecheck(filepath.Join(dir, "amd64.json"))
	if err != nil {
		r.Error = strings.TrimPrefix(r.Error+"; ", "; ") + err.Error()
	}
	r.Check = check
	return r
}

// readSizecheck reads the JSON file sizecheck -json wrote.
func readSizecheck(path string) (*binsize.Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r binsize.Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("sizecheck's %s: %w", path, err)
	}
	return &r, nil
}
