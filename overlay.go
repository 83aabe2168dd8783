package main

import "golang.org/x/sys/unix"

// overlayDir is the tmpfs of rd.overlay: the overlay's upper and work
// directories, and lower, where the virtiofs root is mounted read-only.
// It lies in /run, so it moves into the new root with /run, where the
// program finds the host's root as it was (lower) and its own changes
// (upper).
const overlayDir = "/run/overlay"

// mountOverlayRoot mounts the root for rd.overlay: a tmpfs of the given
// size (tmpfs's size=, "" for its default of half the memory), the
// virtiofs root read-only in it, and on /sysroot an overlay of the two.
// Writes land in the tmpfs and vanish with the machine; the host's
// directory is never written. A full tmpfs gives the writer ENOSPC.
func mountOverlayRoot(c *config, deadline int64) error {
	t := now()
	data := "mode=0755"
	if c.overlaySize != "" {
		data += ",size=" + c.overlaySize
	}
	err := mkdirAll(overlayDir)
	if err == 0 {
		err = mount("tmpfs", overlayDir, "tmpfs", 0, data)
	}
	if err != 0 {
		return fail("mount tmpfs ("+data+") on", overlayDir, err)
	}
	for _, d := range [...]string{"/upper", "/work"} {
		if err := mkdirAll(overlayDir + d); err != 0 {
			return fail("mkdir", overlayDir+d, err)
		}
	}
	debugf(t, "mount", overlayDir, "tmpfs "+data)
	if err := mountVirtiofs(c.rootTag, overlayDir+"/lower", true, deadline); err != nil {
		return err
	}
	t = now()
	err = mkdirAll(sysroot)
	if err == 0 {
		err = mount("overlay", sysroot, "overlay", 0,
			"lowerdir="+overlayDir+"/lower,upperdir="+overlayDir+"/upper,workdir="+overlayDir+"/work")
	}
	if err == unix.ENODEV {
		return failWhy("mount overlay on", sysroot, err,
			"the kernel has no overlay filesystem: build it in, or add its module to the initrd (mkvirtinitrd --overlay)")
	}
	if err != 0 {
		return fail("mount overlay on", sysroot, err)
	}
	debugf(t, "mount", sysroot, "overlay")
	return nil
}

// validSize reports whether s is a size tmpfs takes: a number with an
// optional k, m, g (or capital) suffix, or a percentage of the memory.
// Zero is refused: to tmpfs it means no limit.
func validSize(s string) bool {
	n := len(s)
	if n > 1 && indexByte("kKmMgG%", s[n-1]) >= 0 {
		n--
	}
	v, ok := atoi(s[:n])
	return ok && v > 0
}
