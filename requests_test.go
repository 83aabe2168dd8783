package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runFilter interprets filterCode, as the kernel would, for one call.
func runFilter(t *testing.T, arch uint32, nr uint32, args [6]uint64) uint32 {
	var a uint32
	for pc := 0; pc < len(filterCode); pc++ {
		in := filterCode[pc]
		switch in.Code {
		case ldAbs:
			switch in.K {
			case 0:
				a = nr
			case 4:
				a = arch
			case 16:
				a = uint32(args[0])
			default:
				t.Fatalf("instruction %d loads offset %d", pc, in.K)
			}
		case jeqK:
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case retK:
			return in.K
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, in.Code)
		}
	}
	t.Fatalf("the filter runs past its end")
	return 0
}

// TestFilter checks the filter against filterArchs: it stops reboot(2)
// and the calls that signal pid 1 on both architectures, and nothing
// else; requestOf then reads what they ask.
func TestFilter(t *testing.T) {
	others := []uint32{0, 1, 59, 200, 300, 436}
	for _, fa := range filterArchs {
		for i, nr := range fa.calls {
			for _, target := range []uint64{1, 0, 2, 0xffffffff, 1 << 32} {
				want := uint32(unix.SECCOMP_RET_ALLOW)
				if i == 0 || uint32(target) == 1 {
					want = unix.SECCOMP_RET_USER_NOTIF
				}
				if got := runFilter(t, fa.audit, nr, [6]uint64{target}); got != want {
					t.Errorf("arch %#x call %d on %#x: %#x, want %#x", fa.audit, nr, target, got, want)
				}
			}
		}
		for _, nr := range others {
			if contains(fa.calls[:], nr) {
				continue
			}
			if got := runFilter(t, fa.audit, nr, [6]uint64{1}); got != unix.SECCOMP_RET_ALLOW {
				t.Errorf("arch %#x call %d: %#x, want allow", fa.audit, nr, got)
			}
		}
	}
	if got := runFilter(t, 0x1234, unix.SYS_REBOOT, [6]uint64{1}); got != unix.SECCOMP_RET_ALLOW {
		t.Errorf("another architecture: %#x, want allow", got)
	}
}

func contains(s []uint32, v uint32) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestRequestOf(t *testing.T) {
	native, compat := filterArchs[0], filterArchs[1]
	m1, m2 := uint64(unix.LINUX_REBOOT_MAGIC1), uint64(unix.LINUX_REBOOT_MAGIC2)
	tests := []struct {
		arch uint32
		nr   uint32
		args [6]uint64
		want string
		cap  int
	}{
		{native.audit, native.calls[0], [6]uint64{m1, m2, unix.LINUX_REBOOT_CMD_POWER_OFF}, "poweroff", capSysBoot},
		{native.audit, native.calls[0], [6]uint64{m1, rebootMagic2C, unix.LINUX_REBOOT_CMD_HALT}, "halt", capSysBoot},
		{compat.audit, compat.calls[0], [6]uint64{m1, m2, unix.LINUX_REBOOT_CMD_RESTART}, "reboot", capSysBoot},
		{native.audit, native.calls[0], [6]uint64{m1, 1, unix.LINUX_REBOOT_CMD_POWER_OFF}, "", 0},
		{native.audit, native.calls[0], [6]uint64{m1, m2, unix.LINUX_REBOOT_CMD_CAD_ON}, "", 0},
		{native.audit, native.calls[0], [6]uint64{m1, m2, unix.LINUX_REBOOT_CMD_KEXEC}, "", 0},
		{native.audit, native.calls[1], [6]uint64{1, uint64(unix.SIGUSR2)}, "poweroff", capKill},
		{compat.audit, compat.calls[1], [6]uint64{1, uint64(unix.SIGUSR1)}, "halt", capKill},
		{native.audit, native.calls[3], [6]uint64{1, 77, uint64(unix.SIGTERM)}, "reboot", capKill},
		{native.audit, native.calls[5], [6]uint64{1, 1, uint64(unix.SIGUSR2)}, "poweroff", capKill},
		{native.audit, native.calls[1], [6]uint64{1, uint64(unix.SIGHUP)}, "", 0},
		{native.audit, native.calls[1], [6]uint64{2, uint64(unix.SIGUSR2)}, "", 0},
		{compat.audit, native.calls[1], [6]uint64{1, uint64(unix.SIGUSR2)}, "", 0},
	}
	for _, tt := range tests {
		got, c := requestOf(tt.arch, int32(tt.nr), &tt.args)
		if got != tt.want || c != tt.cap {
			t.Errorf("requestOf(%#x, %d, %x) = %q, %d, want %q, %d", tt.arch, tt.nr, tt.args, got, c, tt.want, tt.cap)
		}
	}
}

// askEnv makes the test binary askChild, a program of a supervised run.
const askEnv = "VIRTINIT_TEST_ASK"

// askChild asks for a shutdown as its words say: "[nocap] reboot CMD"
// (hexadecimal), "[nocap] kill SIG", "tgkill SIG", "sigqueue SIG"
// (decimal). nocap
// drops every capability first. It returns the errno of the call, or 0;
// a request that /init takes never returns.
func askChild(ask string) int {
	words := strings.Fields(ask)
	if words[0] == "nocap" {
		words = words[1:]
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		var data [2]unix.CapUserData
		if err := unix.Capset(&hdr, &data[0]); err != nil {
			os.Stderr.WriteString("capset: " + err.Error() + "\n")
			return 100
		}
	}
	base := 10
	if words[0] == "reboot" {
		base = 16
	}
	n, _ := strconv.ParseUint(words[1], base, 32)
	var err error
	switch words[0] {
	case "reboot":
		_, _, e := unix.Syscall6(unix.SYS_REBOOT, unix.LINUX_REBOOT_MAGIC1, unix.LINUX_REBOOT_MAGIC2, uintptr(n), 0, 0, 0)
		if e != 0 {
			err = e
		}
	case "kill":
		err = unix.Kill(1, unix.Signal(n))
	case "tgkill":
		err = unix.Tgkill(1, 1, unix.Signal(n))
	case "sigqueue":
		var info [128]byte
		copy(info[8:], []byte{0xff, 0xff, 0xff, 0xff}) // si_code SI_QUEUE, as sigqueue(3)
		_, _, e := unix.Syscall(unix.SYS_RT_SIGQUEUEINFO, 1, uintptr(n), uintptr(unsafe.Pointer(&info)))
		if e != 0 {
			err = e
		}
	}
	if err != nil {
		return int(err.(unix.Errno))
	}
	if words[0] != "kill" {
		time.Sleep(100 * time.Second) // a request: /init ends the run
	}
	return 0
}
