package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// planParts makes fakeParts' host parts visible to this process (PATH,
// $VIRTIOFSD) and returns the arguments before ROOTFS and ROOTFS.
func planParts(t *testing.T) (opts []string, rootfs string) {
	args, env, _ := fakeParts(t, "1")
	for _, e := range env {
		if k, v, _ := strings.Cut(e, "="); k == "PATH" || k == vm.VirtiofsdEnv {
			t.Setenv(k, v)
		}
	}
	return args[:len(args)-2], args[len(args)-2]
}

// TestPlan checks what makePlan decides, without a VM.
func TestPlan(t *testing.T) {
	opts, rootfs := planParts(t)
	modules := filepath.Join(t.TempDir(), "6.1.0")
	tree(t, modules, map[string]string{"kernel/drivers/virtio/virtio_mmio.ko": "f"})
	tests := []struct {
		name          string
		args          []string
		term          terminal
		machine       string
		transport     string
		mode          string
		words         []string // in the command line
		modules       []string // Options.Modules
		warning       string   // in one warning
		argv          []string
		sharesAfterFS []string // the tags after ROOTFS's
	}{{
		name: "no module tree", args: []string{rootfs, "sh", "a b", ""},
		machine: "q35", transport: "pci", mode: contract.ModePorts,
		words:   []string{"rd.supervise=ports", "rootfs=rootfs", "panic=-1", "quiet"},
		warning: "no module tree", argv: []string{"/bin/sh", "a b", ""},
	}, {
		name:    "a tree with virtio_mmio, a share, the overlay, debug",
		args:    []string{"--modules", modules, "--mount", "work", t.TempDir(), "--overlay=1g", "--debug", rootfs},
		machine: "microvm", transport: "mmio", mode: contract.ModePorts,
		words:   []string{"rd.supervise=ports", "mount=work", "rd.overlay=1g", "debug"},
		modules: []string{"virtio_console", initrd.OverlayModule}, argv: []string{"/bin/sh"},
		sharesAfterFS: []string{"work"},
	}, {
		name: "a terminal", args: []string{rootfs}, term: terminal{tty: true, env: []string{"TERM=xterm", "COLUMNS=80"}},
		machine: "q35", transport: "pci", mode: contract.ModeTTY,
		words: []string{"rd.supervise=tty", "TERM=xterm", "COLUMNS=80"}, argv: []string{"/bin/sh"}, warning: "no module tree",
	}}
	for _, tt := range tests {
		o, err := parseArgs(append(slices.Clone(opts), tt.args...))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		p, err := makePlan(o, tt.term)
		if err != nil {
			t.Errorf("%s: makePlan = %v", tt.name, err)
			continue
		}
		if p.machine != tt.machine || p.transport != tt.transport || p.mode != tt.mode || p.initrd.Transport != tt.transport {
			t.Errorf("%s: machine %s, transport %s (the initrd's %s), mode %s; want %s, %s, %s", tt.name, p.machine, p.transport, p.initrd.Transport, p.mode, tt.machine, tt.transport, tt.mode)
		}
		for _, w := range tt.words {
			if !slices.Contains(strings.Fields(p.line), w) {
				t.Errorf("%s: command line %q lacks %s", tt.name, p.line, w)
			}
		}
		if !slices.Equal(p.initrd.Modules, tt.modules) || !slices.Equal(p.initrd.Argv, tt.argv) || p.initrd.Init == "" {
			t.Errorf("%s: initrd modules %q, argv %q, init %q; want %q, %q", tt.name, p.initrd.Modules, p.initrd.Argv, p.initrd.Init, tt.modules, tt.argv)
		}
		if (tt.warning == "") != (len(p.warnings) == 0) || tt.warning != "" && !strings.Contains(p.warnings[0], tt.warning) {
			t.Errorf("%s: warnings %q, want one saying %q", tt.name, p.warnings, tt.warning)
		}
		var tags []string
		for _, s := range p.shares[1:] {
			tags = append(tags, s.Tag)
		}
		if s := p.shares[0]; s.Tag != contract.RootTag || !s.ReadOnly || !slices.Equal(tags, tt.sharesAfterFS) {
			t.Errorf("%s: shares %+v, want ROOTFS read-only as %s, then %q", tt.name, p.shares, contract.RootTag, tt.sharesAfterFS)
		}
		if p.qemu == "" || p.virtiofsd.Path == "" || !p.virtiofsd.Rust {
			t.Errorf("%s: qemu %q, virtiofsd %+v; want both found, the fake one Rust", tt.name, p.qemu, p.virtiofsd)
		}
	}
}

// TestPlanPorts checks that the ports a run gives the VM in each mode
// are the contract's, the status port first.
func TestPlanPorts(t *testing.T) {
	e := &execution{app: &app{stderr: &bytes.Buffer{}}, p: &plan{mode: contract.ModePorts}, stdin: strings.NewReader(""), stdout: &bytes.Buffer{}}
	ports, err := e.ports(&limitedBuffer{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range ports {
		names = append(names, p.Name)
	}
	if want := contract.Ports[contract.ModePorts]; !slices.Equal(names, want) {
		t.Errorf("ports %q, want %q", names, want)
	}
}

// TestHelpStatuses holds --help's table of exit statuses and exitStatus
// together: every outcome below gets a documented status, and every
// documented status is some outcome's. The outcomes cover each case of
// exitStatus.
func TestHelpStatuses(t *testing.T) {
	rec := func(line string) outcome {
		r, ok := contract.ParseRecord([]byte(line + "\n"))
		if !ok {
			t.Fatalf("%q is no record", line)
		}
		return outcome{record: r, recorded: true}
	}
	outcomes := []outcome{
		{stop: interrupted{syscall.SIGINT}}, {stop: interrupted{syscall.SIGTERM}},
		{stop: interrupted{syscall.SIGHUP}}, {stop: interrupted{syscall.SIGPIPE}},
		{stop: errEscape},
		{err: cli.Usagef("bad")},
		{err: failure(errNoRootfs, errors.New("x"))},
		{err: failure(errNoKernel, errors.New("x"))},
		{err: &prefixError{"build the initrd: ", initrd.ErrNoModule}},
		{err: vm.ErrNoQemu}, {err: vm.ErrNoVirtiofsd},
		{err: failure(errNotFound, errors.New("x"))},
		{err: failure(errNotExecutable, errors.New("x"))},
		{err: errors.New("anything else")},
		{timedOut: true},
		{},
		rec("exec 2 exec /x: no such file or directory"), rec("exec 13 exec /x: permission denied"),
		rec("fatal mount: no such device"),
		rec("start\nshutdown poweroff"),
		rec("start\nwriteback out 28 no space left on device\nexit 0"),
		{record: contract.Record{Started: true}},
	}
	var help bytes.Buffer
	run([]string{"--help"}, nil, &help, &help)
	documented := map[int]bool{}
	table := false
	row := regexp.MustCompile(`^  ([0-9]+(, [0-9]+)*) `)
	for sc := bufio.NewScanner(&help); sc.Scan(); {
		switch line := sc.Text(); {
		case line == "Exit status:":
			table = true
		case table && line != "" && line[0] != ' ':
			table = false
		case table:
			if m := row.FindStringSubmatch(line); m != nil {
				for _, n := range strings.Split(m[1], ", ") {
					code, _ := strconv.Atoi(n)
					documented[code] = true
				}
			}
		}
	}
	if len(documented) == 0 {
		t.Fatal("--help has no table of exit statuses")
	}
	given := map[int]bool{}
	for _, o := range outcomes {
		code := exitStatus(o)
		given[code] = true
		if !documented[code] {
			t.Errorf("exitStatus(%+v) = %d, which --help does not document", o, code)
		}
	}
	for code := range documented {
		if !given[code] {
			t.Errorf("--help documents exit status %d, which no outcome gets", code)
		}
	}
	// The program's own statuses pass through.
	if got := exitStatus(rec("exit 3")); got != 3 {
		t.Errorf("exit 3 gives %d", got)
	}
	if got := exitStatus(rec("signal 9")); got != 137 {
		t.Errorf("signal 9 gives %d", got)
	}
	// A full share with the C virtiofsd: a program that succeeded may
	// have lost data; one that failed keeps its status.
	full := []fullShare{{"/out (tag out)", 0}}
	for _, tt := range []struct {
		record string
		want   int
	}{
		{"start\nexit 0", exitLost},
		{"start\nshutdown poweroff", exitLost},
		{"start\nexit 1", 1},
		{"start\nsignal 9", 137},
	} {
		o := rec(tt.record)
		o.full = full
		if got := exitStatus(o); got != tt.want {
			t.Errorf("%q with a full share gives %d, want %d", tt.record, got, tt.want)
		}
	}
}

// TestSecondSignal: a second signal while chrootvm cleans up after the
// first cuts the clean-up short: chrootvm exits at once with the second
// signal's status. The fake qemu ignores SIGTERM, so the clean-up after
// the first signal waits for it (vm's stopGrace) until the second one.
func TestSecondSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chrootvm")
	}
	args, env, _ := fakeParts(t, "30")
	bin := filepath.Dir(strings.TrimPrefix(env[slices.IndexFunc(env, func(e string) bool { return strings.HasPrefix(e, vm.VirtiofsdEnv+"=") })], vm.VirtiofsdEnv+"="))
	mark := filepath.Join(t.TempDir(), "term")
	qemu := "#!/bin/sh\ntrap 'echo >" + mark + "' TERM\nwhile :; do sleep 0.05; done\n"
	if err := os.WriteFile(filepath.Join(bin, "qemu-system-x86_64"), []byte(qemu), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd, stderr := start(t, env, os.Args[0], args...)
	waitChild(cmd.Process.Pid, "qemu-system-x86")
	deadline := time.Now().Add(20 * time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	for _, err := os.Stat(mark); err != nil && time.Now().Before(deadline); _, err = os.Stat(mark) {
		time.Sleep(10 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 128+int(syscall.SIGTERM) {
		t.Errorf("exit status %d after SIGINT, then SIGTERM during the clean-up; want %d (stderr %q)", code, 128+int(syscall.SIGTERM), stderr.String())
	}
}

// TestFullLimit: a filesystem counts as full within fullRoom of ext4's
// reserve, which the kernel takes as 2% of all its blocks, at most 16 MiB,
// where statfs counts fewer blocks (its metadata left out).
func TestFullLimit(t *testing.T) {
	tests := []struct {
		name                  string
		blocks, size, reserve int64 // statfs's count and block size; the kernel's reserve in bytes
	}{
		// mkfs.ext4 of a 20 MB file: 20480 blocks of 1 KiB, 17849 in
		// statfs; the kernel reserves 20480/50 blocks.
		{"ext4, 20 MB", 17849, 1024, 20480 / 50 * 1024},
		{"ext4, 100 GB", 25600000, 4096, 16 << 20},
	}
	for _, tt := range tests {
		if got := fullLimit(tt.blocks, tt.size); got < tt.reserve+fullRoom {
			t.Errorf("%s: fullLimit = %d, under the reserve %d and %d more", tt.name, got, tt.reserve, fullRoom)
		}
	}
	if got := fullLimit(25600000, 4096); got > fullReserve+fullRoom {
		t.Errorf("a large filesystem: fullLimit = %d, over the 16 MiB reserve and %d more", got, fullRoom)
	}
}
