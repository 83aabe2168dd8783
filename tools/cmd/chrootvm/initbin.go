package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// findInit finds the /init binary for the architecture a: the file
// given with --init; else, next to the chrootvm executable (where an
// installation puts them), initrd.GOARCH or initrd; else, in the
// virtinit source tree that holds the executable or the working
// directory, out/GOARCH/initrd or out/initrd (`make build` writes them
// there). A binary built for another architecture is passed over.
func findInit(given, a string) (string, error) {
	want := arches[a]
	if given != "" {
		if !isFile(given) {
			return "", errors.New("--init " + given + ": no such file")
		}
		if got := elfArch(given); got != a {
			return "", errors.New("--init " + given + ": " + describeArch(got) + ", not a static " + a + " program")
		}
		return given, nil
	}
	var candidates []string
	var starts []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		dir := filepath.Dir(exe)
		candidates = append(candidates, filepath.Join(dir, "initrd."+want.goarch), filepath.Join(dir, "initrd"))
		starts = append(starts, dir)
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, s := range starts {
		if root := sourceRoot(s); root != "" {
			candidates = append(candidates, filepath.Join(root, "out", want.goarch, "initrd"), filepath.Join(root, "out", "initrd"))
		}
	}
	var others []string
	for _, c := range candidates {
		if !isFile(c) {
			continue
		}
		if got := elfArch(c); got != a {
			others = append(others, c+" ("+describeArch(got)+")")
			continue
		}
		return c, nil
	}
	msg := "no /init binary for " + a + ": build it with `make build GOARCH=" + want.goarch + "` (it goes to out/" + want.goarch + "/initrd), or pass --init FILE"
	if len(others) > 0 {
		msg += "; passed over " + strings.Join(others, ", ")
	}
	return "", errors.New(msg)
}

// describeArch says what elfArch found.
func describeArch(a string) string {
	if a == "" {
		return "not an ELF program of x86_64 or aarch64"
	}
	return "built for " + a
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
