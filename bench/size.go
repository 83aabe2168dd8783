package main

import (
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// sizeReport holds the figures of `make size` and the initrd sizes.
type sizeReport struct {
	Output   string           `json:"make_size_output"`
	Error    string           `json:"make_size_error,omitempty"`
	Bytes    map[string]int64 `json:"bytes"` // file sizes: "empty main", "initrd" etc., as make size names them
	Ratio    float64          `json:"ratio"` // the binary over the x/sys/unix floor
	Budget   float64          `json:"budget"`
	Init     int64            `json:"init_bytes"`                // our /init as measured
	BaseInit int64            `json:"base_init_bytes,omitempty"` // the base revision's
	Stamp    int64            `json:"stamp_bytes"`               // the stamp program
	GoStamp  int64            `json:"go_stamp_bytes"`            // the Go floor's program
	// The same for arm64, when an arm64 configuration ran.
	InitArm64    int64 `json:"init_arm64_bytes,omitempty"`
	StampArm64   int64 `json:"stamp_arm64_bytes,omitempty"`
	GoStampArm64 int64 `json:"go_stamp_arm64_bytes,omitempty"`
}

var (
	// sizeLine is a row of tools/cmd/sizecheck: ARCH NAME FILE UNPADDED.
	sizeLine = regexp.MustCompile(`(?m)^amd64\s+(\S.*?)\s+([0-9]+)\s+([0-9]+)$`)
	// verdictLine is its last line: within budget or OVER BUDGET, the
	// ratio it judged and the budget.
	verdictLine = regexp.MustCompile(`(?m)^amd64\s+(?:within budget|OVER BUDGET): .*ratio ([0-9.]+) (?:<=|>) ([0-9.]+)`)
)

// parseSize reads the amd64 lines of `make size` (tools/cmd/sizecheck).
func parseSize(out string) (bytes map[string]int64, ratio, budget float64) {
	bytes = map[string]int64{}
	for _, m := range sizeLine.FindAllStringSubmatch(out, -1) {
		if n, err := strconv.ParseInt(m[2], 10, 64); err == nil {
			bytes[strings.TrimSpace(m[1])] = n
		}
	}
	if m := verdictLine.FindStringSubmatch(out); m != nil {
		ratio, _ = strconv.ParseFloat(m[1], 64)
		budget, _ = strconv.ParseFloat(m[2], 64)
	}
	return bytes, ratio, budget
}

// makeSize runs `make size` in the repository for amd64. It fails when the
// binary is over its budget; the figures are kept all the same.
func makeSize(root string) sizeReport {
	cmd := exec.Command("make", "-s", "-C", root, "size", "SIZE_ARCHES=amd64", "GOARCH=amd64")
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	out, err := cmd.CombinedOutput()
	r := sizeReport{Output: strings.TrimSpace(string(out))}
	if err != nil {
		r.Error = err.Error()
	}
	r.Bytes, r.Ratio, r.Budget = parseSize(r.Output)
	return r
}
