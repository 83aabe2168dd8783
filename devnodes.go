package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// devNode is a device node /init makes sure exists. devtmpfs creates nodes
// only for drivers that are loaded; these are the ones a build inside the
// VM needs before any driver has asked for them (opening the node of a
// modular driver then loads it, where the guest has modprobe).
type devNode struct {
	path         string
	mode         uint32
	major, minor uint32
}

var devNodes = []devNode{
	{"/dev/console", unix.S_IFCHR | 0o600, 5, 1},
	{"/dev/null", unix.S_IFCHR | 0o666, 1, 3},
	{"/dev/ptmx", unix.S_IFCHR | 0o666, 5, 2},
	{"/dev/kvm", unix.S_IFCHR | 0o666, 10, 232},
	{"/dev/loop-control", unix.S_IFCHR | 0o660, 10, 237},
	{"/dev/fuse", unix.S_IFCHR | 0o666, 10, 229},
}

// devLink is a symlink in /dev that programs take for granted.
type devLink struct{ path, target string }

var devLinks = []devLink{
	{"/dev/fd", "/proc/self/fd"},
	{"/dev/stdin", "/proc/self/fd/0"},
	{"/dev/stdout", "/proc/self/fd/1"},
	{"/dev/stderr", "/proc/self/fd/2"},
}

// makeDevNodes creates the missing nodes and links. None is fatal: the
// program that needs one will say so.
func makeDevNodes() {
	for _, n := range devNodes {
		_, err := sysStr(unix.SYS_MKNODAT, atFDCWD, n.path, uintptr(n.mode), uintptr(unix.Mkdev(n.major, n.minor)))
		if err == 0 || err == unix.EEXIST { // EEXIST: devtmpfs made it
			// The table's mode is set either way: mknod applies the
			// umask, and devtmpfs gives 0600 to a driver that names no
			// mode (/dev/fuse where fuse is built in).
			_, err = sysStr(unix.SYS_FCHMODAT, atFDCWD, n.path, uintptr(n.mode&0o7777), 0)
		}
		if err != 0 {
			warnErr("mknod", n.path, err)
		}
	}
	for _, l := range devLinks {
		t, p := cstr(l.target), cstr(l.path)
		_, _, err := unix.Syscall6(unix.SYS_SYMLINKAT, uintptr(unsafe.Pointer(t)), atFDCWD, uintptr(unsafe.Pointer(p)), 0, 0, 0)
		runtime.KeepAlive(t)
		runtime.KeepAlive(p)
		if err != 0 && err != unix.EEXIST {
			warnErr("symlink", l.path, err)
		}
	}
}

// ensureConsole makes sure fds 0, 1 and 2 are open. The kernel opens
// /dev/console for init when the initramfs has it; when it has not, the
// descriptors are missing and every message would be lost. open(2) returns
// the lowest free descriptor, so opening the console until the result is
// above 2 fills exactly the missing ones.
func ensureConsole() {
	for {
		fd, err := open("/dev/console", unix.O_RDWR|unix.O_NOCTTY)
		if err != 0 {
			return // nothing to open yet; called again after devtmpfs
		}
		if fd > 2 {
			closeFD(fd)
			return
		}
	}
}
