package main

import (
	"errors"
	"fmt"
	"strings"

	"virtinit/tools/internal/vm"
)

// commandLineSize is the kernel's limit on its command line, with the
// terminating NUL: COMMAND_LINE_SIZE in arch/x86/include/asm/setup.h and
// in arch/arm64/include/uapi/asm/setup.h alike.
const commandLineSize = 2048

// cmdline is the kernel command line for one run:
//
//	console=CONSOLE panic=-1 rootfstype=virtiofs rootfs=rootfs ro init=PROGRAM
//	mount=TAG... mount-ro=TAG... quiet loglevel=3|debug rd.emergency=halt
//	APPEND -- ARGS
//
// panic=-1 makes the kernel reboot at once when PROGRAM, PID 1, exits, and
// -no-reboot turns that into the end of the VM; the kernel prints the
// exit status on the way. rd.emergency=halt makes a failure of /init end
// in a halt, which cannot be mistaken for a program that powered off.
// loglevel=3 hides KERN_ERR messages too, which "quiet" lets through, like
// microvm's "PCI: Fatal: No config space access function found" (it has
// no PCI bus); --debug shows everything.
//
// CONSOLE is the architecture's serial port: ttyS0 or ttyAMA0.
func cmdline(console, program string, mounts []vm.Share, appends []string, args []string, debug bool) (string, error) {
	p, err := quoteArg(program)
	if err != nil {
		return "", fmt.Errorf("PROGRAM %w", err)
	}
	words := []string{"console=" + console, "panic=-1", "rootfstype=virtiofs", "rootfs=" + rootTag, "ro", "init=" + p}
	for _, m := range mounts {
		if m.ReadOnly {
			words = append(words, "mount-ro="+m.Tag)
		} else {
			words = append(words, "mount="+m.Tag)
		}
	}
	if debug {
		words = append(words, "debug")
	} else {
		words = append(words, "quiet", "loglevel=3")
	}
	words = append(words, "rd.emergency=halt")
	for _, a := range appends {
		if a = strings.TrimSpace(a); a != "" {
			words = append(words, a)
		}
	}
	if len(args) > 0 {
		words = append(words, "--")
		for _, a := range args {
			if a == "--" {
				// The kernel stops reading init's arguments at a second
				// "--", quoted or not (kernel/params.c, parse_args).
				return "", errors.New(`an argument "--" cannot reach the program: the kernel drops it and what follows`)
			}
			q, err := quoteArg(a)
			if err != nil {
				return "", fmt.Errorf("argument %w", err)
			}
			words = append(words, q)
		}
	}
	line := strings.Join(words, " ")
	if len(line) >= commandLineSize {
		return "", fmt.Errorf("the kernel command line would be %d bytes, longer than the kernel takes (%d)", len(line), commandLineSize-1)
	}
	return line, nil
}

// quoteArg writes one word of the kernel command line. The kernel splits
// at white space and lets double quotes group a word (lib/cmdline.c,
// next_arg), but has no escape: a word cannot contain a double quote, and
// a newline is refused too, since it would end the line for readers of
// /proc/cmdline.
func quoteArg(a string) (string, error) {
	if strings.ContainsAny(a, "\"\n") {
		return "", fmt.Errorf("%q contains a double quote or a newline, which the kernel command line cannot carry", a)
	}
	if a == "" || strings.ContainsAny(a, " \t\v\f\r") {
		return `"` + a + `"`, nil
	}
	return a, nil
}
