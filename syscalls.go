package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The system calls of /init are made here. The wrappers of
// golang.org/x/sys/unix are general (a NUL check with an error return for
// every string, many arguments we never pass) and each costs a few hundred
// bytes of code and tables; this binary has a size budget. Only the *at
// forms exist on arm64, so they are used everywhere.
//
// Memory handed to the kernel must neither move nor be freed before the
// call returns. Every pointer /init gives the kernel is therefore
//
//   - a package variable (outBuf, ioBuf, timespec, statxBuf, statfsBuf,
//     spawn's), or what one holds: package memory never moves, and a
//     package variable's pointers always point to the heap; or
//   - an allocation returned by cstr, cBytes or cArray: they are
//     noinline (//go:noinline) and return it, so escape analysis puts
//     it on the heap, and Go's heap does not move;
//
// it stays a Go pointer, which the collector sees, until it is converted
// to uintptr in the argument list of unix.Syscall6 (or Syscall,
// RawSyscall) itself: an assembly function, for which the compiler keeps
// the object alive and in place until the call returns (package unsafe,
// rule 4). A local pointer is also kept alive by runtime.KeepAlive after
// the call, so the rule is visible in the code. pointers_test.go enforces
// all of this on the source. The package variables are shared: /init runs
// one goroutine.

// cstr returns s as a new NUL-terminated C string on the heap. Our strings
// come from the kernel command line and fixed tables; none holds a NUL.
//
//go:noinline (its allocation must escape to the heap)
func cstr(s string) *byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return &b[0]
}

// sys makes a system call whose arguments are numbers only. Its errno
// stays a unix.Errno, 0 for success, until it becomes part of an error:
// comparing numbers is cheaper than comparing interfaces.
//
//go:noinline
func sys(trap, a1, a2, a3, a4, a5 uintptr) (uintptr, unix.Errno) {
	r, _, e := unix.Syscall6(trap, a1, a2, a3, a4, a5, 0)
	return r, e
}

// sysStr makes a system call whose second argument is a string: the *at
// calls (dir, path, ...) and finit_module (fd, params, flags).
//
//go:noinline
func sysStr(trap, a1 uintptr, s string, a3, a4 uintptr) (uintptr, unix.Errno) {
	p := cstr(s)
	r, _, e := unix.Syscall6(trap, a1, uintptr(unsafe.Pointer(p)), a3, a4, 0, 0)
	runtime.KeepAlive(p)
	return r, e
}

// sysPath makes a system call whose first argument is a path: chdir,
// chroot, umount2.
func sysPath(trap uintptr, path string, a2 uintptr) unix.Errno {
	p := cstr(path)
	_, _, e := unix.Syscall6(trap, uintptr(unsafe.Pointer(p)), a2, 0, 0, 0, 0)
	runtime.KeepAlive(p)
	return e
}

// atFDCWD is AT_FDCWD (-100) as the kernel receives it.
const atFDCWD = ^uintptr(99)

// open and openat pass flags as given: the console must stay open across
// exec, so the callers add O_CLOEXEC themselves.
func open(path string, flags int) (int, unix.Errno) { return openat(atFDCWD, path, flags) }

func openat(dir uintptr, path string, flags int) (int, unix.Errno) {
	fd, err := sysStr(unix.SYS_OPENAT, dir, path, uintptr(flags), 0)
	return int(fd), err
}

//go:noinline (called from many places; one copy is smaller)
func closeFD(fd int) { sys(unix.SYS_CLOSE, uintptr(fd), 0, 0, 0, 0) }

// outBuf holds what write hands the kernel: the caller's string may be on
// the stack.
var outBuf [1024]byte

// write writes s whole, through outBuf, retrying short writes and EINTR.
func write(fd int, s string) {
	for len(s) > 0 {
		n := copy(outBuf[:], s)
		w, _, err := unix.Syscall6(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&outBuf[0])), uintptr(n), 0, 0, 0)
		if err == unix.EINTR {
			continue
		}
		if err != 0 || w == 0 {
			return
		}
		s = s[w:]
	}
}

// mount is mount(2). An empty data is an empty option string, which every
// filesystem takes as no options.
func mount(source, target, fstype string, flags uintptr, data string) unix.Errno {
	s, t, f, d := cstr(source), cstr(target), cstr(fstype), cstr(data)
	_, _, err := unix.Syscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(s)), uintptr(unsafe.Pointer(t)),
		uintptr(unsafe.Pointer(f)), flags, uintptr(unsafe.Pointer(d)), 0)
	runtime.KeepAlive(s)
	runtime.KeepAlive(t)
	runtime.KeepAlive(f)
	runtime.KeepAlive(d)
	return err
}

// execve is execve(2) without package syscall's Exec, which brings the
// fork lock and rlimit handling that PID 1 has no use for.
func execve(path string, argv, env []string) unix.Errno {
	p, a, e := cstr(path), cArray(argv), cArray(env)
	_, _, err := unix.Syscall6(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&e[0])), 0, 0, 0)
	runtime.KeepAlive(p)
	runtime.KeepAlive(a)
	runtime.KeepAlive(e)
	return err
}

// timespec is filled by clock_gettime and read by nanosleep.
var timespec unix.Timespec

// now returns CLOCK_BOOTTIME in microseconds: the clock that starts at the
// kernel's boot, so the figures compare with the kernel's own timestamps.
//
//go:noinline (called at every step; one copy is smaller)
func now() int64 {
	unix.Syscall6(unix.SYS_CLOCK_GETTIME, unix.CLOCK_BOOTTIME, uintptr(unsafe.Pointer(&timespec)), 0, 0, 0, 0)
	return int64(timespec.Sec)*1e6 + int64(timespec.Nsec)/1e3 // 32 bits wide on 386 and arm
}

// sleep pauses for us microseconds.
func sleep(us int64) {
	timespec = unix.NsecToTimespec(us * 1000)
	for {
		_, _, err := unix.Syscall6(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&timespec)), uintptr(unsafe.Pointer(&timespec)), 0, 0, 0, 0)
		if err != unix.EINTR {
			return
		}
	}
}

// fileInfo is what /init needs of a file: its type and permission bits,
// and its device, which tells mount points apart.
type fileInfo struct {
	mode uint32
	dev  uint64
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
// AT_EMPTY_PATH (with path "" to describe dir itself). The device is
// always filled in; the mask asks for the type and mode.
func stat(dir uintptr, path string, flags int) (fileInfo, unix.Errno) {
	p := cstr(path)
	_, _, err := unix.Syscall6(unix.SYS_STATX, dir, uintptr(unsafe.Pointer(p)), uintptr(flags|atStatxDontSync),
		unix.STATX_TYPE|unix.STATX_MODE, uintptr(unsafe.Pointer(&statxBuf)), 0)
	runtime.KeepAlive(p)
	st := &statxBuf
	return fileInfo{uint32(st.Mode), uint64(st.Dev_major)<<32 | uint64(st.Dev_minor)}, err
}
