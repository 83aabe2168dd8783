package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// findInit finds the /init binary: the file given with --init; else
// "initrd" next to the chrootvm executable (where an installation puts
// both); else out/initrd of the virtinit source tree that holds the
// executable or the working directory (`make build` writes it there).
func findInit(given string) (string, error) {
	if given != "" {
		if !isFile(given) {
			return "", errors.New("--init " + given + ": no such file")
		}
		return given, nil
	}
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		next := filepath.Join(filepath.Dir(exe), "initrd")
		if isFile(next) {
			return next, nil
		}
		starts = append(starts, filepath.Dir(exe))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, s := range starts {
		if root := sourceRoot(s); root != "" {
			if p := filepath.Join(root, "out", "initrd"); isFile(p) {
				return p, nil
			}
		}
	}
	return "", errors.New("no /init binary: build it with `make build` (it goes to out/initrd), or pass --init FILE")
}

// sourceRoot returns the directory at or above dir holding the go.mod of
// module virtinit, or "".
func sourceRoot(dir string) string {
	for {
		if isVirtinitModule(filepath.Join(dir, "go.mod")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func isVirtinitModule(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if f := strings.Fields(s.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`) == "virtinit"
		}
	}
	return false
}
