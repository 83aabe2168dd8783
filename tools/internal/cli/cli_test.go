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

func TestParse(t *testing.T) {
	type state struct {
		set []string
	}
	options := map[string]Option[*state]{
		"--one": {Values: 1, Set: func(c *state, v []string) error { c.set = append(c.set, "one="+v[0]); return nil }},
		"--two": {Values: 2, Set: func(c *state, v []string) error { c.set = append(c.set, "two="+v[0]+","+v[1]); return nil }},
		"--opt": {Values: 1, Optional: true, Set: func(c *state, v []string) error { c.set = append(c.set, "opt="+strings.Join(v, "")); return nil }},
		"-f":    {Set: func(c *state, v []string) error { c.set = append(c.set, "f"); return nil }},
	}
	tests := []struct {
		args         []string
		interspersed bool
		set, ops     []string
		err          string
	}{
		{[]string{"--one", "a", "--one=b", "--two", "c", "d", "--opt", "--opt=e", "-f", "x", "-"}, false,
			[]string{"one=a", "one=b", "two=c,d", "opt=", "opt=e", "f"}, []string{"x", "-"}, ""},
		{[]string{"x", "-f", "y"}, false, nil, []string{"x", "-f", "y"}, ""},
		{[]string{"x", "-f", "y"}, true, []string{"f"}, []string{"x", "y"}, ""},
		{[]string{"-f", "--", "-f"}, true, []string{"f"}, []string{"-f"}, ""},
		{[]string{"--nope"}, true, nil, nil, "unknown option --nope"},
		{[]string{"--one"}, true, nil, nil, "--one needs 1 value(s)"},
		{[]string{"--two=a"}, true, nil, nil, "--two takes 2 values"},
		{[]string{"-f=1"}, true, nil, nil, "-f takes 0 values"},
	}
	for _, tt := range tests {
		c := &state{}
		ops, err := Parse(tt.args, options, c, tt.interspersed)
		if tt.err != "" {
			if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Parse(%q) = %v, want a usage error %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil || strings.Join(c.set, " ") != strings.Join(tt.set, " ") || strings.Join(ops, " ") != strings.Join(tt.ops, " ") {
			t.Errorf("Parse(%q, %v) = %q, %q, %v; want %q, %q", tt.args, tt.interspersed, c.set, ops, err, tt.set, tt.ops)
		}
	}
}
