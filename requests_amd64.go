package main

import "golang.org/x/sys/unix"

// The filter's architectures on x86_64: its own calls, and those of
// 32-bit x86 programs (CONFIG_IA32_EMULATION;
// arch/x86/entry/syscalls/syscall_32.tbl).
const (
	auditArch              = unix.AUDIT_ARCH_X86_64
	compatAudit            = unix.AUDIT_ARCH_I386
	compatReboot           = 88
	compatKill             = 37
	compatTkill            = 238
	compatTgkill           = 270
	compatRtSigqueueinfo   = 178
	compatRtTgsigqueueinfo = 335
)
