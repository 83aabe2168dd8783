package main

import "golang.org/x/sys/unix"

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
	debugf(-1, "delete", "initramfs contents "+msec(now()-t)+" ms")
	if err := unix.Chdir(sysroot); err != nil {
		return &opError{"chdir", sysroot, err}
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return &opError{"move " + sysroot + " to", "/", err}
	}
	if err := unix.Chroot("."); err != nil {
		return &opError{"chroot", sysroot, err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &opError{"chdir", "/", err}
	}
	debugf(-1, "switchroot", sysroot)
	return nil
}

// moveMount moves the mount at from to to. The new root is read-only, so a
// missing to cannot be created: from is then detached instead, and the
// program runs without it.
func moveMount(from, to string) {
	if !isMountPoint(from) {
		return // an optional mount that failed earlier
	}
	var st unix.Stat_t
	if err := unix.Stat(to, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		warn(to + " is not a directory in the new root: unmounting " + from)
		if err := unix.Unmount(from, unix.MNT_DETACH); err != nil {
			warn((&opError{"unmount", from, err}).Error())
		}
		return
	}
	t := now()
	if err := unix.Mount(from, to, "", unix.MS_MOVE, ""); err != nil {
		warn((&opError{"move " + from + " to", to, err}).Error())
		return
	}
	debugf(now()-t, "move", from+" "+to)
}

// removeInitramfs deletes everything below root that is on root's
// filesystem, without crossing into mount points. It refuses unless this
// process is PID 1 and root is a ramfs or tmpfs: the only place where
// deleting everything is right is the initramfs of a booting machine.
func removeInitramfs(root string) error {
	if pid := unix.Getpid(); pid != 1 {
		return errorString("refusing to delete " + root + ": not PID 1 (pid " + itoa(int64(pid)) + ")")
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(root, &fs); err != nil {
		return &opError{"statfs", root, err}
	}
	if fs.Type != unix.RAMFS_MAGIC && fs.Type != unix.TMPFS_MAGIC {
		return errorString("refusing to delete " + root + ": not an initramfs (filesystem magic 0x" + hex(uint64(fs.Type)) + ", want ramfs or tmpfs)")
	}
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &opError{"open", root, err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &opError{"stat", root, err}
	}
	removeContents(fd, root, st.Dev)
	return nil
}

// removeContents empties the directory open at fd. Entries on another
// device are mount points and stay. Failures are printed, not returned:
// a file left behind only costs memory.
func removeContents(fd int, path string, dev uint64) {
	names, err := readDirFD(fd)
	if err != nil {
		warn((&opError{"read", path, err}).Error())
	}
	for _, name := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			warn((&opError{"stat", join(path, name), err}).Error())
			continue
		}
		flags := 0
		if st.Mode&unix.S_IFMT == unix.S_IFDIR {
			if st.Dev != dev {
				continue // a mount point: not ours to delete
			}
			sub, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				warn((&opError{"open", join(path, name), err}).Error())
				continue
			}
			removeContents(sub, join(path, name), dev)
			unix.Close(sub)
			flags = unix.AT_REMOVEDIR
		}
		if err := unix.Unlinkat(fd, name, flags); err != nil && err != unix.EBUSY {
			// EBUSY: a directory that is a mount point of the same
			// filesystem type, e.g. a bind mount; it stays.
			warn((&opError{"remove", join(path, name), err}).Error())
		}
	}
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	var b [16]byte
	i := len(b)
	for {
		i--
		b[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			return string(b[i:])
		}
	}
}

func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}
