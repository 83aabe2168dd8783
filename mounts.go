package main

import "golang.org/x/sys/unix"

// apiMount is one of the kernel's API filesystems that every program
// expects to find mounted.
type apiMount struct {
	fstype string
	target string
	flags  uintptr
	data   string
	fatal  bool // without it the boot cannot go on
}

const (
	nosuid = unix.MS_NOSUID
	nodev  = unix.MS_NODEV
	noexec = unix.MS_NOEXEC
)

// apiMounts is mounted in order: a mount point inside another mount
// (/dev/pts in /dev, /sys/fs/cgroup in /sys) comes after it. The flags and
// options follow what systemd gives the same filesystems.
var apiMounts = []apiMount{
	{"sysfs", "/sys", nosuid | nodev | noexec, "", true},
	{"devtmpfs", "/dev", nosuid, "mode=0755", true},
	{"proc", "/proc", nosuid | nodev | noexec, "", true},
	{"tmpfs", "/run", nosuid | nodev, "mode=0755", true},
	{"tmpfs", "/tmp", nosuid | nodev, "mode=1777", false},
	{"devpts", "/dev/pts", nosuid | noexec, "gid=5,mode=0620,ptmxmode=0666", false},
	{"tmpfs", "/dev/shm", nosuid | nodev, "mode=1777", false},
	// Container tools refuse cgroup v1; nsdelegate is what systemd uses.
	{"cgroup2", "/sys/fs/cgroup", nosuid | nodev | noexec, "nsdelegate", false},
}

// mountAll mounts a table such as apiMounts. A failure of an optional
// mount is printed and the boot goes on; a failure of a fatal one is
// returned.
func mountAll(mounts []apiMount) error {
	for _, m := range mounts {
		t := now()
		err := mkdirAll(m.target)
		if err == 0 {
			err = mount(m.fstype, m.target, m.fstype, m.flags, m.data)
		}
		if err == unix.EINVAL && m.data != "" {
			// A kernel without a feature rejects its option with EINVAL
			// (the original tool's `seclabel` on kernels without
			// SELinux): mount without the options rather than not at all.
			warn(m.target + ": options " + m.data + " rejected, mounting without them")
			err = mount(m.fstype, m.target, m.fstype, m.flags, "")
		}
		switch {
		case err == 0:
			debugf(t, "mount", m.target, m.fstype)
		case m.fatal:
			return fail("mount "+m.fstype+" on", m.target, err)
		default:
			warnErr("mount "+m.fstype+" on", m.target, err)
		}
	}
	return nil
}

// mkdirAll creates dir and its missing parents, with mode 0755.
func mkdirAll(dir string) unix.Errno {
	for i := 1; i <= len(dir); i++ {
		if i < len(dir) && dir[i] != '/' {
			continue
		}
		if _, err := sysStr(unix.SYS_MKDIRAT, atFDCWD, dir[:i], 0o755, 0); err != 0 && err != unix.EEXIST {
			return err
		}
	}
	return 0
}
