package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// spawn starts the supervised program: a fork whose child makes a new
// session, takes its stdio and, where asked, its controlling terminal,
// and execs the program. Package syscall's ForkExec does the same, but
// costs 28 KB of this binary's size budget (forkExec, the fork lock, user
// namespaces, credentials, pidfds: all linked in); this is the part /init
// needs.
//
// What the child does happens between fork and exec in a copy of a
// multithreaded Go process, where only the forking thread exists: it may
// make raw system calls and nothing else (no allocation, no stack growth,
// no runtime lock another thread held at the fork). So spawnChild is
// nosplit (//go:nosplit), reads only the package variables below, which
// the parent prepared, and runs with every signal blocked, as the parent blocked
// them on its locked thread before the fork; the child unblocks them just
// before execve. An execve that fails writes its errno into a pipe that
// is closed on exec, so the parent reads 4 bytes on failure and end of
// file on success.
var (
	spawnPath  []byte  // the program's path, NUL-terminated
	spawnArgv  []*byte // argv, NULL-terminated
	spawnEnv   []*byte // envp, NULL-terminated
	spawnStdio stdio
	spawnErrno int32       // execve's errno, written by the child into errPipe
	nofile     unix.Rlimit // the program's RLIMIT_NOFILE (inrOpenCur)
	errPipe    [2]int32    // read end, write end
	sigAll     = ^uint64(0)
	sigSaved   uint64
)

// inrOpenCur is the soft RLIMIT_NOFILE the kernel starts init with
// (INR_OPEN_CUR, include/uapi/linux/fs.h). Package syscall raised this
// process's soft limit to just below the hard one at start (syscall/rlimit.go: Go
// does not use select), and its ForkExec lowers it again in the child;
// so does spawn: a program using select(2) relies on it.
const inrOpenCur = 1024

// stdio is what the program gets as fds 0, 1 and 2: each fd is above 2
// (it is duplicated down) or already the fd it should be. ctty makes fd
// 0, a terminal, the controlling terminal of the program's new session.
type stdio struct {
	fds  [3]int
	ctty bool
}

// spawn starts path with argv and env and returns its pid, or execve's
// errno.
func spawn(path string, argv, env []string, io stdio) (int, unix.Errno) {
	spawnPath = cBytes(path)
	spawnArgv, spawnEnv, spawnStdio = cArray(argv), cArray(env), io
	unix.Syscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, uintptr(unsafe.Pointer(&nofile)), 0, 0)
	nofile.Cur = min(nofile.Cur, inrOpenCur)
	if _, _, err := unix.Syscall(unix.SYS_PIPE2, uintptr(unsafe.Pointer(&errPipe)), unix.O_CLOEXEC, 0); err != 0 {
		return 0, err
	}
	runtime.LockOSThread()
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&sigAll)), uintptr(unsafe.Pointer(&sigSaved)), 8, 0, 0)
	pid, _, err := unix.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if err == 0 && pid == 0 {
		spawnChild() // never returns
	}
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&sigSaved)), 0, 8, 0, 0)
	runtime.UnlockOSThread()
	closeFD(int(errPipe[1]))
	if err != 0 {
		closeFD(int(errPipe[0]))
		return 0, err
	}
	spawnErrno = 0
	n, _, err := unix.Syscall(unix.SYS_READ, uintptr(errPipe[0]), uintptr(unsafe.Pointer(&spawnErrno)), 4)
	for err == unix.EINTR {
		n, _, err = unix.Syscall(unix.SYS_READ, uintptr(errPipe[0]), uintptr(unsafe.Pointer(&spawnErrno)), 4)
	}
	closeFD(int(errPipe[0]))
	if n == 0 && err == 0 {
		return int(pid), 0 // end of file: the exec closed the pipe
	}
	reap(int(pid), 0)
	if n != 4 {
		return 0, unix.EIO // the pipe failed: the child's fate is unknown
	}
	return 0, unix.Errno(spawnErrno)
}

// spawnChild is the child of spawn, up to its execve.
//
//go:nosplit
func spawnChild() {
	unix.RawSyscall(unix.SYS_SETSID, 0, 0, 0)
	for i := 0; i < 3; i++ {
		if fd := spawnStdio.fds[i]; fd != i {
			// dup3 leaves the copy without O_CLOEXEC.
			if _, _, err := unix.RawSyscall(unix.SYS_DUP3, uintptr(fd), uintptr(i), 0); err != 0 {
				spawnExit(err)
			}
		}
	}
	if spawnStdio.ctty {
		// 1: take the terminal even if another session has it (we
		// are root; none should).
		if _, _, err := unix.RawSyscall(unix.SYS_IOCTL, 0, unix.TIOCSCTTY, 1); err != 0 {
			spawnExit(err)
		}
	}
	unix.RawSyscall6(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, uintptr(unsafe.Pointer(&nofile)), 0, 0, 0)
	unix.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, uintptr(unsafe.Pointer(&sigSaved)), 0, 8, 0, 0)
	_, _, err := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(&spawnPath[0])),
		uintptr(unsafe.Pointer(&spawnArgv[0])), uintptr(unsafe.Pointer(&spawnEnv[0])))
	spawnExit(err)
}

// spawnExit hands err to the parent and ends the child.
//
//go:nosplit
func spawnExit(err unix.Errno) {
	spawnErrno = int32(err)
	unix.RawSyscall(unix.SYS_WRITE, uintptr(errPipe[1]), uintptr(unsafe.Pointer(&spawnErrno)), 4)
	unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
}

// waitStatus receives wait4(2)'s status.
var waitStatus int32

// reap waits for the child pid (-1: any child) with wait4's options and
// returns its pid, 0 if WNOHANG found none ended, or the errno (ECHILD:
// there are no children).
func reap(pid int, options int) (int, unix.Errno) {
	for {
		r, _, err := unix.Syscall6(unix.SYS_WAIT4, uintptr(pid), uintptr(unsafe.Pointer(&waitStatus)), uintptr(options), 0, 0, 0)
		if err != unix.EINTR {
			return int(r), err
		}
	}
}

// cArray returns a NULL-terminated array of C strings on the heap, as
// execve(2) takes argv and envp.
//
//go:noinline (its allocation must escape to the heap)
func cArray(list []string) []*byte {
	a := make([]*byte, len(list)+1)
	for i, s := range list {
		a[i] = cstr(s)
	}
	return a
}

// cBytes returns s as a NUL-terminated C string on the heap.
//
//go:noinline (its allocation must escape to the heap)
func cBytes(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}
