// Command initrd is the /init of a tiny initrd that boots a virtual
// machine whose root filesystem is a host directory shared over virtiofs.
// It mounts the API filesystems, loads the modules the initrd brings,
// mounts the virtiofs tags, switches root and execs the requested program
// as PID 1. See README.md for the kernel command line it reads.
package main

import "golang.org/x/sys/unix"

// version is set at build time with -ldflags "-X main.version=...".
var version = "devel"

const usage = `usage: initrd is the /init of an initrd and runs only as PID 1.
It reads the kernel command line:
  rootfs=TAG | rootfstype=virtiofs root=TAG   virtiofs tag of the root (default rootfs)
  mount=TAG, mount-ro=TAG                     extra tags at /run/mnt/TAG
  init=PATH                                   program to run (default /bin/sh)
  debug, rd.debug                             print every step with its time
  rd.emergency=poweroff|reboot|halt           after a fatal error (default poweroff)
  rd.timeout=SECONDS                          wait for a tag (default 10)
  rd.overlay[=SIZE]                           the root writable: an overlay on a tmpfs of SIZE
                                              (default half the memory); writes vanish
  rd.supervise[=console|ports|tty]            run the program as a child, then power off;
                                              its stdio on the console or on virtio-serial ports
  MODULE.PARAM=VALUE                          passed to modules loaded from the initrd
  -- ARGS                                     arguments of the program
`

func main() {
	// Anywhere but as PID 1 this binary would mount over /dev and /proc
	// and delete a root it believes to be an initramfs: change nothing.
	if unix.Getpid() != 1 {
		write(2, "initrd "+version+"\n"+usage)
		unix.Exit(2)
	}
	start := now()
	c := defaultConfig()
	// Kept until the command line says whether debug is on.
	debugf(-1, "start", "initrd "+version, "started at "+msec(start)+" ms")
	defer func() {
		// A bug must not kill PID 1: the kernel would panic, and a VM
		// without panic= would hang.
		if r := recover(); r != nil {
			fatal(c, errorString("internal error: "+panicString(r)))
		}
	}()

	ensureConsole()
	if err := mountAll(apiMounts); err != nil {
		fatal(c, err)
	}
	ensureConsole() // again: now there is a devtmpfs /dev/console
	// Warnings and errors go to the kernel log too.
	openKmsg()
	makeDevNodes()

	cmdline, err := readFile(cmdlinePath)
	if err != 0 {
		fatal(c, fail("read", cmdlinePath, err))
	}
	if err := parseCmdline(trimNewline(cmdline), c); err != nil {
		fatal(c, errorString("kernel command line: "+err.Error()))
	}
	setDebug(c.debug)
	// The kernel's environment for /init, read now, as /proc may not
	// reach the new root; and from /proc rather than through package
	// syscall, whose copy brings locks and more code.
	env, err := readFile("/proc/self/environ")
	if err != 0 {
		warnErr("read", "/proc/self/environ", err)
	}
	c.env = split(env, 0)

	// Modules before mounts: virtiofs and its transport may be modules.
	loadModules(c.words)
	// The network after the modules (virtio_net may be one); a fatal
	// error opens the status port to report itself (fatal).
	if err := configureNet(c); err != nil {
		fatal(c, err)
	}
	// The initramfs holds /init.argv until the switch root deletes it.
	if err := readArgv(c); err != nil {
		fatal(c, err)
	}
	if err := mountShares(c); err != nil {
		fatal(c, err)
	}
	// The ports after the lookups of the switch root's targets, which
	// then overlap the kernel's work on the ports (lookupTargets); a
	// fatal error before them opens them to report itself (fatal).
	lookupTargets()
	if err := openPorts(c); err != nil {
		fatal(c, err)
	}
	if err := switchRoot(); err != nil {
		fatal(c, err)
	}
	// In the new root, where links are what the program will see.
	writeResolvConf(c)
	if c.supervise != "" {
		supervise(c) // never returns
	}
	fatal(c, execInit(c))
}

// fatal prints err and ends the machine as rd.emergency says. It never
// returns: PID 1 must not exit, or the kernel panics without saying why.
func fatal(c *config, err error) {
	logLine(2, "initrd: "+err.Error()+"\n") // KERN_CRIT
	if !portsOpened {
		openPorts(c) // a failure here is the console's to tell
	}
	writeStatus(c, fatalRecord(err))
	cmd, what := uint32(unix.LINUX_REBOOT_CMD_POWER_OFF), "powering off"
	switch c.emergency {
	case "reboot":
		cmd, what = unix.LINUX_REBOOT_CMD_RESTART, "rebooting"
	case "halt":
		cmd, what = unix.LINUX_REBOOT_CMD_HALT, "halting"
	}
	write(1, "initrd: "+what+" (rd.emergency="+c.emergency+")\n")
	shutdown(cmd)
}

// shutdown powers off, reboots or halts (cmd) the machine. It never
// returns. The reboot(2) runs on a thread of its own: in a supervised
// run the thread /init runs on carries the filter of shutdown requests
// (requests.go), under which the call would wait for /init itself.
func shutdown(cmd uint32) {
	go reboot(cmd)
	select {}
}

// reboot drains the console, syncs and ends the machine as cmd says.
func reboot(cmd uint32) {
	// Let the serial line drain, then flush the page cache of any
	// writable share.
	sys(unix.SYS_IOCTL, 1, unix.TCSBRK, 1, 0, 0) // TCSBRK with 1 is tcdrain(3)
	unix.Sync()
	for {
		sys(unix.SYS_REBOOT, unix.LINUX_REBOOT_MAGIC1, unix.LINUX_REBOOT_MAGIC2, uintptr(cmd), 0, 0)
		// Reboot fails only without CAP_SYS_BOOT; never return.
		sleep(1e6)
	}
}

// defaultPath is the PATH the program gets when the kernel passed none.
const defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execInit replaces /init with the requested program, as PID 1, with the
// environment the kernel gave /init.
func execInit(c *config) error {
	path, env, _, err := program(c)
	if err != nil {
		return err
	}
	debugf(-1, "exec", path, "")
	return fail("exec", path, execve(path, append([]string{baseName(c.init)}, c.args...), env))
}

// program resolves the program of c as both ways of starting it do: its
// path, looked for in the new root's PATH when it has no slash, and its
// environment. errno is ENOENT when it is not found, for the status
// record.
func program(c *config) (path string, env []string, errno unix.Errno, err error) {
	env, search := programEnv(c.env)
	if indexByte(c.init, '/') >= 0 {
		return c.init, env, 0, nil
	}
	if path, err = lookPath(c.init, search); err != nil {
		return "", env, unix.ENOENT, err
	}
	return path, env, 0, nil
}

// programEnv adds a PATH to env when it has none, and returns the PATH.
func programEnv(env []string) ([]string, string) {
	for _, e := range env {
		if len(e) >= 5 && e[:5] == "PATH=" {
			return env, e[5:]
		}
	}
	return append(env, defaultPath), defaultPath[5:]
}

// lookPath finds an executable name in the directories of path.
func lookPath(name, path string) (string, error) {
	for _, dir := range split(path, ':') {
		p := join(dir, name)
		if fi, err := stat(atFDCWD, p, 0); err == 0 && fi.mode&unix.S_IFMT == unix.S_IFREG && fi.mode&0o111 != 0 {
			return p, nil
		}
	}
	return "", errorString(`init program "` + name + `" not found in the new root's PATH`)
}

// panicString describes what recover returned: the runtime's panics
// (index out of range, nil dereference) are errors, a panic of our own
// code with a message a string.
func panicString(r any) string {
	switch v := r.(type) {
	case error:
		return v.Error()
	case string: // panic("...") of our own code
		return v
	}
	return "panic"
}
