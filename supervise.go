package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The supervised run (rd.supervise): instead of exec'ing the program as
// PID 1, /init starts it as its child in a new session and stays PID 1.
// It reaps every orphan while the program runs and, when the program
// ends, kills what is left, syncs, reports how the program ended and
// powers off. The kernel gives PID 1 no default signal actions, so a
// program that signals itself as PID 1 is ignored; and a PID 1 that exits
// panics the kernel before dirty pages of a shared file are written back.
// As a child, the program has ordinary semantics, and /init flushes its
// data before the machine ends.

// consoleActive lists the kernel's consoles; the last one is the one
// /dev/console stands for (drivers/tty/tty_io.c, show_cons_active).
var consoleActive = "/sys/class/tty/console/active"

// supervise runs the program of c as a child and ends the machine when it
// ends. It never returns.
func supervise(c *config) {
	path, env, errno, err := program(c)
	pid, listener := 0, -1
	if err == nil {
		io := progStdio
		if c.supervise == "console" {
			io = consoleStdio()
		}
		debugf(-1, "exec", path, "as a child, stdio on "+c.supervise)
		defaultSignals() // from here on, no signal ends /init
		// The filter binds this thread: /init stays on it, and its
		// own reboot(2) at the end runs on another (shutdown).
		runtime.LockOSThread()
		listener = installFilter()
		if pid, errno = spawn(path, append([]string{baseName(c.init)}, c.args...), env, io); errno != 0 {
			err = fail("exec", path, errno)
		}
	}
	if err != nil {
		write(1, "initrd: "+err.Error()+"\n")
		endRun(c, execRecord(errno, err))
	}
	// The host learns that the program runs: any end from now on is
	// the program's, not a failed boot.
	writeStatus(c, startRecord)
	oom := oomKills()
	rec, msg := waitProgram(pid, listener)
	write(1, "initrd: "+msg+"\n")
	if n := oomKills() - oom; n > 0 {
		// A program killed by signal 9 was maybe the kernel's choice.
		writeStatus(c, oomRecord(n))
	}
	endRun(c, rec)
}

// The status records /init writes on the status port, one line each
// (testdata/contract.json holds their format for both sides): start when
// the program runs; then, before the end, writeback TAG ERRNO TEXT for
// each share whose data was not written back and oom N for the OOM
// killer's kills; and the end:
//
//	exit N | signal N | exec ERRNO TEXT | fatal TEXT | shutdown poweroff|halt|reboot

// startRecord is the record of a program that was started.
const startRecord = "start"

// shutdownRecord is the end of a run whose program asked for the
// machine's end: kind is poweroff, halt or reboot (requests.go).
func shutdownRecord(kind string) string { return "shutdown " + kind }

// writebackRecord tells that the share tag's data could not be written
// back (syncShare).
func writebackRecord(tag string, err unix.Errno) string {
	return "writeback " + tag + " " + itoa(int64(err)) + " " + err.Error()
}

// oomRecord tells the OOM killer's kills while the program ran.
func oomRecord(n int) string { return "oom " + itoa(int64(n)) }

// waitRecord is the record of a program that ended with the wait status
// st, and the console's line for it.
func waitRecord(st int32) (rec, msg string) {
	if sig := st & 0x7f; sig != 0 {
		return "signal " + itoa(int64(sig)), "program killed by signal " + itoa(int64(sig))
	}
	return "exit " + itoa(int64(st>>8&0xff)), "program exited with status " + itoa(int64(st>>8&0xff))
}

// execRecord is the record of a program that could not be started.
func execRecord(errno unix.Errno, err error) string {
	return "exec " + itoa(int64(errno)) + " " + err.Error()
}

// fatalRecord is the record of a failure of /init's own.
func fatalRecord(err error) string { return "fatal " + err.Error() }

// oomKills is the kernel's count of processes its OOM killer killed
// (oom_kill in /proc/vmstat, Linux 4.13).
func oomKills() int {
	v, _ := readFile("/proc/vmstat")
	for _, l := range split(v, '\n') {
		if len(l) > 9 && l[:9] == "oom_kill " {
			n, _ := atoi(l[9:])
			return n
		}
	}
	return 0
}

// pollFDs are the descriptors waitProgram waits on: the listener of
// shutdown requests and the program's pidfd.
var pollFDs [2]unix.PollFd

// waitProgram waits until the program pid ends, or asks for a shutdown
// on listener (-1: none), and returns the record of that end and a line
// for the console. Orphans are reparented to PID 1: they are reaped each
// time it wakes up, at least once a second, as nothing else wakes it
// when one ends (SIGCHLD is dropped, signals.go).
func waitProgram(pid, listener int) (string, string) {
	pidfd, errno := sys(unix.SYS_PIDFD_OPEN, uintptr(pid), 0, 0, 0, 0)
	if errno != 0 {
		pidfd = ^uintptr(0) // -1, which ppoll skips: Linux before 5.3 finds the end within a second
	}
	pollFDs = [2]unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		timespec = unix.Timespec{Sec: 1}
		unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pollFDs[0])), 2, uintptr(unsafe.Pointer(&timespec)), 0, 0, 0)
		if ev := pollFDs[0].Revents; ev&unix.POLLIN != 0 {
			if kind := answerRequest(listener); kind != "" {
				return shutdownRecord(kind), "the program asked for " + kind
			}
		} else if ev != 0 {
			pollFDs[0].Fd = -1 // POLLHUP: no process left under the filter
		}
		for {
			r, err := reap(-1, unix.WNOHANG)
			if err != 0 {
				return fatalRecord(fail("wait for the program", "", err)), err.Error()
			}
			if r == pid {
				return waitRecord(waitStatus)
			}
			if r == 0 {
				break
			}
		}
	}
}

// consoleStdio is the console's own terminal (ttyS0, ttyAMA0): unlike
// /dev/console, it can be a controlling terminal, so job control and
// Ctrl-C work for a person at the console.
func consoleStdio() stdio {
	what := consoleActive // what failed: the list, or the terminal it names
	active, err := readFile(consoleActive)
	names := split(trimNewline(active), ' ')
	if err == 0 && len(names) > 0 {
		dev := "/dev/" + names[len(names)-1]
		fd, e := open(dev, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
		if e == 0 {
			return stdio{fds: [3]int{fd, fd, fd}, ctty: true}
		}
		err, what = e, dev
	}
	warnErr("open the console's terminal", what, err)
	warn("the program runs on /dev/console, without a controlling terminal")
	return stdio{fds: [3]int{0, 1, 2}}
}

// syncShare writes back the page cache of the file system mounted at
// dir, and returns the first write-back error nobody has seen yet:
// syncfs(2) reports those of the whole file system since Linux 5.8
// (errseq on the superblock, fs/sync.c), and a descriptor opened now
// still reports an error no earlier syncfs has (errseq_sample). So data
// the program left in the page cache, a MAP_SHARED mapping it never
// synced, that the host could not write (its disk full) is not lost
// without a word.
func syncShare(dir string) unix.Errno {
	fd, err := open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != 0 {
		return err
	}
	_, err = sys(unix.SYS_SYNCFS, uintptr(fd), 0, 0, 0, 0)
	closeFD(fd)
	return err
}

// endRun ends a supervised run: it kills every other process, reaps
// them, writes the page cache back, reports each read-write share whose
// data could not be written back and then rec on the status port, and
// powers off. It never returns.
func endRun(c *config, rec string) {
	sys(unix.SYS_KILL, ^uintptr(0), uintptr(unix.SIGKILL), 0, 0, 0) // -1: all but PID 1
	// A process killed while it waits for a share dies when the wait
	// ends; bound the wait as for the shares.
	deadline := now() + int64(c.timeout)*1e6
	pause := int64(1000)
	for {
		r, err := reap(-1, unix.WNOHANG)
		if err != 0 || (r == 0 && now() >= deadline) {
			break // ECHILD: all are gone
		}
		if r == 0 {
			sleep(pause)
			if pause < 100000 {
				pause *= 2
			}
		}
	}
	unix.Sync()
	for _, s := range c.shares {
		if !s.readOnly {
			if err := syncShare(sharesDir + "/" + s.tag); err != 0 {
				warnErr("write back", sharesDir+"/"+s.tag, err)
				writeStatus(c, writebackRecord(s.tag, err))
			}
		}
	}
	writeStatus(c, rec)
	closePorts()
	shutdown(unix.LINUX_REBOOT_CMD_POWER_OFF)
}
