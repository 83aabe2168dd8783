package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioBuf receives what read(2) and getdents64(2) return.
var ioBuf [8192]byte

// readFile reads a file to its end: a sysfs attribute or /proc/cmdline,
// which the kernel hands out in one read, or /init.argv, which may be
// larger than ioBuf.
func readFile(path string) (string, unix.Errno) {
	fd, err := open(path, unix.O_RDONLY|unix.O_CLOEXEC)
	if err != 0 {
		return "", err
	}
	var data []byte
	for {
		n, _, e := unix.Syscall6(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&ioBuf[0])), uintptr(len(ioBuf)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			err = e
			break
		}
		data = append(data, ioBuf[:n]...)
	}
	closeFD(fd)
	return string(data), err
}

// readDirNames returns the names in dir, without "." and "..".
func readDirNames(dir string) ([]string, unix.Errno) {
	fd, err := open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != 0 {
		return nil, err
	}
	names, err := readDirFD(fd)
	closeFD(fd)
	return names, err
}

// readDirFD returns the names in the directory open at fd. It parses
// struct linux_dirent64 itself (include/linux/dirent.h): d_ino u64, d_off
// s64, d_reclen u16 (little-endian on amd64 and arm64), d_type u8, then
// the NUL-terminated name.
func readDirFD(fd int) ([]string, unix.Errno) {
	var names []string
	for {
		r, _, err := unix.Syscall6(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&ioBuf[0])), uintptr(len(ioBuf)), 0, 0, 0)
		if err != 0 || r == 0 {
			return names, err
		}
		// One string for the batch: the names are slices of it.
		buf := string(ioBuf[:r])
		for len(buf) > 19 {
			reclen := int(buf[16]) | int(buf[17])<<8
			if reclen <= 19 || reclen > len(buf) {
				break
			}
			name := buf[19:reclen] // NUL-terminated, then padded
			if i := indexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			if name != "." && name != ".." {
				names = append(names, name)
			}
			buf = buf[reclen:]
		}
	}
}

// writeFile creates or truncates path with mode 0644 and writes data.
func writeFile(path, data string) unix.Errno {
	fd, err := sysStr(unix.SYS_OPENAT, atFDCWD, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != 0 {
		return err
	}
	write(int(fd), data)
	closeFD(int(fd))
	return 0
}

// readlink returns the target of the symbolic link at path.
func readlink(path string) (string, unix.Errno) {
	p := cstr(path)
	n, _, err := unix.Syscall6(unix.SYS_READLINKAT, atFDCWD, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&ioBuf[0])), uintptr(len(ioBuf)), 0, 0)
	runtime.KeepAlive(p)
	if err != 0 {
		return "", err
	}
	return string(ioBuf[:n]), 0
}
