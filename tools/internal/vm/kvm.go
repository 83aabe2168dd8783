package vm

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strings"
)

// The files KVMUsable reads; tests point them elsewhere.
var (
	kvmDevice   = "/dev/kvm"
	cpuinfoPath = "/proc/cpuinfo"
)

// KVMUsable tells whether guests can run under KVM: /dev/kvm opens for
// reading and writing and, on x86, the CPU advertises hardware
// virtualisation (vmx or svm). The second condition matters: /dev/kvm
// can exist on a host whose CPU lacks both, and guests then hang.
func KVMUsable() bool {
	return kvmUsable(kvmDevice, cpuinfoPath, runtime.GOARCH)
}

func kvmUsable(device, cpuinfo, goarch string) bool {
	f, err := os.OpenFile(device, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	if goarch != "amd64" && goarch != "386" {
		return true
	}
	data, err := os.ReadFile(cpuinfo)
	if err != nil {
		return false
	}
	return cpuFlag(data, "vmx") || cpuFlag(data, "svm")
}

// cpuFlag tells whether the "flags" line of an x86 /proc/cpuinfo names
// flag.
func cpuFlag(cpuinfo []byte, flag string) bool {
	s := bufio.NewScanner(bytes.NewReader(cpuinfo))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		key, value, ok := strings.Cut(s.Text(), ":")
		if !ok || strings.TrimSpace(key) != "flags" {
			continue
		}
		for _, f := range strings.Fields(value) {
			if f == flag {
				return true
			}
		}
		// All processors have the same flags.
		return false
	}
	return false
}
