package vm

import (
	"os"
	"path/filepath"
	"testing"
)

const (
	cpuinfoVMX = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vme de pse tsc msr vmx constant_tsc\nvmx flags\t: vnmi preemption_timer\n\nprocessor\t: 1\nflags\t\t: fpu vmx\n"
	cpuinfoSVM = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu tsc svm svm_lock constant_tsc\n"
	// As here: no vmx or svm, but feature names that contain them, and a
	// "vmx flags" line.
	cpuinfoNone = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu tsc svm_lock vmx_x constant_tsc\nvmx flags\t: vmx svm\n"
	cpuinfoARM  = "processor\t: 0\nFeatures\t: fp asimd evtstrm\n"
)

func TestKVMUsable(t *testing.T) {
	dir := t.TempDir()
	device := filepath.Join(dir, "kvm")
	if err := os.WriteFile(device, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vmx, svm, none, arm := write("vmx", cpuinfoVMX), write("svm", cpuinfoSVM), write("none", cpuinfoNone), write("arm", cpuinfoARM)
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name            string
		device, cpuinfo string
		goarch          string
		want            bool
	}{
		{"intel", device, vmx, "amd64", true},
		{"amd", device, svm, "amd64", true},
		{"no virtualisation flag", device, none, "amd64", false},
		{"no device", missing, vmx, "amd64", false},
		{"no cpuinfo", device, missing, "amd64", false},
		{"arm64 has no flag to check", device, arm, "arm64", true},
		{"arm64 without device", missing, arm, "arm64", false},
	}
	for _, tt := range tests {
		if got := kvmUsable(tt.device, tt.cpuinfo, tt.goarch); got != tt.want {
			t.Errorf("%s: kvmUsable(%q, %q, %q) = %v, want %v", tt.name, tt.device, tt.cpuinfo, tt.goarch, got, tt.want)
		}
	}
}

func TestCPUFlag(t *testing.T) {
	tests := []struct {
		cpuinfo, flag string
		want          bool
	}{
		{cpuinfoVMX, "vmx", true},
		{cpuinfoVMX, "constant_tsc", true},
		{cpuinfoVMX, "svm", false},
		{cpuinfoSVM, "svm", true},
		{cpuinfoNone, "svm", false},
		{cpuinfoNone, "vmx", false},
		{cpuinfoARM, "fp", false},
		{"", "vmx", false},
	}
	for _, tt := range tests {
		if got := cpuFlag([]byte(tt.cpuinfo), tt.flag); got != tt.want {
			t.Errorf("cpuFlag(%q, %q) = %v, want %v", tt.cpuinfo, tt.flag, got, tt.want)
		}
	}
}
