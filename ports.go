package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The ports of a supervised run are virtio-serial ports that chrootvm
// names (drivers/char/virtio_console.c): each is /dev/vportNpM, and its
// name, which the host gives, is in /sys/class/virtio-ports/vportNpM/name.
// The driver adds ports as the host announces them, after the device has
// probed, so /init waits for them. A read of a port whose host side is
// closed returns 0: the program's stdin sees end of file when chrootvm
// has copied all of its own. A write blocks until the host has taken the
// data, and while the host side is closed.
var portsDir = "/sys/class/virtio-ports"

// ttysDir lists the terminals; a virtconsole port cannot be opened as
// /dev/vportNpM (port_fops_open: ENXIO), only as its hvc terminal.
var ttysDir = "/sys/class/tty"

// port is one port of a supervised mode: its name, how /init opens it,
// and where the descriptor goes: -1 the status port, 0-2 the program's
// fd, 3 all three and the controlling terminal.
type port struct {
	mode, name string
	flags      int
	slot       int
}

// ports are the ports of each mode. The status port comes first, so that
// a later failure (another port missing) is reported on it.
var ports = []port{
	{"ports", "virtinit.status", unix.O_WRONLY, -1},
	{"ports", "virtinit.stdin", unix.O_RDONLY, 0},
	{"ports", "virtinit.stdout", unix.O_WRONLY, 1},
	{"ports", "virtinit.stderr", unix.O_WRONLY, 2},
	{"tty", "virtinit.status", unix.O_WRONLY, -1},
	{"tty", "virtinit.tty", unix.O_RDWR | unix.O_NOCTTY, 3},
}

var (
	statusFD    int   // the status port once open; 0 (the console) before
	progStdio   stdio // the program's ports
	portsOpened bool  // openPorts ran (or runs): fatal does not run it again
)

// openPorts waits for the ports of c's mode, up to rd.timeout, and opens
// them. The status port's node is removed once open, so that the program
// does not find it; /init keeps its descriptor.
func openPorts(c *config) error {
	portsOpened = true
	deadline := now() + int64(c.timeout)*1e6
	for _, p := range ports {
		if p.mode != c.supervise {
			continue
		}
		t := now()
		dev, err := waitPort(p.name, deadline)
		if err != nil {
			return err
		}
		var fd int
		if p.slot == 3 {
			dev, fd, err = portTTY(p.name, p.flags|unix.O_CLOEXEC)
		} else if f, errno := open(dev, p.flags|unix.O_CLOEXEC); errno != 0 {
			err = fail("open port "+p.name, dev, errno)
		} else {
			fd = f
		}
		if err != nil {
			return err
		}
		debugf(t, "port", p.name, dev)
		switch p.slot {
		case -1:
			statusFD = fd
			if _, errno := sysStr(unix.SYS_UNLINKAT, atFDCWD, dev, 0, 0); errno != 0 {
				warnErr("remove", dev, errno)
			}
		case 3:
			progStdio = stdio{fds: [3]int{fd, fd, fd}, ctty: true}
		default:
			progStdio.fds[p.slot] = fd
		}
	}
	return nil
}

// waitPort returns the /dev node of the port called name. The ports
// appear while the device is probed: on microvm and arm64's virt that is
// after virtio_mmio loads, and the virtio-fs device's setup with its
// virtiofsd comes first (measured under TCG: the status port some 300 ms
// after the module, wall time). The pause grows to 4 ms and no more, so
// /init starts at most 4 ms after the port appeared.
func waitPort(name string, deadline int64) (string, error) {
	pause := int64(1000) // microseconds
	for {
		devs, _ := readDirNames(portsDir)
		known := ""
		for _, d := range devs {
			n, _ := readFile(portsDir + "/" + d + "/name")
			n = trimNewline(n)
			if n == name {
				return "/dev/" + d, nil
			}
			known += ` "` + n + `"`
		}
		if now() >= deadline {
			if known == "" {
				known = " no named ports (virtio_console missing, or no virtio-serial device?)"
			}
			return "", errorString(`virtio-serial port "` + name + `" not found: the kernel has` + known)
		}
		sleep(pause)
		if pause < 4000 {
			pause *= 2
		}
	}
}

// portTTY opens the terminal of the virtconsole port name. No link in
// sysfs leads from a port to its hvc terminal (hvc registers the tty
// without a parent device), and /sys/class/tty lists every hvc terminal
// the driver could have (hvc0-hvc7); but opening one that no console
// backs fails with ENODEV (hvc_install). So the one that opens is the
// port's, if it is the only one.
func portTTY(name string, flags int) (string, int, error) {
	ttys, errno := readDirNames(ttysDir)
	if errno != 0 {
		return "", 0, fail("read", ttysDir, errno)
	}
	dev, fd := "", -1
	for _, t := range ttys {
		if len(t) <= 3 || t[:3] != "hvc" {
			continue
		}
		f, errno := open("/dev/"+t, flags)
		if errno != 0 {
			continue // ENODEV: no console behind it
		}
		if fd >= 0 {
			closeFD(f)
			closeFD(fd)
			return "", 0, errorString("port " + name + ": " + dev + " and /dev/" + t + " both open: cannot tell which is the port's (give the VM one virtconsole)")
		}
		dev, fd = "/dev/"+t, f
	}
	if fd < 0 {
		return "", 0, errorString("port " + name + " has no hvc terminal that opens: it must be a virtconsole port")
	}
	return dev, fd, nil
}

// pollFD is ppoll(2)'s one descriptor.
var pollFD unix.PollFd

// writeStatus writes the status record rec as one line on the status
// port, if it is open. A write blocks while the host side is closed
// (virtio_console.c: will_write_block), so /init first waits, up to
// rd.timeout, until the port takes data; a host that has gone gets no
// record, and the port is closed.
func writeStatus(c *config, rec string) {
	if statusFD <= 0 {
		return
	}
	b := cBytes(rec) // the record is one line: its newlines become spaces, the NUL a newline
	for i := range b {
		if b[i] == '\n' {
			b[i] = ' '
		}
	}
	b[len(b)-1] = '\n'
	pollFD = unix.PollFd{Fd: int32(statusFD), Events: unix.POLLOUT}
	timespec = unix.NsecToTimespec(int64(c.timeout) * 1e9)
	n, _, err := unix.Syscall6(unix.SYS_PPOLL, uintptr(unsafe.Pointer(&pollFD)), 1, uintptr(unsafe.Pointer(&timespec)), 0, 0, 0)
	if err == 0 && n == 1 && pollFD.Revents&unix.POLLOUT != 0 {
		write(statusFD, string(b))
		return
	}
	warn("no status record: the host does not read " + ports[0].name)
	closeFD(statusFD)
	statusFD = 0
}

// closePorts closes the program's ports that /init holds.
func closePorts() {
	for _, fd := range progStdio.fds {
		if fd > 2 {
			closeFD(fd)
		}
	}
}
