package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// movedMounts are moved from the initramfs into the new root; what is
// mounted below them (/dev/pts, /sys/fs/cgroup, /run/mnt/TAG) moves along.
var movedMounts = []string{"/run", "/dev", "/proc", "/sys", "/tmp"}

// switchRoot makes /sysroot the root: it moves the API mounts into it,
// DELETES THE INITRAMFS CONTENTS, moves /sysroot onto / and chroots there.
// The same steps as util-linux's switch_root; the initramfs cannot be
// unmounted, so its files are removed to give its memory back.
func switchRoot() error {
	for _, m := range movedMounts {
		moveMount(m, sysroot+m)
	}
	t := now()
	if err := removeInitramfs("/"); err != nil {
		return err
	}
	debugf(-1, "delete", "initramfs", "in "+msec(now()-t)+" ms")
	if err := sysPath(unix.SYS_CHDIR, sysroot, 0); err != 0 {
		return fail("chdir", sysroot, err)
	}
	if err := mount(".", "/", "", unix.MS_MOVE, ""); err != 0 {
		return fail("move "+sysroot+" to", "/", err)
	}
	// The working directory is the new root already: no chdir("/").
	if err := sysPath(unix.SYS_CHROOT, ".", 0); err != 0 {
		return fail("chroot", sysroot, err)
	}
	// The kernel opened fds 0-2 on the initramfs's /dev/console, which
	// is deleted now: move them to the console of the new /dev.
	if fd, err := open("/dev/console", unix.O_RDWR|unix.O_NOCTTY); err == 0 && fd > 2 {
		for i := uintptr(0); i <= 2; i++ {
			sys(unix.SYS_DUP3, uintptr(fd), i, 0, 0, 0)
		}
		closeFD(fd)
	}
	debugf(-1, "switchroot", sysroot, "")
	return nil
}

// lookupTargets looks up the targets of the moves in the new root ahead
// of switchRoot. Each first lookup is a round trip to the virtiofsd;
// made before the ports are opened, they overlap the kernel's work on
// the ports (drivers/char/virtio_console.c adds them in a worker after
// the modules load), and moveMount's own lookups then find them in the
// dentry cache (the root share is cached: vm's cachePolicy).
func lookupTargets() {
	for _, m := range movedMounts {
		stat(atFDCWD, sysroot+m, 0)
	}
}

// moveMount moves the mount at from to to. A missing to is created where
// the new root is writable (rd.overlay); on a read-only root it cannot
// be, and from is then detached instead: the program runs without it.
// EINVAL means from is not a mount point: an optional mount that failed
// earlier and was reported then.
func moveMount(from, to string) {
	fi, err := stat(atFDCWD, to, 0)
	if err == unix.ENOENT && mkdirAll(to) == 0 {
		fi, err = stat(atFDCWD, to, 0)
	}
	if err != 0 || !fi.isDir() {
		err := sysPath(unix.SYS_UMOUNT2, from, unix.MNT_DETACH)
		if err == 0 {
			warn(to + " is not a directory in the new root: unmounted " + from)
		} else if err != unix.EINVAL {
			warnErr("unmount", from, err)
		}
		return
	}
	t := now()
	if err := mount(from, to, "", unix.MS_MOVE, ""); err != 0 {
		if err != unix.EINVAL {
			warnErr("move "+from+" to", to, err)
		}
		return
	}
	debugf(t, "move", from, to)
}

// statfsBuf receives statfs(2).
var statfsBuf unix.Statfs_t

// removeInitramfs deletes everything below root that is on root's
// filesystem, without crossing into mount points. It refuses unless this
// process is PID 1 and root is a ramfs or tmpfs: the only place where
// deleting everything is right is the initramfs of a booting machine.
func removeInitramfs(root string) error {
	if pid := unix.Getpid(); pid != 1 {
		return errorString("refusing to delete " + root + ": not PID 1 (pid " + itoa(int64(pid)) + ")")
	}
	p := cstr(root)
	_, _, err := unix.Syscall6(unix.SYS_STATFS, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&statfsBuf)), 0, 0, 0, 0)
	runtime.KeepAlive(p)
	magic := int64(statfsBuf.Type)
	if err != 0 {
		return fail("statfs", root, err)
	}
	if magic != unix.RAMFS_MAGIC && magic != unix.TMPFS_MAGIC {
		return errorString("refusing to delete " + root + ": not an initramfs (filesystem magic " + itoa(magic) + ", want ramfs or tmpfs)")
	}
	fd, err := open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != 0 {
		return fail("open", root, err)
	}
	fi, err := stat(uintptr(fd), "", unix.AT_EMPTY_PATH)
	if err == 0 {
		removeContents(fd, root, fi.dev)
	}
	closeFD(fd)
	if err != 0 {
		return fail("stat", root, err)
	}
	return nil
}

// removeContents empties the directory open at fd. Entries on another
// device are mount points and stay. Failures are printed, not returned:
// a file left behind only costs memory.
func removeContents(fd int, path string, dev uint64) {
	names, err := readDirFD(fd)
	if err != 0 {
		warnErr("read", path, err)
	}
	for _, name := range names {
		p := join(path, name)
		fi, err := stat(uintptr(fd), name, unix.AT_SYMLINK_NOFOLLOW)
		if err != 0 {
			warnErr("stat", p, err)
			continue
		}
		flags := 0
		if fi.isDir() {
			if fi.dev != dev {
				continue // a mount point: not ours to delete
			}
			sub, err := openat(uintptr(fd), name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC)
			if err != 0 {
				warnErr("open", p, err)
				continue
			}
			removeContents(sub, p, dev)
			closeFD(sub)
			flags = unix.AT_REMOVEDIR
		}
		if _, err := sysStr(unix.SYS_UNLINKAT, uintptr(fd), name, uintptr(flags), 0); err != 0 && err != unix.EBUSY {
			// EBUSY: a directory that is a mount point of the same
			// filesystem type, e.g. a bind mount; it stays.
			warnErr("remove", p, err)
		}
	}
}
