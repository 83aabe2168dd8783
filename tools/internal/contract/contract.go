// Package contract is the host's half of the contract with virtinit's
// /init: the names, paths, encodings and kernel words both sides must
// agree on. The guest's half is the root package, which this module
// cannot import, nor it this one; so both sides' tests read the one
// table testdata/contract.json of the repository (contract_test.go here,
// contract_test.go in the root package), and a fact changed on one side
// only fails a test. vm, initrd, chrootvm, bench and vmtest ask this
// package and write none of these facts themselves.
package contract

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// RootTag is the virtiofs tag of the root when the command line names
// none (/init's defaultConfig).
const RootTag = "rootfs"

// SharesDir is where /init mounts each mount=TAG: SharesDir/TAG.
const SharesDir = "/run/mnt"

// The kernel command line words /init reads (cmdline.go, parseCmdline).
const (
	WordRootfs    = "rootfs"   // rootfs=TAG: the root's tag
	WordRoot      = "root"     // root=TAG with rootfstype=virtiofs: osbuild's spelling
	WordMount     = "mount"    // mount=TAG: a read-write share at SharesDir/TAG
	WordMountRO   = "mount-ro" // mount-ro=TAG: a read-only one
	WordInit      = "init"     // init=PROGRAM
	WordDebug     = "debug"    // the kernel's and /init's messages
	WordRdDebug   = "rd.debug" // /init's messages only
	WordEmergency = "rd.emergency"
	WordSupervise = "rd.supervise" // rd.supervise=MODE: run the program as /init's child
	WordOverlay   = "rd.overlay"   // rd.overlay[=SIZE]: a writable root on a tmpfs
	WordTimeout   = "rd.timeout"   // rd.timeout=SECONDS: how long /init waits for a device
	WordHostname  = "hostname"     // hostname=NAME: the guest's hostname
	WordIP        = "ip"           // ip=...: the kernel's static ip= (net.go of /init)
)

// Words are all the words of /init, for the test against the contract.
var Words = []string{WordRootfs, WordRoot, WordMount, WordMountRO, WordInit, WordDebug, WordRdDebug, WordEmergency, WordSupervise, WordOverlay, WordTimeout, WordHostname, WordIP}

// The modes of rd.supervise=MODE that the host drives: the program's
// stdio on ports of their own, or on a terminal of the guest.
// ("console", the third, is for a person at the serial console.)
const (
	ModePorts   = "ports"
	ModeTTY     = "tty"
	ModeConsole = "console"
)

// The virtio-serial ports of a supervised run, named by the host.
const (
	PortStatus = "virtinit.status" // the status record; only /init writes it
	PortStdin  = "virtinit.stdin"
	PortStdout = "virtinit.stdout"
	PortStderr = "virtinit.stderr"
	PortTTY    = "virtinit.tty" // a virtconsole: the program's terminal
)

// Ports are the ports /init opens in each mode, the status port first.
var Ports = map[string][]string{
	ModePorts: {PortStatus, PortStdin, PortStdout, PortStderr},
	ModeTTY:   {PortStatus, PortTTY},
}

// The kinds of status record.
const (
	RecordExit   = "exit"   // exit N: the program's exit status
	RecordSignal = "signal" // signal N: the signal that killed it
	RecordExec   = "exec"   // exec ERRNO TEXT: it could not be started
	RecordFatal  = "fatal"  // fatal TEXT: /init failed before the program ran
	// RecordShutdown is shutdown poweroff|halt|reboot: the program asked
	// for the machine's end before it ended (reboot(2), or a signal to
	// PID 1 as busybox's commands send them).
	RecordShutdown = "shutdown"
)

// The lines /init writes before the end record: RecordStart first, when
// the program runs; then RecordWriteback TAG ERRNO TEXT for a share whose
// data syncfs(2) could not write back, and RecordOOM N for the processes
// the kernel's OOM killer killed while the program ran.
const (
	RecordStart     = "start"
	RecordWriteback = "writeback"
	RecordOOM       = "oom"
)

// Record is the one line /init writes on PortStatus when the program
// ended or could not start, or /init failed.
type Record struct {
	Kind string // RecordExit, RecordSignal, RecordExec or RecordFatal
	N    int    // the status, the signal or the errno
	Text string // exec's and fatal's message, shutdown's kind
	// Started: the program ran (RecordStart), so a missing end is the
	// guest's death, not a failed boot. Set whether or not the end was
	// recorded.
	Started  bool
	Lost     []string // "TAG: TEXT" of each RecordWriteback line
	OOMKills int      // the sum of the RecordOOM lines
}

// ParseRecord reads the status port's bytes: lines, each ended by a
// newline,
//
//	[start]
//	[writeback TAG ERRNO TEXT | oom N]...
//	exit N | signal N | exec ERRNO TEXT | fatal TEXT | shutdown poweroff|halt|reboot
//
// ok is false without a well-formed end: the guest ended before /init
// wrote it, or the port carried what /init does not write. r.Started is
// set even then.
func ParseRecord(b []byte) (r Record, ok bool) {
	lines := strings.Split(string(b), "\n")
	var pre Record
	if len(lines) > 1 && lines[0] == RecordStart {
		pre.Started, lines = true, lines[1:]
	}
	for ; len(lines) > 1; lines = lines[1:] {
		kind, rest, _ := strings.Cut(lines[0], " ")
		if kind == RecordWriteback {
			tag, errno, _ := strings.Cut(rest, " ")
			_, text, _ := strings.Cut(errno, " ")
			pre.Lost = append(pre.Lost, tag+": "+text)
			continue
		}
		if n, err := strconv.Atoi(rest); kind == RecordOOM && err == nil && n > 0 {
			pre.OOMKills += n
			continue
		}
		break
	}
	if len(lines) != 2 || lines[1] != "" {
		return Record{Started: pre.Started}, false // no end, more than one, or a line not ended
	}
	r, ok = parseEnd(lines[0])
	if !ok {
		return Record{Started: pre.Started}, false
	}
	r.Started, r.Lost, r.OOMKills = pre.Started, pre.Lost, pre.OOMKills
	return r, true
}

// parseEnd reads the line of an end record.
func parseEnd(line string) (Record, bool) {
	kind, rest, _ := strings.Cut(line, " ")
	number := func(s string) (int, bool) {
		n, err := strconv.Atoi(s)
		return n, err == nil && strconv.Itoa(n) == s
	}
	switch kind {
	case RecordExit, RecordSignal:
		n, ok := number(rest)
		if !ok || n < 0 || n > 255 || kind == RecordSignal && n == 0 {
			return Record{}, false
		}
		return Record{Kind: kind, N: n}, true
	case RecordExec:
		num, text, _ := strings.Cut(rest, " ")
		n, ok := number(num)
		if !ok || n <= 0 {
			return Record{}, false
		}
		return Record{Kind: kind, N: n, Text: text}, true
	case RecordFatal:
		return Record{Kind: kind, Text: rest}, true
	case RecordShutdown:
		if rest == "poweroff" || rest == "halt" || rest == "reboot" {
			return Record{Kind: kind, Text: rest}, true
		}
	}
	return Record{}, false
}

// ArgvPath is the file of the initrd that holds the program and its
// arguments: /init reads it in place of init= and the words after "--",
// so they may hold any byte but NUL, at any length execve takes.
const ArgvPath = "/init.argv"

// ArgvFile encodes a program and its arguments as ArgvPath holds them:
// each string followed by a NUL. The program must not be empty, and no
// string may hold a NUL, which execve could not pass either.
func ArgvFile(argv []string) ([]byte, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, errors.New("init.argv: no program")
	}
	var b bytes.Buffer
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			if i == 0 {
				return nil, fmt.Errorf("init.argv: the program %q contains a NUL byte", a)
			}
			return nil, fmt.Errorf("init.argv: argument %d %q contains a NUL byte", i, a)
		}
		b.WriteString(a)
		b.WriteByte(0)
	}
	return b.Bytes(), nil
}

// ModulesDir is where the initrd holds the modules /init loads.
const ModulesDir = "/usr/lib/modules"

// ModuleSuffixes are the module file names /init loads; the compressed
// ones need the kernel to decompress them (CONFIG_MODULE_DECOMPRESS).
var ModuleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// ModuleFile names the module name, index-th of count (from 1), in
// ModulesDir: NNN-name.ko, numbered with at least three digits and as
// many as count needs, so that /init's byte order is load order.
func ModuleFile(index, count int, name string) string {
	width := len(strconv.Itoa(count))
	if width < 3 {
		width = 3
	}
	return fmt.Sprintf("%0*d-%s.ko", width, index, name)
}
