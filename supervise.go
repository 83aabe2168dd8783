package main

import "golang.org/x/sys/unix"

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
	pid := 0
	if err == nil {
		io := progStdio
		if c.supervise == "console" {
			io = consoleStdio()
		}
		debugf(-1, "exec", path, "as a child, stdio on "+c.supervise)
		if pid, errno = spawn(path, append([]string{baseName(c.init)}, c.args...), env, io); errno != 0 {
			err = fail("exec", path, errno)
		}
	}
	if err != nil {
		write(1, "initrd: "+err.Error()+"\n")
		endRun(c, execRecord(errno, err))
	}
	// Orphans are reparented to PID 1: reap them while waiting.
	for {
		r, err := reap(-1, 0)
		if err != 0 {
			endRun(c, fatalRecord(fail("wait for the program", "", err)))
		}
		if r == pid {
			break
		}
	}
	rec, msg := waitRecord(waitStatus)
	write(1, "initrd: "+msg+"\n")
	endRun(c, rec)
}

// The status records /init writes on the status port, one line each
// (testdata/contract.json holds their format for both sides):
//
//	exit N | signal N | exec ERRNO TEXT | fatal TEXT

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

// endRun ends a supervised run: it kills every other process, reaps
// them, writes the page cache back, reports rec on the status port and
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
	writeStatus(c, rec)
	closePorts()
	shutdown(unix.LINUX_REBOOT_CMD_POWER_OFF)
}
