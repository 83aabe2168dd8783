//go:build !amd64 && !arm64

package main

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// The filter's architecture on the other machines virtinit builds for
// (osbuild is packaged there) but make check does not boot: their own
// calls only. compatAudit 0 is no architecture, so the second half of the
// filter never matches.
var auditArch = map[string]uint32{
	"386":     unix.AUDIT_ARCH_I386,
	"arm":     unix.AUDIT_ARCH_ARM,
	"ppc64le": unix.AUDIT_ARCH_PPC64LE,
	"s390x":   unix.AUDIT_ARCH_S390X,
	"riscv64": unix.AUDIT_ARCH_RISCV64,
}[runtime.GOARCH]

const (
	compatAudit            = 0
	compatReboot           = unix.SYS_REBOOT
	compatKill             = unix.SYS_KILL
	compatTkill            = unix.SYS_TKILL
	compatTgkill           = unix.SYS_TGKILL
	compatRtSigqueueinfo   = unix.SYS_RT_SIGQUEUEINFO
	compatRtTgsigqueueinfo = unix.SYS_RT_TGSIGQUEUEINFO
)
