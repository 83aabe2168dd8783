package main

import "virtinit/tools/internal/vm"

// cmdline is the kernel command line for one run:
//
//	console=CONSOLE panic=-1 rootfstype=virtiofs ro rd.emergency=halt
//	rootfs=rootfs mount=TAG... mount-ro=TAG... init=PROGRAM
//	quiet loglevel=3|debug APPEND -- ARGS
//
// panic=-1 makes the kernel reboot at once when PROGRAM, PID 1, exits, and
// -no-reboot turns that into the end of the VM; the kernel prints the
// exit status on the way. rd.emergency=halt makes a failure of /init end
// in a halt, which cannot be mistaken for a program that powered off.
// --debug shows the kernel's and /init's messages; without it the console
// is the program's.
//
// CONSOLE is the architecture's serial port: ttyS0 or ttyAMA0.
func cmdline(console, program string, mounts []vm.Share, appends []string, args []string, debug bool) (string, error) {
	return vm.Cmdline{
		Console: console,
		Extra:   []string{"panic=-1", "rootfstype=virtiofs", "ro", "rd.emergency=halt"},
		RootTag: rootTag,
		Shares:  mounts,
		Init:    program,
		Debug:   debug,
		Quiet:   !debug,
		Append:  appends,
		Args:    args,
	}.String()
}
