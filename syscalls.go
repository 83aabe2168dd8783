package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls of /init all go through sys. The wrappers of
// golang.org/x/sys/unix are general (a NUL check with an error return for
// every string, many arguments we never pass) and each costs a few hundred
// bytes of code and tables; this binary has a size budget. The calls made
// from several places have a small wrapper here; the others call sys where
// they are made. Only the *at forms exist on arm64, so they are used
// everywhere.
//
// Memory handed to the kernel must stay where it is until the call
// returns. cstr keeps its strings reachable in pinned until then; the
// buffers that the kernel fills are package variables, never on the stack
// (which moves when it grows).

// pinned holds the C strings of the system call being prepared.
var pinned [][]byte

// cstr returns s as a NUL-terminated C string for the next sys call. Our
// strings come from the kernel command line and fixed tables; none holds
// a NUL.
//
//go:noinline
func cstr(s string) uintptr {
	b := make([]byte, len(s)+1)
	copy(b, s)
	pinned = append(pinned, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

// sys makes one system call. Its errno stays a unix.Errno, 0 for success,
// until it becomes part of an error: comparing numbers is cheaper than
// comparing interfaces.
//
//go:noinline
func sys(trap, a1, a2, a3, a4, a5 uintptr) (uintptr, unix.Errno) {
	r, _, e := unix.Syscall6(trap, a1, a2, a3, a4, a5, 0)
	clear(pinned)
	pinned = pinned[:0]
	return r, e
}

// atFDCWD is AT_FDCWD (-100) as the kernel receives it.
const atFDCWD = ^uintptr(99)

// open and openat pass flags as given: the console must stay open across
// exec, so the callers add O_CLOEXEC themselves.
func open(path string, flags int) (int, unix.Errno) { return openat(atFDCWD, path, flags) }

func openat(dir uintptr, path string, flags int) (int, unix.Errno) {
	fd, err := sys(unix.SYS_OPENAT, dir, cstr(path), uintptr(flags), 0, 0)
	return int(fd), err
}

//go:noinline (called from many places; one copy is smaller)
func closeFD(fd int) { sys(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0) }

// ioBuf receives what read(2) and getdents64(2) return.
var ioBuf [8192]byte

// write writes s whole, retrying short writes and EINTR.
func write(fd int, s string) {
	for len(s) > 0 {
		n, err := sys(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(len(s)), 0, 0)
		runtime.KeepAlive(s)
		if err == unix.EINTR {
			continue
		}
		if err != 0 || n == 0 {
			return
		}
		s = s[n:]
	}
}

func mount(source, target, fstype string, flags uintptr, data string) unix.Errno {
	_, err := sys(unix.SYS_MOUNT, cstr(source), cstr(target), cstr(fstype), flags, cstr(data))
	return err
}

// execve is execve(2) without package syscall's Exec, which brings the
// fork lock and rlimit handling that PID 1 has no use for. argv and env
// go into one array: arg0, args, NULL, env, NULL.
func execve(path, arg0 string, args, env []string) unix.Errno {
	a := make([]uintptr, 1+len(args)+1+len(env)+1)
	e := a[len(args)+2:]
	a[0] = cstr(arg0)
	for i, v := range args {
		a[i+1] = cstr(v)
	}
	for i, v := range env {
		e[i] = cstr(v)
	}
	_, err := sys(unix.SYS_EXECVE, cstr(path), uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&e[0])), 0, 0)
	runtime.KeepAlive(a)
	return err
}

// timespec is filled by clock_gettime and read by nanosleep.
var timespec unix.Timespec

// now returns CLOCK_BOOTTIME in microseconds: the clock that starts at the
// kernel's boot, so the figures compare with the kernel's own timestamps.
//
//go:noinline (called at every step; one copy is smaller)
func now() int64 {
	sys(unix.SYS_CLOCK_GETTIME, unix.CLOCK_BOOTTIME, uintptr(unsafe.Pointer(&timespec)), 0, 0, 0)
	return timespec.Sec*1e6 + timespec.Nsec/1e3
}

// sleep pauses for us microseconds.
func sleep(us int64) {
	timespec = unix.NsecToTimespec(us * 1000)
	for {
		if _, err := sys(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&timespec)), uintptr(unsafe.Pointer(&timespec)), 0, 0, 0); err != unix.EINTR {
			return
		}
	}
}

// statfsBuf receives statfs(2).
var statfsBuf unix.Statfs_t

// fileInfo is what /init needs of a file: its type and permission bits,
// and its device and inode, which tell mount points apart.
type fileInfo struct {
	mode     uint32
	dev, ino uint64
}

func (fi fileInfo) isDir() bool { return fi.mode&unix.S_IFMT == unix.S_IFDIR }

// statxBuf receives statx(2).
var statxBuf unix.Statx_t

// atStatxDontSync is AT_STATX_DONT_SYNC (include/uapi/linux/fcntl.h): use
// the attributes the kernel has. On virtiofs, asking the host again is a
// round trip, and type, mode and device do not change under us.
const atStatxDontSync = 0x4000

// stat is statx(2), the one stat call that has the same number and
// structure on every architecture. flags takes AT_SYMLINK_NOFOLLOW and
// AT_EMPTY_PATH (with path "" to describe dir itself).
func stat(dir uintptr, path string, flags int) (fileInfo, unix.Errno) {
	_, err := sys(unix.SYS_STATX, dir, cstr(path), uintptr(flags|atStatxDontSync),
		unix.STATX_TYPE|unix.STATX_MODE|unix.STATX_INO, uintptr(unsafe.Pointer(&statxBuf)))
	st := &statxBuf
	return fileInfo{uint32(st.Mode), uint64(st.Dev_major)<<32 | uint64(st.Dev_minor), st.Ino}, err
}
