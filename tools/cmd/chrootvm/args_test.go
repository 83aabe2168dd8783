package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/vm"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args []string
		want options
	}{
		{[]string{"/srv/root"}, options{rootfs: "/srv/root"}},
		{[]string{"/srv/root", "ls", "-l", "--debug", "--", "x"},
			options{rootfs: "/srv/root", program: "ls", args: []string{"-l", "--debug", "--", "x"}}},
		{[]string{"--mount", "a", "/a", "--mount-ro", "b", "/b", "--kernel", "/k", "--modules=/m", "--machine", "q35",
			"--memory", "2G", "--cpus=2", "--timeout", "90s", "--append", "x=1", "--append=y", "--init", "/i", "--debug", "r", "p"},
			options{mounts: []vm.Share{{Tag: "a", Path: "/a", Mmap: true}, {Tag: "b", Path: "/b", ReadOnly: true}}, kernel: "/k", modules: "/m",
				machine: "q35", memory: "2G", cpus: 2, timeout: 90 * time.Second, appends: []string{"x=1", "y"}, init: "/i", debug: true,
				rootfs: "r", program: "p"}},
		{[]string{"--arch", "arm64", "--machine=virt", "--transport", "pci", "r"}, options{arch: "aarch64", machine: "virt", transport: "pci", rootfs: "r"}},
		{[]string{"--arch=x86_64", "--transport=mmio", "r"}, options{arch: "x86_64", transport: "mmio", rootfs: "r"}},
		{[]string{"--timeout", "2.5", "--", "-rootfs-with-a-dash"}, options{timeout: 2500 * time.Millisecond, rootfs: "-rootfs-with-a-dash"}},
		{[]string{"--strip-signatures", "r"}, options{strip: true, rootfs: "r"}},
		{[]string{"--no-tune", "r"}, options{noTune: true, rootfs: "r"}},
		{[]string{"--overlay", "r", "--overlay"}, options{overlay: true, rootfs: "r", program: "--overlay"}},
		{[]string{"--overlay=2g", "r"}, options{overlay: true, overlaySize: "2g", rootfs: "r"}},
		{[]string{"--overlay=1g", "--overlay", "r"}, options{overlay: true, rootfs: "r"}}, // the last wins
		{[]string{"--icount", "r"}, options{icount: true, rootfs: "r"}},
		{[]string{"--virtiofsd", "/usr/libexec/virtiofsd", "r"}, options{virtiofsd: "/usr/libexec/virtiofsd", rootfs: "r"}},
		{[]string{"--virtiofsd=vfsd", "r"}, options{virtiofsd: "vfsd", rootfs: "r"}},
		// /init's tag rules: white space is allowed (the command line
		// quotes it).
		{[]string{"--mount-uncached", "c", "/c", "--mount", "a", "/a", "r"},
			options{mounts: []vm.Share{{Tag: "c", Path: "/c"}, {Tag: "a", Path: "/a", Mmap: true}}, rootfs: "r"}},
		{[]string{"--mount", "a b", "/a", "r"}, options{mounts: []vm.Share{{Tag: "a b", Path: "/a", Mmap: true}}, rootfs: "r"}},
		{[]string{"--net", "--hostname", "build-1.example", "r"}, options{net: true, hostname: "build-1.example", rootfs: "r"}},
		{[]string{"--hostname=" + strings.Repeat("h", 64), "r"}, options{hostname: strings.Repeat("h", 64), rootfs: "r"}},
		{[]string{"--help"}, options{help: true}},
		{[]string{"-h", "--debug"}, options{help: true, debug: true}},
	}
	for _, tt := range tests {
		got, err := parseArgs(tt.args)
		if err != nil {
			t.Errorf("parseArgs(%q): %v", tt.args, err)
			continue
		}
		if !reflect.DeepEqual(*got, tt.want) {
			t.Errorf("parseArgs(%q) = %+v, want %+v", tt.args, *got, tt.want)
		}
	}
}

func TestParseArgsErrors(t *testing.T) {
	long := strings.Repeat("t", 37)
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no ROOTFS"},
		{[]string{"--debug"}, "no ROOTFS"},
		{[]string{"/root", ""}, "PROGRAM is empty"},
		{[]string{"--memory", "1k", "/root"}, "too little"},
		{[]string{"--memory", "64M", "/root"}, "too little"},
		{[]string{"--memory", "131071k", "/root"}, "too little"},
		{[]string{"--memory", "100", "/root"}, "too little"},
		{[]string{"--debug", "/root", "", "x"}, "PROGRAM is empty"},
		{[]string{"--frob", "r"}, "unknown option --frob"},
		{[]string{"--kernel"}, "--kernel needs 1 value"},
		{[]string{"--overlay=", "r"}, `--overlay: overlay size "": want a number of bytes`},
		{[]string{"--overlay=0", "r"}, `--overlay: overlay size "0": want a number of bytes`},
		{[]string{"--overlay=1t", "r"}, `--overlay: overlay size "1t": want a number of bytes`},
		{[]string{"--mount", "a"}, "--mount needs 2 value"},
		{[]string{"--mount=a", "/a", "r"}, "--mount takes 2 values"},
		{[]string{"--debug=yes", "r"}, "--debug takes 0 values"},
		{[]string{"--machine", "isapc", "r"}, `--machine "isapc": want microvm, pc, q35, virt`},
		{[]string{"--arch", "riscv64", "r"}, `--arch "riscv64": want x86_64 or aarch64`},
		{[]string{"--transport", "ccw", "r"}, `--transport "ccw": want mmio or pci`},
		{[]string{"--memory", "lots", "r"}, `--memory "lots"`},
		{[]string{"--cpus", "0", "r"}, `--cpus "0"`},
		{[]string{"--cpus", "two", "r"}, `--cpus "two"`},
		{[]string{"--timeout", "soon", "r"}, `--timeout "soon"`},
		{[]string{"--virtiofsd=", "r"}, "--virtiofsd needs a program"},
		{[]string{"--kernel", "", "r"}, "--kernel needs a path"},
		{[]string{"--modules=", "r"}, "--modules needs a path"},
		{[]string{"--init", "", "r"}, "--init needs a path"},
		{[]string{"--virtiofsd"}, "--virtiofsd needs 1 value"},
		{[]string{"--timeout", "-1s", "r"}, "positive"},
		{[]string{"--timeout", "NaN", "r"}, `--timeout "NaN"`},
		{[]string{"--mount", "", "/a", "r"}, `--mount: virtiofs tag "" is empty`},
		{[]string{"--mount", long, "/a", "r"}, "longer than 36"},
		{[]string{"--mount", "a/b", "/a", "r"}, `tag "a/b"`},
		{[]string{"--mount", "..", "/a", "r"}, `tag ".."`},
		{[]string{"--mount", "rootfs", "/a", "r"}, "ROOTFS's"},
		{[]string{"--mount", "a", "/a", "--mount-ro", "a", "/b", "r"}, `--mount-ro: virtiofs tag "a" is given twice`},
		{[]string{"--mount-uncached", "a", "/a", "--mount", "a", "/b", "r"}, `--mount: virtiofs tag "a" is given twice`},
		{[]string{"--mount-uncached", "rootfs", "/a", "r"}, "--mount-uncached: tag \"rootfs\" is ROOTFS's"},
		{[]string{"--hostname", "", "r"}, `--hostname "": want 1 to 64 bytes`},
		{[]string{"--hostname", strings.Repeat("h", 65), "r"}, "want 1 to 64 bytes"},
		{[]string{"--hostname", "a b", "r"}, "white space"},
		{[]string{"--hostname", `a"b`, "r"}, "double quote"},
		{[]string{"--hostname", "a\nb", "r"}, "control character"},
		{[]string{"--net=yes", "r"}, "--net takes 0 values"},
	}
	for _, tt := range tests {
		_, err := parseArgs(tt.args)
		if !cli.IsUsage(err) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseArgs(%q) = %v, want a usage error containing %q", tt.args, err, tt.want)
		}
	}
}
