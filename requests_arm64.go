package main

import "golang.org/x/sys/unix"

// The filter's architectures on arm64: its own calls, and those of 32-bit
// ARM programs (CONFIG_COMPAT; arch/arm/tools/syscall.tbl).
const (
	auditArch              = unix.AUDIT_ARCH_AARCH64
	compatAudit            = unix.AUDIT_ARCH_ARM
	compatReboot           = 88
	compatKill             = 37
	compatTkill            = 238
	compatTgkill           = 268
	compatRtSigqueueinfo   = 178
	compatRtTgsigqueueinfo = 363
)
