// Command mkrootfs makes a busybox root filesystem to try chrootvm on:
// testenv's busybox root (the one the tests boot) with a link for every
// applet. `make rootfs` and tools/demo run it.
//
//	mkrootfs [-arch amd64|arm64] DIR
//
// The busybox is the host's static one for amd64 (package busybox-static)
// and the cache's for arm64 (tools/fetch-deps --arch arm64). A busybox
// this machine can run lists its own applets; another architecture's gets
// a fixed list of common ones.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/testenv"
)

// commonApplets are linked when busybox cannot be asked for its list.
var commonApplets = []string{
	"sh", "ash", "cat", "chmod", "cp", "date", "df", "dmesg", "du", "echo", "env", "false", "find",
	"free", "grep", "head", "id", "kill", "less", "ln", "ls", "mkdir", "mount", "mv", "poweroff",
	"ps", "pwd", "reboot", "rm", "rmdir", "sed", "sleep", "sort", "stat", "tail", "tee", "test",
	"touch", "true", "umount", "uname", "vi", "wc", "which",
}

func main() {
	goarch, help := runtime.GOARCH, false
	options := map[string]cli.Option[*string]{
		"--arch": {Values: 1, Set: func(a *string, v []string) error { *a = v[0]; return nil }},
		"--help": {Set: func(*string, []string) error { help = true; return nil }},
		"-h":     {Set: func(*string, []string) error { help = true; return nil }},
	}
	const usage = "usage: mkrootfs [--arch amd64|arm64] DIR\n"
	ops, err := cli.Parse(os.Args[1:], options, &goarch, true)
	if err == nil && !help && len(ops) != 1 {
		err = cli.Usagef("want one DIR, got %d operands", len(ops))
	}
	if err != nil {
		os.Exit(cli.ReportUsage(os.Stderr, "mkrootfs", err))
	}
	if help {
		fmt.Print(usage)
		return
	}
	dir := ops[0]
	busybox, err := testenv.FindBusybox(goarch)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkrootfs:", err)
		os.Exit(1)
	}
	applets := commonApplets
	if goarch == runtime.GOARCH {
		out, err := exec.Command(busybox, "--list").Output()
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkrootfs: %s --list: %v\n", busybox, err)
			os.Exit(1)
		}
		applets = strings.Fields(string(bytes.TrimSpace(out)))
	}
	if err := testenv.BusyboxRoot(dir, busybox, applets...); err != nil {
		fmt.Fprintln(os.Stderr, "mkrootfs:", err)
		os.Exit(1)
	}
	fmt.Printf("mkrootfs: %s: busybox root for %s (%s, %d applets)\n", dir, goarch, busybox, len(applets))
}
