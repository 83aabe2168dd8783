package main

import "golang.org/x/sys/unix"

// The filter's architecture on s390x, which virtinit builds for (osbuild
// is packaged there) but make check does not boot: its own calls only.
// compatAudit 0 is no architecture, so the second half of the filter
// never matches.
const (
	auditArch              = unix.AUDIT_ARCH_S390X
	compatAudit            = 0
	compatReboot           = unix.SYS_REBOOT
	compatKill             = unix.SYS_KILL
	compatTkill            = unix.SYS_TKILL
	compatTgkill           = unix.SYS_TGKILL
	compatRtSigqueueinfo   = unix.SYS_RT_SIGQUEUEINFO
	compatRtTgsigqueueinfo = unix.SYS_RT_TGSIGQUEUEINFO
)
