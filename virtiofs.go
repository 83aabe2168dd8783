package main

import "golang.org/x/sys/unix"

const (
	sysroot   = "/sysroot"
	sharesDir = "/run/mnt"
)

// virtiofsSysfs lists the virtio-fs devices with their tags (Linux 6.9+).
var virtiofsSysfs = "/sys/fs/virtiofs"

// mountShares mounts the root tag read-only at /sysroot (with
// rd.overlay, under an overlay there), then each extra tag at
// /run/mnt/TAG.
func mountShares(c *config) error {
	deadline := now() + int64(c.timeout)*1e6
	var err error
	if c.overlay {
		err = mountOverlayRoot(c, deadline)
	} else {
		err = mountVirtiofs(c.rootTag, sysroot, true, deadline)
	}
	if err != nil {
		return err
	}
	for _, s := range c.shares {
		if err := mountVirtiofs(s.tag, sharesDir+"/"+s.tag, s.readOnly, deadline); err != nil {
			return err
		}
	}
	return nil
}

// mountVirtiofs mounts one tag. The device of a tag may appear after /init
// starts (a driver probing late), so a mount that fails because the tag or
// the filesystem is not there yet is retried with a growing pause until
// the deadline.
func mountVirtiofs(tag, target string, readOnly bool, deadline int64) error {
	if err := mkdirAll(target); err != 0 {
		return fail("mkdir", target, err)
	}
	var flags uintptr
	if readOnly {
		flags = unix.MS_RDONLY
	}
	pause := int64(1000) // microseconds
	for {
		t := now()
		err := mount(tag, target, "virtiofs", flags, "")
		if err == 0 {
			mode := "rw"
			if readOnly {
				mode = "ro"
			}
			debugf(t, "virtiofs", tag, target+" "+mode)
			return nil
		}
		// EINVAL: no device has this tag (fs/fuse/virtio_fs.c prints
		// "tag <X> not found"); ENODEV: no virtiofs filesystem yet.
		if err != unix.EINVAL && err != unix.ENODEV {
			return fail("mount virtiofs "+tag+" on", target, err)
		}
		if now() >= deadline {
			if err == unix.ENODEV {
				return failWhy("mount virtiofs "+tag+" on", target, err,
					"the kernel has no virtiofs filesystem: build it in or put the virtiofs module and its dependencies into the initrd")
			}
			return errorString(`virtiofs tag "` + tag + `" not found: ` + knownTags())
		}
		sleep(pause)
		if pause < 100000 {
			pause *= 2
		}
	}
}

// knownTags describes the tags the kernel has devices for.
func knownTags() string {
	devs, err := readDirNames(virtiofsSysfs)
	if err != 0 {
		return "the kernel lists no tags (" + virtiofsSysfs + " needs Linux 6.9)"
	}
	tags := "the kernel has no virtio-fs devices"
	for i, d := range devs {
		t, _ := readFile(virtiofsSysfs + "/" + d + "/tag")
		if i == 0 {
			tags = "the kernel has"
		}
		tags += ` "` + trimNewline(t) + `"`
	}
	return tags
}
