package main

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/vm"
)

// maxLinks bounds the symbolic links followed in one path, as the kernel
// does (MAXSYMLINKS, 40).
const maxLinks = 40

var errLoop = errors.New("too many levels of symbolic links")

// resolveIn finds name, a path inside root, the way the guest will see
// it once root is its /: symbolic links are followed with an absolute
// target taken inside root, and ".." stops at root. It returns the host
// path of what name names.
func resolveIn(root, name string) (string, error) {
	return resolveGuest(root, nil, name)
}

// resolveGuest is resolveIn in the guest's whole tree: below
// /run/mnt/TAG, where /init mounts the share TAG, names are looked for
// in the share's host directory. A link may so lead from ROOTFS into a
// share, out of a share into ROOTFS (an absolute target, or ".."
// beyond the share's top), or from one share into another, as it does
// in the guest.
func resolveGuest(root string, shares []vm.Share, name string) (string, error) {
	host := func(guest string) string {
		if rest, ok := strings.CutPrefix(guest, sharesDir); ok {
			tag, in, _ := strings.Cut(rest, "/")
			if i := slices.IndexFunc(shares, func(s vm.Share) bool { return s.Tag == tag }); i >= 0 {
				return filepath.Join(shares[i].Path, in)
			}
		}
		return filepath.Join(root, guest)
	}
	resolved := "/"
	todo := strings.Split(name, "/")
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = path.Dir(resolved)
			continue
		}
		next := path.Join(resolved, c)
		if next+"/" == sharesDir || next == path.Dir(path.Clean(sharesDir)) {
			// /run and /run/mnt: directories of /init's tmpfs in the
			// guest, whatever ROOTFS holds there.
			resolved = next
			continue
		}
		host := host(next)
		fi, err := os.Lstat(host)
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			resolved = next
			continue
		}
		if links++; links > maxLinks {
			return "", &fs.PathError{Op: "resolve", Path: host, Err: errLoop}
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			resolved = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return host(resolved), nil
}

// binDirs are where a PROGRAM without a slash is looked for in ROOTFS, in
// this order.
var binDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// defaultProgram runs when no PROGRAM is given, as chroot(1) runs a shell.
const defaultProgram = "/bin/sh"

// programError says that PROGRAM cannot run; its kind is errNotFound or
// errNotExecutable.
func programError(kind error, msg string) error { return failure(kind, errors.New(msg)) }

// sharesDir is where /init mounts the shares in the guest, with the
// slash that begins a tag: /run/mnt/TAG.
const sharesDir = contract.SharesDir + "/"

// findProgram returns the absolute path in the guest of the program to
// run. A name without a slash is looked for in ROOTFS's binDirs; a name
// under /run/mnt/TAG/ in the host directory shared as TAG, where the
// guest will find it; any other name is taken from ROOTFS's top. The path
// keeps the name the user gave (/bin/sh stays /bin/sh even where it is a
// link to busybox, which needs its name).
func findProgram(root, program string, shares []vm.Share) (string, error) {
	if program == "" {
		program = defaultProgram
	}
	var candidates []string
	if strings.Contains(program, "/") {
		candidates = []string{path.Clean("/" + program)}
	} else {
		for _, d := range binDirs {
			candidates = append(candidates, d+"/"+program)
		}
	}
	where := "in " + root
	if rest, ok := strings.CutPrefix(candidates[0], sharesDir); ok {
		tag, _, _ := strings.Cut(rest, "/")
		i := slices.IndexFunc(shares, func(s vm.Share) bool { return s.Tag == tag })
		if i < 0 {
			return "", programError(errNotFound, "program "+candidates[0]+": no share has the tag "+tag+" (give one with --mount or --mount-ro)")
		}
		where = "in share " + tag + " (" + shares[i].Path + ")"
	}
	var notExec string
	for _, p := range candidates {
		host, err := resolveGuest(root, shares, p)
		if err != nil {
			continue
		}
		fi, err := os.Stat(host)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		if fi.Mode().Perm()&0o111 == 0 {
			if notExec == "" {
				notExec = p
			}
			continue
		}
		return p, nil
	}
	if notExec != "" {
		return "", programError(errNotExecutable, "program "+notExec+" "+where+" is not executable")
	}
	if len(candidates) == 1 {
		return "", programError(errNotFound, "program "+candidates[0]+" not found "+where)
	}
	return "", programError(errNotFound, "program "+program+" not found "+where+" (looked in "+strings.Join(binDirs, ", ")+")")
}
