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
)

// Record is the one line /init writes on PortStatus when the program
// ended or could not start, or /init failed.
type Record struct {
	Kind string // RecordExit, RecordSignal, RecordExec or RecordFatal
	N    int    // the status, the signal or the errno
	Text string // exec's and fatal's message
}

// ParseRecord reads the status port's bytes: exactly one line
//
//	exit N | signal N | exec ERRNO TEXT | fatal TEXT
//
// ended by a newline. ok is false for anything else: the guest ended
// before it wrote a record, or wrote something /init does not write.
func ParseRecord(b []byte) (r Record, ok bool) {
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok || bytes.IndexByte(line, '\n') >= 0 {
		return Record{}, false
	}
	kind, rest, _ := strings.Cut(string(line), " ")
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
