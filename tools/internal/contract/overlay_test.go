package contract

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestCheckOverlaySize runs the table /init's tests run too: the host
// accepts exactly the sizes /init accepts.
func TestCheckOverlaySize(t *testing.T) {
	b, err := os.ReadFile("../../../testdata/overlay-sizes.json")
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
		if err := CheckOverlaySize(tc.Size); (err == nil) != tc.Valid {
			t.Errorf("CheckOverlaySize(%q) = %v, want valid %v", tc.Size, err, tc.Valid)
		}
	}
	// The message says what is wanted, whichever rule the size broke.
	for _, size := range []string{"1t", "16mb", "abc", "0"} {
		err := CheckOverlaySize(size)
		if err == nil || !strings.Contains(err.Error(), "k, m or g") || !strings.Contains(err.Error(), "not 0") {
			t.Errorf("CheckOverlaySize(%q) = %v, want the rules named", size, err)
		}
	}
	if got := OverlayWord(""); got != "rd.overlay" {
		t.Errorf(`OverlayWord("") = %q, want rd.overlay`, got)
	}
	if got := OverlayWord("16m"); got != "rd.overlay=16m" {
		t.Errorf(`OverlayWord("16m") = %q, want rd.overlay=16m`, got)
	}
}
