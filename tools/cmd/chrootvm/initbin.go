package main

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"virtinit/tools/internal/cpuarch"
)

// findInit finds the /init binary for the architecture a: the file
// given with --init; else, next to the chrootvm executable (where an
// installation puts them), initrd.GOARCH or initrd; else, in the
// virtinit source tree that holds the executable or the working
// directory, out/GOARCH/initrd or out/initrd (`make build` writes them
// there). A binary built for another architecture is passed over.
func findInit(given, a string) (string, error) {
	want, _ := cpuarch.Lookup(a)
	if given != "" {
		if why := notFile(given); why != "" {
			return "", errors.New("--init " + given + ": " + why)
		}
		if why := describeInit(given, want); why != "" {
			return "", errors.New("--init " + given + " " + why)
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
		candidates = append(candidates, filepath.Join(dir, "initrd."+want.GOARCH), filepath.Join(dir, "initrd"))
		starts = append(starts, dir)
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, s := range starts {
		if root := sourceRoot(s); root != "" {
			candidates = append(candidates, filepath.Join(root, "out", want.GOARCH, "initrd"), filepath.Join(root, "out", "initrd"))
		}
	}
	var others []string
	for _, c := range candidates {
		if !isFile(c) {
			continue
		}
		if why := describeInit(c, want); why != "" {
			others = append(others, c+" ("+why+")")
			continue
		}
		return c, nil
	}
	msg := "no /init binary for " + a + ": build it with `make build GOARCH=" + want.GOARCH + "` (it goes to out/" + want.GOARCH + "/initrd), or pass --init FILE"
	if len(others) > 0 {
		msg += "; passed over " + strings.Join(others, ", ")
	}
	return "", errors.New(msg)
}

// describeInit says why path cannot be the /init of a guest of
// architecture want, or "" when it can: a static program for it.
func describeInit(path string, want cpuarch.Arch) string {
	err := cpuarch.CheckStatic(path, want.Name)
	if pe := (*cpuarch.ProgramError)(nil); errors.As(err, &pe) {
		return pe.Why
	} else if err != nil {
		return err.Error()
	}
	return ""
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
