package main

import (
	"strconv"
	"strings"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/vm"
)

// cmdline is the kernel command line for one run (contract.Cmdline composes
// it):
//
//	console=CONSOLE panic=-1 rootfstype=virtiofs ro rd.supervise=ports|tty
//	[TERM=...] rootfs=rootfs mount=TAG... mount-ro=TAG...
//	quiet loglevel=3|debug APPEND
//
// The program and its arguments are not on it: they are in the initrd's
// /init.argv, which carries any byte at any length. rd.supervise makes
// /init run the program as its child, report its end on the status port
// and power off; panic=-1 and -no-reboot end the VM at once should the
// kernel panic instead (and on x86_64 the pvpanic device, should the
// program have set the panic timeout to 0). A failure of /init powers off (its default
// rd.emergency), and the missing status record says what happened.
// --debug shows the kernel's and /init's messages.
//
// CONSOLE is the architecture's serial port: ttyS0 or ttyAMA0. ENV are
// KEY=VALUE words for the program's environment in a tty run (TERM,
// COLUMNS, LINES): the kernel hands an unknown key=value word to init as
// an environment variable. A word the command line cannot carry is left
// out.
func cmdline(console, supervise string, mounts []vm.Share, appends []string, env []string, debug bool) (string, error) {
	extra := []string{"panic=-1", "rootfstype=virtiofs", "ro", contract.WordSupervise + "=" + supervise}
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k != "" && v != "" && !strings.Contains(e, `"`) && !contract.HasSpace(e) {
			extra = append(extra, e)
		}
	}
	return contract.Cmdline{
		Console: console,
		Extra:   extra,
		RootTag: contract.RootTag,
		Mounts:  mountsOf(mounts),
		Debug:   debug,
		Quiet:   !debug,
		Append:  appends,
	}.String()
}

// checkAppend refuses a --append value the kernel would misread: an odd
// number of double quotes opens a quoted word that swallows the rest of
// the command line (lib/cmdline.c, next_arg: there is no escape).
func checkAppend(a string) error {
	if strings.Count(a, `"`)%2 != 0 {
		return cli.Usagef("--append %q has an unbalanced double quote: the kernel would take the rest of its command line as one word", a)
	}
	if strings.ContainsAny(a, "\n\x00") {
		return cli.Usagef("--append %q contains a newline or a NUL byte", a)
	}
	// The words as the kernel and /init read them: quotes removed
	// (panic="0", "rd.supervise=console"), numbers parsed (panic=00).
	words, _ := contract.SplitCmdline(a)
	for _, w := range words {
		key, val, _ := strings.Cut(w, "=")
		switch key {
		// The VM ends when qemu exits: a guest that halts, or a
		// kernel that waits forever after a panic, would keep it
		// running until --timeout.
		case contract.WordEmergency, "panic":
			if key == contract.WordEmergency && val == "halt" || key == "panic" && kernelInt(val) == 0 {
				return cli.Usagef("--append %s: the guest would stay halted, and chrootvm waits for the VM to end (use rd.emergency=poweroff or reboot)", w)
			}
		// chrootvm chooses these itself: another rd.supervise mode
		// would take the program's stdio and status record off the
		// ports chrootvm reads, and rd.overlay needs the overlay
		// module that only --overlay puts into the initrd.
		case contract.WordSupervise:
			return cli.Usagef("--append %s: chrootvm chooses rd.supervise itself (ports, or tty when stdin and stdout are terminals)", w)
		case contract.WordOverlay:
			return cli.Usagef("--append %s: use --overlay[=SIZE], which also puts the overlay module into the initrd", w)
		}
	}
	return nil
}

// mountsOf are the mount= and mount-ro= words of shares.
func mountsOf(shares []vm.Share) []contract.Mount {
	var m []contract.Mount
	for _, s := range shares {
		m = append(m, contract.Mount{Tag: s.Tag, ReadOnly: s.ReadOnly})
	}
	return m
}

// kernelInt reads an integer parameter as the kernel does (kstrtoint with
// base 0, lib/kstrtox.c: a sign, 0x for hexadecimal, a leading 0 for
// octal, one trailing newline); -1 for what it would not take (the
// parameter is then ignored).
func kernelInt(s string) int64 {
	n, err := strconv.ParseInt(strings.TrimPrefix(strings.TrimSuffix(s, "\n"), "+"), 0, 32)
	if err != nil || strings.Contains(s, "_") {
		return -1
	}
	return n
}
