package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestTagRules runs the table of virtiofs tag rules that the host's
// tools/internal/contract checks against too (testdata/virtiofs-tags.json):
// /init accepts exactly the tags vm.Run accepts. Each tag goes on the
// command line quoted, as the host's builder may quote it.
func TestTagRules(t *testing.T) {
	b, err := os.ReadFile("testdata/virtiofs-tags.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			Tags  []string
			Valid bool
			Why   string
			Line  *bool
		}
	}
	if err := json.Unmarshal(b, &table); err != nil || len(table.Cases) == 0 {
		t.Fatalf("testdata/virtiofs-tags.json: %v, %d cases", err, len(table.Cases))
	}
	for _, tc := range table.Cases {
		if tc.Line != nil && !*tc.Line {
			continue // no command line carries it to /init
		}
		words := []string{`rootfs="` + tc.Tags[0] + `"`}
		for _, tag := range tc.Tags[1:] {
			words = append(words, `mount="`+tag+`"`)
		}
		line := strings.Join(words, " ")
		err := parseCmdline(line, defaultConfig())
		switch {
		case tc.Valid && err != nil:
			t.Errorf("parseCmdline(%q) = %v, want nil", line, err)
		case !tc.Valid && (err == nil || !strings.HasSuffix(err.Error(), tc.Why)):
			t.Errorf("parseCmdline(%q) = %v, want an error saying %q", line, err, tc.Why)
		}
	}
}
