package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSourceRoot(t *testing.T) {
	dir := t.TempDir()
	tree(t, dir, map[string]string{
		"src/tools/cmd/chrootvm/x": "f",
		"other/go.mod":             "f",
	})
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("src/go.mod", "// comment\nmodule virtinit\n\ngo 1.24\n")
	write("src/tools/go.mod", "module virtinit/tools\n")
	write("other/go.mod", "module \"example.com/virtinit\"\n")
	tests := []struct{ start, want string }{
		{"src/tools/cmd/chrootvm", "src"},
		{"src", "src"},
		{"other", ""},
	}
	for _, tt := range tests {
		want := ""
		if tt.want != "" {
			want = filepath.Join(dir, tt.want)
		}
		if got := sourceRoot(filepath.Join(dir, tt.start)); got != want {
			t.Errorf("sourceRoot(%q) = %q, want %q", tt.start, got, want)
		}
	}
}

func TestFindInitGiven(t *testing.T) {
	p := filepath.Join(t.TempDir(), "init")
	if _, err := findInit(p); err == nil {
		t.Errorf("findInit(%q) of a missing file succeeded", p)
	}
	if err := os.WriteFile(p, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := findInit(p); got != p || err != nil {
		t.Errorf("findInit(%q) = %q, %v", p, got, err)
	}
}
