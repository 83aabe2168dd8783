package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// maxFuncLines is where a function's length is a defect (STYLE.md: a
// smell at 80 lines, a defect past 100).
const maxFuncLines = 100

// TestFunctionLength holds every function of /init, chrootvm, vm and
// initrd under maxFuncLines lines, tests aside: a reader follows each in
// one sitting.
func TestFunctionLength(t *testing.T) {
	dirs := []string{".", "tools/cmd/chrootvm", "tools/cmd/mkvirtinitrd", "tools/internal/vm", "tools/internal/initrd", "tools/internal/contract"}
	checked := 0
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no Go files (%v)", dir, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			fset := token.NewFileSet()
			file, err := parser.ParseFile(fset, f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range file.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				checked++
				if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFuncLines {
					t.Errorf("%s: %s is %d lines, more than %d", f, fn.Name.Name, n, maxFuncLines)
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("checked %d functions: the directories moved?", checked)
	}
}

// TestCitationsInRepository: comments cite files of the repository, not
// the notes of a machine it was developed on: the
// facts the code relies on are in docs/facts.md and the bench README.
func TestCitationsInRepository(t *testing.T) {
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (path == "out" || path == "vendor" || path == "tools/vendor" || strings.HasPrefix(d.Name(), ".") && path != ".") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, bad := range []string{"BOOT-" + "NOTES", "../" + "shared/"} {
			if strings.Contains(string(b), bad) {
				t.Errorf("%s cites %s, which is not in the repository (docs/facts.md is)", path, bad)
			}
		}
		return nil
	})
	if err != nil || files < 50 {
		t.Fatalf("walked %d files: %v", files, err)
	}
}
