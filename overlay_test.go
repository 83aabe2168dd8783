package main

import (
	"encoding/json"
	"os"
	"testing"
)

// TestOverlaySizes runs the table of rd.overlay sizes that the host's
// tools/internal/contract checks against too (testdata/overlay-sizes.json):
// /init accepts exactly the sizes chrootvm --overlay=SIZE passes.
func TestOverlaySizes(t *testing.T) {
	b, err := os.ReadFile("testdata/overlay-sizes.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			Size  string
			Valid bool
		}
	}
	if err := json.Unmarshal(b, &table); err != nil || len(table.Cases) == 0 {
		t.Fatalf("testdata/overlay-sizes.json: %v, %d cases", err, len(table.Cases))
	}
	for _, tc := range table.Cases {
		line := `"rd.overlay=` + tc.Size + `"`
		c := defaultConfig()
		err := parseCmdline(line, c)
		switch {
		case tc.Valid && (err != nil || !c.overlay || c.overlaySize != tc.Size):
			t.Errorf("parseCmdline(%q) = %v, overlay %v %q; want the size taken", line, err, c.overlay, c.overlaySize)
		case !tc.Valid && err == nil:
			t.Errorf("parseCmdline(%q) = nil, want an error", line)
		}
	}
}
