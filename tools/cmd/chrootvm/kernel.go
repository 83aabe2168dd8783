package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// kernel is the kernel chrootvm boots and its module tree ("" when none
// was found).
type kernel struct {
	image   string
	modules string
	release string
	arch    string // read from the image's header
	// built is the release the image itself names (bzImageRelease), or
	// "" where its header does not tell: the modules must be its.
	built string
}

// moduleDirs are where a system keeps its module trees, newest layout
// first.
var moduleDirs = []string{"usr/lib/modules", "lib/modules"}

// findKernel finds the newest kernel in ROOTFS, by version order of its
// release: usr/lib/modules/KVER/vmlinuz (where Fedora puts it), or
// boot/vmlinuz-KVER (Debian). Its modules are those of the same KVER.
func findKernel(root string) (kernel, error) {
	found := map[string]kernel{}
	add := func(k kernel) {
		if old, ok := found[k.release]; !ok || old.modules == "" && k.modules != "" {
			found[k.release] = k
		}
	}
	for _, md := range moduleDirs {
		dir, err := resolveIn(root, md)
		if err != nil {
			continue
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			image, err := resolveIn(root, md+"/"+e.Name()+"/vmlinuz")
			if err != nil || !isFile(image) {
				continue
			}
			add(kernel{image: image, modules: filepath.Join(dir, e.Name()), release: e.Name()})
		}
	}
	if dir, err := resolveIn(root, "boot"); err == nil {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			release, ok := strings.CutPrefix(e.Name(), "vmlinuz-")
			if !ok || release == "" {
				continue
			}
			image, err := resolveIn(root, "boot/"+e.Name())
			if err != nil || !isFile(image) {
				continue
			}
			add(kernel{image: image, modules: treeIn(root, release), release: release})
		}
	}
	var best kernel
	for _, k := range found {
		if best.image == "" || compareVersions(k.release, best.release) > 0 {
			best = k
		}
	}
	if best.image == "" {
		return best, fmt.Errorf("no kernel in %s (looked for usr/lib/modules/KVER/vmlinuz, lib/modules/KVER/vmlinuz and boot/vmlinuz-KVER); pass --kernel FILE", root)
	}
	return best, nil
}

// treeIn returns the module tree of a release inside root, or "".
func treeIn(root, release string) string {
	for _, md := range moduleDirs {
		if dir, err := resolveIn(root, md+"/"+release); err == nil && isDir(dir) {
			return dir
		}
	}
	return ""
}

// modulesOf finds the module tree of a kernel image given on the command
// line: the directory of .../modules/KVER/vmlinuz itself; for
// .../boot/vmlinuz-KVER, the tree of an unpacked package or system around
// it (../lib/modules/KVER), then ROOTFS's. Symbolic links to the image
// are followed first, so a link named vmlinuz to boot/vmlinuz-KVER leads
// to the tree next to boot/.
func modulesOf(image, root string) string {
	if real, err := filepath.EvalSymlinks(image); err == nil {
		image = real
	}
	dir, base := filepath.Split(image)
	dir = filepath.Clean(dir)
	if base == "vmlinuz" && isFile(filepath.Join(dir, "modules.builtin")) {
		return dir
	}
	release, ok := strings.CutPrefix(base, "vmlinuz-")
	if !ok || release == "" {
		return ""
	}
	around := filepath.Dir(dir)
	for _, md := range moduleDirs {
		if t := filepath.Join(around, md, release); isDir(t) {
			return t
		}
	}
	return treeIn(root, release)
}

// compareVersions orders kernel releases: runs of digits compare as
// numbers, everything else byte by byte, so 6.1.0-30 is newer than
// 6.1.0-9 and 6.12 newer than 6.9. It returns -1, 0 or +1.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		ra, resta := leadingRun(a)
		rb, restb := leadingRun(b)
		if c := compareRuns(ra, rb); c != 0 {
			return c
		}
		a, b = resta, restb
	}
	switch {
	case a != "":
		return 1
	case b != "":
		return -1
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// leadingRun splits s after its first run of digits or of non-digits.
func leadingRun(s string) (run, rest string) {
	digit := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == digit {
		i++
	}
	return s[:i], s[i:]
}

// compareRuns compares two runs: numbers by value, a number above
// anything else, other runs byte by byte.
func compareRuns(a, b string) int {
	da, db := isDigit(a[0]), isDigit(b[0])
	switch {
	case da && db:
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return sign(len(a) - len(b))
		}
		return strings.Compare(a, b)
	case da:
		return 1
	case db:
		return -1
	}
	return strings.Compare(a, b)
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// notFile says why p is not a regular file ("no such file", "is a
// directory", the stat error), or "" when it is one.
func notFile(p string) string {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file"
	case err != nil:
		return err.Error()
	case fi.IsDir():
		return "is a directory, not a file"
	case !fi.Mode().IsRegular():
		return "is not a regular file"
	}
	return ""
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
