package cli

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestUsage(t *testing.T) {
	err := Usagef("--cpus %q: want a number", "two")
	if !IsUsage(err) || !IsUsage(fmt.Errorf("wrapped: %w", err)) || IsUsage(errors.New("other")) || IsUsage(nil) {
		t.Error("IsUsage does not tell usage errors from others")
	}
	var b strings.Builder
	if code := ReportUsage(&b, "tool", err); code != 2 {
		t.Errorf("ReportUsage = %d, want 2", code)
	}
	if want := "tool: --cpus \"two\": want a number\nTry 'tool --help'.\n"; b.String() != want {
		t.Errorf("ReportUsage wrote %q, want %q", b.String(), want)
	}
}
