package main

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/vm"
)

// options are chrootvm's parsed arguments.
type options struct {
	mounts    []vm.Share // --mount and --mount-ro, in order
	kernel    string
	modules   string
	arch      string // "" = the kernel's
	machine   string // "" = choose
	transport string // "" = choose
	memory    string
	cpus      int
	timeout   time.Duration
	appends   []string
	init      string
	virtiofsd string // "" = vm's choice: $VIRTIOFSD, else the usual places
	strip     bool   // --strip-signatures
	noTune    bool   // --no-tune
	icount    bool   // --icount
	overlay   bool   // --overlay: a writable root on a tmpfs (rd.overlay)
	// overlaySize is --overlay=SIZE, the tmpfs's size ("" its default).
	overlaySize string
	net         bool   // --net: qemu's user-mode network
	hostname    string // --hostname; "" = ROOTFS's, else defaultHostname
	debug       bool
	help        bool

	rootfs  string
	program string   // "" = the default
	args    []string // the program's arguments
}

// flags are chrootvm's options (cli.Parse reads them).
var flags = map[string]cli.Option[*options]{
	"--mount":          {Values: 2, Set: func(o *options, v []string) error { return o.addMount("--mount", v[0], v[1]) }},
	"--mount-uncached": {Values: 2, Set: func(o *options, v []string) error { return o.addMount("--mount-uncached", v[0], v[1]) }},
	"--mount-ro":       {Values: 2, Set: func(o *options, v []string) error { return o.addMount("--mount-ro", v[0], v[1]) }},
	"--kernel":         {Values: 1, Set: func(o *options, v []string) error { return setPath(&o.kernel, "--kernel", v[0]) }},
	"--modules":        {Values: 1, Set: func(o *options, v []string) error { return setPath(&o.modules, "--modules", v[0]) }},
	"--arch": {Values: 1, Set: func(o *options, v []string) error {
		a, err := parseArch(v[0])
		o.arch = a
		return err
	}},
	"--machine": {Values: 1, Set: func(o *options, v []string) error {
		if !slices.Contains(machineNames(), v[0]) {
			return cli.Usagef("--machine %q: want %s", v[0], strings.Join(machineNames(), ", "))
		}
		o.machine = v[0]
		return nil
	}},
	"--transport": {Values: 1, Set: func(o *options, v []string) error {
		if !slices.Contains(vm.TransportNames(), v[0]) {
			return cli.Usagef("--transport %q: want %s", v[0], strings.Join(vm.TransportNames(), " or "))
		}
		o.transport = v[0]
		return nil
	}},
	"--memory": {Values: 1, Set: func(o *options, v []string) error {
		if !vm.ValidMemory(v[0]) {
			return cli.Usagef("--memory %q: want a size like 512M or 2G", v[0])
		}
		if memoryBytes(v[0]) < minMemory {
			return cli.Usagef("--memory %s: too little for the kernel, its initrd and a program (at least 128M; with less, Debian's kernels stop before they print a word)", v[0])
		}
		o.memory = v[0]
		return nil
	}},
	"--cpus": {Values: 1, Set: func(o *options, v []string) error {
		n, err := strconv.Atoi(v[0])
		if err != nil || n < 1 {
			return cli.Usagef("--cpus %q: want a number of CPUs, at least 1", v[0])
		}
		o.cpus = n
		return nil
	}},
	"--timeout": {Values: 1, Set: func(o *options, v []string) error {
		d, err := parseTimeout(v[0])
		if err != nil {
			return err
		}
		o.timeout = d
		return nil
	}},
	"--append": {Values: 1, Set: func(o *options, v []string) error {
		if err := checkAppend(v[0]); err != nil {
			return err
		}
		o.appends = append(o.appends, v[0])
		return nil
	}},
	"--init": {Values: 1, Set: func(o *options, v []string) error { return setPath(&o.init, "--init", v[0]) }},
	"--virtiofsd": {Values: 1, Set: func(o *options, v []string) error {
		if v[0] == "" {
			return cli.Usagef("--virtiofsd needs a program")
		}
		o.virtiofsd = v[0]
		return nil
	}},
	"--net": {Values: 0, Set: func(o *options, v []string) error { o.net = true; return nil }},
	"--hostname": {Values: 1, Set: func(o *options, v []string) error {
		o.hostname = v[0]
		return checkHostname(v[0])
	}},
	"--strip-signatures": {Values: 0, Set: func(o *options, v []string) error { o.strip = true; return nil }},
	"--no-tune":          {Values: 0, Set: func(o *options, v []string) error { o.noTune = true; return nil }},
	"--icount":           {Values: 0, Set: func(o *options, v []string) error { o.icount = true; return nil }},
	"--debug":            {Values: 0, Set: func(o *options, v []string) error { o.debug = true; return nil }},
	// --overlay[=SIZE]: its value is optional, only as --overlay=SIZE.
	"--overlay": {Values: 1, Optional: true, Set: func(o *options, v []string) error {
		o.overlay, o.overlaySize = true, ""
		if len(v) > 0 {
			if err := contract.CheckOverlaySize(v[0]); err != nil {
				return cli.Usagef("--overlay: %v", err)
			}
			o.overlaySize = v[0]
		}
		return nil
	}},
	"--help": {Values: 0, Set: func(o *options, v []string) error { o.help = true; return nil }},
	"-h":     {Values: 0, Set: func(o *options, v []string) error { o.help = true; return nil }},
}

// parseArgs parses the command line after the program name. Options come
// before ROOTFS; everything after ROOTFS belongs to the program, options
// of its own included. "--" ends the options.
func parseArgs(args []string) (*options, error) {
	o := &options{}
	operands, err := cli.Parse(args, flags, o, false)
	if err != nil || o.help {
		return o, err
	}
	if len(operands) == 0 {
		return nil, cli.Usagef("no ROOTFS")
	}
	o.rootfs = operands[0]
	if len(operands) > 1 {
		o.program = operands[1]
		if o.program == "" {
			// Not the default /bin/sh: an empty name is a mistake
			// (an unset variable), as for chroot(1).
			return nil, cli.Usagef("PROGRAM is empty")
		}
	}
	if len(operands) > 2 {
		o.args = operands[2:]
	}
	return o, nil
}

// addMount adds the share of option (--mount, --mount-uncached or
// --mount-ro) after checking its tag by /init's rules: /init mounts it at
// /run/mnt/TAG.
func (o *options) addMount(option, tag, path string) error {
	if tag == contract.RootTag {
		return cli.Usagef("%s: tag %q is ROOTFS's", option, tag)
	}
	tags := []string{contract.RootTag}
	for _, m := range o.mounts {
		tags = append(tags, m.Tag)
	}
	if err := contract.CheckTags(append(tags, tag)); err != nil {
		return cli.Usagef("%s: %v", option, err)
	}
	// A --mount share's files may be mapped MAP_SHARED (vm.Share.Mmap),
	// as on a local directory, at the price of the guest's page cache: a
	// file the guest holds open may miss what the host writes to it.
	// --mount-uncached is the share the host changes while the VM runs:
	// the guest caches nothing and always reads the host's file as it is
	// now, but cannot map it MAP_SHARED.
	s := vm.Share{Tag: tag, Path: path}
	switch option {
	case "--mount":
		s.Mmap = true
	case "--mount-ro":
		s.ReadOnly = true
	}
	o.mounts = append(o.mounts, s)
	return nil
}

// machineNames are the machines of every architecture, as vm knows them.
func machineNames() []string {
	var names []string
	for _, a := range cpuarch.Names() {
		names = append(names, vm.MachineNames(a)...)
	}
	slices.Sort(names)
	return names
}

// parseTimeout reads a Go duration ("90s", "2m") or a number of seconds.
func parseTimeout(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		secs, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || math.IsNaN(secs) || secs > 1e9 {
			return 0, cli.Usagef("--timeout %q: want a duration like 90s or 2m, or seconds", s)
		}
		d = time.Duration(secs * float64(time.Second))
	}
	if d <= 0 {
		return 0, cli.Usagef("--timeout %q: want a positive duration", s)
	}
	return d, nil
}

// minMemory is the least --memory chrootvm takes: Debian's 6.12 on
// microvm with chrootvm's initrd reached the program with 96M and
// rebooted silently, early in its setup, with 64M.
const minMemory = 128 << 20

// memoryBytes is a size of vm.ValidMemory's syntax in bytes: a number of
// mebibytes, or a number with a K, M, G or T suffix.
func memoryBytes(s string) int64 {
	shift := map[byte]uint{'k': 10, 'm': 20, 'g': 30, 't': 40}[s[len(s)-1]|0x20]
	if shift != 0 {
		s = s[:len(s)-1]
	} else {
		shift = 20
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n > 1<<(63-shift) {
		return math.MaxInt64
	}
	return n << shift
}

// setPath sets an option that names a file: an empty name is refused, as
// a mistake (an unset variable, say), rather than taken for the default.
func setPath(p *string, name, v string) error {
	if v == "" {
		return cli.Usagef("%s needs a path, not an empty word", name)
	}
	*p = v
	return nil
}
