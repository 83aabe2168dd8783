package main

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Shutdown requests of the supervised run. A program asks for the end of
// the machine in two ways: reboot(2) (busybox's halt -f, poweroff -f,
// reboot -f), which would end the machine at once, without /init's kill,
// sync and status record; or a signal to PID 1 (busybox's halt, poweroff
// and reboot send SIGUSR1, SIGUSR2 and SIGTERM to init), which the kernel
// drops, as /init leaves every signal at its default (signals.go). A
// seccomp filter that the program and all its descendants inherit hands
// both to /init (SECCOMP_RET_USER_NOTIF, Linux 5.0): reboot(2) and the
// five calls that signal a process by number (kill, tkill, tgkill,
// rt_sigqueueinfo, rt_tgsigqueueinfo) when their target is 1. /init
// answers each notification itself: a request from a process of its own
// PID and user namespaces that holds the capability the call needs ends
// the run as "shutdown poweroff|halt|reboot"; anything else goes on to
// the kernel as if there were no filter (SECCOMP_USER_NOTIF_FLAG_CONTINUE,
// Linux 5.5), so a container's own init still gets its signals.
//
// The cost to the program: a seccomp filter that asks for a listener of
// its own fails with EBUSY while another filter of the chain has one
// (kernel/seccomp.c, has_duplicate_listener), so a program that uses
// seccomp user notification itself (a container runtime's seccomp notify
// support) cannot. Every system call of the program runs the filter's
// few instructions. Not seen: x32 system calls (disabled by Debian's
// kernels, CONFIG_X86_X32_DISABLED) and pidfd_send_signal(2), whose
// target is a descriptor; those signals the kernel drops as any other.

// filterArch is the filter's view of one system call architecture: its
// audit number (include/uapi/linux/audit.h) and the numbers of reboot,
// kill, tkill, tgkill, rt_sigqueueinfo and rt_tgsigqueueinfo, in that
// order.
type filterArch struct {
	audit uint32
	calls [6]uint32
}

// sigArg is the index of the signal argument of each call of
// filterArch.calls; reboot's command is its third argument.
var sigArg = [6]uint8{2, 1, 1, 2, 1, 2}

// filterArchs are the native calls and the 32-bit ones of the same
// machine (requests_GOARCH.go).
var filterArchs = [2]filterArch{
	{auditArch, [6]uint32{unix.SYS_REBOOT, unix.SYS_KILL, unix.SYS_TKILL, unix.SYS_TGKILL, unix.SYS_RT_SIGQUEUEINFO, unix.SYS_RT_TGSIGQUEUEINFO}},
	{compatAudit, [6]uint32{compatReboot, compatKill, compatTkill, compatTgkill, compatRtSigqueueinfo, compatRtTgsigqueueinfo}},
}

// BPF instructions of the filter.
const (
	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeqK  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	retK  = unix.BPF_RET | unix.BPF_K
)

// filterCode is the filter: classic BPF over struct seccomp_data (nr at
// offset 0, arch at 4, the arguments from 16, each 64 bits, the low half
// first where the machine is little-endian: lowByte). A jump's offsets count from
// the next instruction. Data, not code: the binary's size budget;
// requests_test.go runs it against filterArchs.
var filterCode = [...]unix.SockFilter{
	{Code: ldAbs, K: 4}, // 0: the architecture
	// 1-9: the native calls; reboot to 22 (notify), the rest to 20.
	{Code: jeqK, Jf: 8, K: auditArch},
	{Code: ldAbs, K: 0},
	{Code: jeqK, Jt: 18, K: unix.SYS_REBOOT},
	{Code: jeqK, Jt: 15, K: unix.SYS_KILL},
	{Code: jeqK, Jt: 14, K: unix.SYS_TKILL},
	{Code: jeqK, Jt: 13, K: unix.SYS_TGKILL},
	{Code: jeqK, Jt: 12, K: unix.SYS_RT_SIGQUEUEINFO},
	{Code: jeqK, Jt: 11, K: unix.SYS_RT_TGSIGQUEUEINFO},
	{Code: retK, K: unix.SECCOMP_RET_ALLOW},
	// 10-18: the 32-bit calls, the same way.
	{Code: jeqK, Jf: 8, K: compatAudit},
	{Code: ldAbs, K: 0},
	{Code: jeqK, Jt: 9, K: compatReboot},
	{Code: jeqK, Jt: 6, K: compatKill},
	{Code: jeqK, Jt: 5, K: compatTkill},
	{Code: jeqK, Jt: 4, K: compatTgkill},
	{Code: jeqK, Jt: 3, K: compatRtSigqueueinfo},
	{Code: jeqK, Jt: 2, K: compatRtTgsigqueueinfo},
	{Code: retK, K: unix.SECCOMP_RET_ALLOW},
	{Code: retK, K: unix.SECCOMP_RET_ALLOW}, // 19: another architecture
	{Code: ldAbs, K: 16 + 4*lowByte},        // 20: the target, the low half of pid_t
	{Code: jeqK, Jf: 1, K: 1},
	{Code: retK, K: unix.SECCOMP_RET_USER_NOTIF}, // 22
	{Code: retK, K: unix.SECCOMP_RET_ALLOW},
}

// filterProg hands filterCode to the kernel.
var filterProg unix.SockFprog

// installFilter puts the filter on the calling thread, which must stay
// locked to its goroutine: a filter binds the thread that installs it
// and the processes it makes from then on, not the others of /init. It
// returns the listener, -1 without one.
func installFilter() int {
	filterProg = unix.SockFprog{Len: uint16(len(filterCode)), Filter: &filterCode[0]}
	fd, _, err := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_NEW_LISTENER, uintptr(unsafe.Pointer(&filterProg)))
	if err != 0 {
		warnErr("install the seccomp filter", "for shutdown requests", err)
		warn("a shutdown asked for by the program is not seen")
		return -1
	}
	return int(fd)
}

// seccompNotif and seccompResp are struct seccomp_notif (with its struct
// seccomp_data) and struct seccomp_notif_resp (include/uapi/linux/seccomp.h).
type seccompNotif struct {
	id    uint64
	pid   uint32
	flags uint32
	nr    int32
	arch  uint32
	ip    uint64
	args  [6]uint64
}

type seccompResp struct {
	id    uint64
	val   int64
	error int32
	flags uint32
}

var (
	notif     seccompNotif
	notifResp seccompResp
)

// The other magic numbers reboot(2) takes (include/uapi/linux/reboot.h).
const (
	rebootMagic2A = 0x05121996
	rebootMagic2B = 0x16041998
	rebootMagic2C = 0x20112000
)

// Capabilities the kernel asks of a caller (include/uapi/linux/capability.h).
const (
	capKill    = 5
	capSysBoot = 22
)

// requestOf says which shutdown a notified call asks for ("poweroff",
// "halt", "reboot"), and the capability the kernel would want of the
// caller; "" for a call that asks for none: another reboot(2) command, a
// bad magic number, a signal that is no request.
func requestOf(arch uint32, nr int32, args *[6]uint64) (string, int) {
	for _, a := range filterArchs {
		for i, call := range a.calls {
			if a.audit != arch || call != uint32(nr) {
				continue
			}
			n := uint32(args[sigArg[i]])
			if i == 0 {
				m2 := uint32(args[1])
				if uint32(args[0]) != unix.LINUX_REBOOT_MAGIC1 || m2 != unix.LINUX_REBOOT_MAGIC2 && m2 != rebootMagic2A && m2 != rebootMagic2B && m2 != rebootMagic2C {
					return "", 0 // the kernel refuses it
				}
				switch n {
				case unix.LINUX_REBOOT_CMD_POWER_OFF:
					return "poweroff", capSysBoot
				case unix.LINUX_REBOOT_CMD_HALT:
					return "halt", capSysBoot
				case unix.LINUX_REBOOT_CMD_RESTART, unix.LINUX_REBOOT_CMD_RESTART2:
					return "reboot", capSysBoot
				}
				return "", 0 // Ctrl-Alt-Del's setting, kexec, suspend: the kernel's
			}
			if int32(args[0]) != 1 {
				return "", 0
			}
			switch n {
			case uint32(unix.SIGUSR2):
				return "poweroff", capKill
			case uint32(unix.SIGUSR1):
				return "halt", capKill
			case uint32(unix.SIGTERM):
				return "reboot", capKill
			}
		}
	}
	return "", 0
}

// answerRequest reads one notification from listener and answers it. It
// returns the shutdown asked for, or "".
func answerRequest(listener int) string {
	notif = seccompNotif{} // the kernel wants it zeroed
	if _, _, err := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&notif))); err != 0 {
		return "" // ENOENT: the caller was killed meanwhile
	}
	kind, capBit := requestOf(notif.arch, notif.nr, &notif.args)
	if kind != "" && !entitled(itoa(int64(notif.pid)), capBit) {
		kind = ""
	}
	notifResp = seccompResp{id: notif.id} // success, without the call
	if kind == "" {
		notifResp.flags = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE
	}
	if _, _, err := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&notifResp))); err != 0 {
		return "" // the caller is gone: its request with it
	}
	return kind
}

// entitled says whether the process pid may end this machine as the
// kernel sees it: in /init's PID and user namespaces (reboot(2) in
// another PID namespace ends that namespace, kernel/pid_namespace.c,
// reboot_pid_ns; pid 1 there is its own init) and holding capability
// capBit (CapEff in /proc/PID/status, a hexadecimal mask).
func entitled(pid string, capBit int) bool {
	for _, ns := range [2]string{"/ns/pid", "/ns/user"} {
		if l := readLink("/proc/" + pid + ns); l == "" || l != readLink("/proc/self"+ns) {
			return false
		}
	}
	status, _ := readFile("/proc/" + pid + "/status")
	for _, line := range split(status, '\n') {
		// CapEff:\t and 16 hexadecimal digits, the highest first.
		if len(line) == 24 && line[:8] == "CapEff:\t" {
			d := line[23-capBit/4] - '0'
			if d > 9 {
				d -= 'a' - '0' - 10
			}
			return d>>(capBit%4)&1 != 0
		}
	}
	return false
}

// linkBuf receives readlinkat(2).
var linkBuf [64]byte

// readLink returns the target of the symbolic link path, "" on error.
func readLink(path string) string {
	p := cstr(path)
	n, _, err := unix.Syscall6(unix.SYS_READLINKAT, atFDCWD, uintptr(unsafe.Pointer(p)), uintptr(unsafe.Pointer(&linkBuf[0])), uintptr(len(linkBuf)), 0, 0)
	runtime.KeepAlive(p)
	if err != 0 {
		return ""
	}
	return string(linkBuf[:n])
}
