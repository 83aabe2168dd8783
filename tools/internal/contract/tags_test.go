package contract

import (
	"encoding/json"
	"errors"
	"os"
	"testing"
)

// tagCases reads the table of tag rules /init's tests read too.
func tagCases(t *testing.T) []struct {
	Tags  []string
	Valid bool
	Why   string
} {
	t.Helper()
	b, err := os.ReadFile("../../../testdata/virtiofs-tags.json")
	if err != nil {
		t.Fatal(err)
	}
	var table struct {
		Cases []struct {
			Tags  []string
			Valid bool
			Why   string
		}
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatalf("testdata/virtiofs-tags.json: %v", err)
	}
	if len(table.Cases) == 0 {
		t.Fatal("testdata/virtiofs-tags.json has no cases")
	}
	return table.Cases
}

// TestCheckTags runs the shared table: the host accepts exactly the tags
// /init accepts.
func TestCheckTags(t *testing.T) {
	for _, tc := range tagCases(t) {
		err := CheckTags(tc.Tags)
		var te *TagError
		switch {
		case tc.Valid && err != nil:
			t.Errorf("CheckTags(%q) = %v, want nil", tc.Tags, err)
		case !tc.Valid && (!errors.As(err, &te) || te.Why != tc.Why):
			t.Errorf("CheckTags(%q) = %v, want an error saying %q", tc.Tags, err, tc.Why)
		}
	}
}
