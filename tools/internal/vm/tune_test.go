package vm

import (
	"slices"
	"strings"
	"testing"
)

func TestBootParams(t *testing.T) {
	tests := []struct {
		name       string
		c          Config
		accel      string
		params     string
		machine    string
		measureTSC bool
	}{
		{"q35 kvm", Config{Arch: "x86_64", Machine: "q35"}, "kvm", "", "", false},
		{"q35 kvm tuned", Config{Arch: "x86_64", Machine: "q35", Tune: true}, "kvm", "cryptomgr.notests rodata=off initcall_blacklist=jent_mod_init init_on_alloc=0", ",hpet=off", false},
		{"q35 tcg", Config{Arch: "x86_64", Machine: "q35"}, "tcg", "no_timer_check", "", true},
		{"microvm tcg tuned", Config{Arch: "x86_64", Machine: "microvm", Tune: true}, "tcg", "reboot=t cryptomgr.notests rodata=off initcall_blacklist=jent_mod_init init_on_alloc=0 no_timer_check", "", true},
		{"microvm icount", Config{Arch: "x86_64", Machine: "microvm", Icount: true}, "tcg", "reboot=t no_timer_check tsc_early_khz=1000000", "", false},
		{"q35 icount tuned", Config{Arch: "x86_64", Machine: "q35", Icount: true, Tune: true}, "tcg", "cryptomgr.notests rodata=off initcall_blacklist=jent_mod_init init_on_alloc=0 no_timer_check tsc_early_khz=1000000", ",hpet=off", false},
		{"virt tcg", Config{Arch: "aarch64", Machine: "virt"}, "tcg", "", "", false},
		{"virt tcg tuned", Config{Arch: "aarch64", Machine: "virt", Tune: true}, "tcg", "cryptomgr.notests rodata=off initcall_blacklist=jent_mod_init init_on_alloc=0", "", false},
	}
	for _, tt := range tests {
		params, machine, measure := bootParams(tt.c, tt.accel)
		if got := strings.Join(params, " "); got != tt.params || machine != tt.machine || measure != tt.measureTSC {
			t.Errorf("%s: bootParams = %q, %q, %v, want %q, %q, %v", tt.name, got, machine, measure, tt.params, tt.machine, tt.measureTSC)
		}
	}
	// The machine's own table must not be changed by appending to it.
	if p := machines["microvm"].params; !slices.Equal(p, []string{"reboot=t"}) {
		t.Errorf("machines[microvm].params = %q after bootParams, want [reboot=t]", p)
	}
}

func TestTunedQemuArgs(t *testing.T) {
	c := Config{Arch: "x86_64", Machine: "q35", Memory: "1G", CPUs: 1, Kernel: "/k", Tune: true}
	p := plan{accel: "tcg", cpu: "max"}
	p.params, p.machineOptions, _ = bootParams(c, p.accel)
	a := qemuArgs(c, p)
	i := slices.Index(a, "-machine")
	if i < 0 || a[i+1] != "q35,hpet=off" {
		t.Errorf("qemuArgs: -machine %q, want q35,hpet=off", a[i+1])
	}
	i = slices.Index(a, "-append")
	if i < 0 || !strings.Contains(a[i+1], "cryptomgr.notests rodata=off initcall_blacklist=jent_mod_init") {
		t.Errorf("qemuArgs: -append %q, want the tuning in it", a[i+1])
	}
}

// TestLevers checks the table: every lever changes something, says why,
// and applies to a machine that exists.
func TestLevers(t *testing.T) {
	if len(AllLevers()) == 0 {
		t.Fatal("no levers")
	}
	for _, l := range AllLevers() {
		kinds := 0
		for _, set := range []bool{l.Param != "", l.MachineOption != "", l.StripSignatures} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			t.Errorf("lever %q: want exactly one of Param, MachineOption and StripSignatures", l.Name())
		}
		if l.Skips == "" || l.Costs == "" || l.Safe == "" || l.Saves == "" {
			t.Errorf("lever %q: Skips, Costs, Safe and Saves must all be written", l.Name())
		}
		if strings.ContainsAny(l.Param, " \t\"") || strings.ContainsAny(l.MachineOption, " ,") {
			t.Errorf("lever %q: one word expected", l.Name())
		}
		for _, m := range l.Machines {
			if _, ok := machines[m]; !ok {
				t.Errorf("lever %q: unknown machine %q", l.Name(), m)
			}
		}
	}
	if got := TuneParams("x86_64", "pc"); !slices.Contains(got, "cryptomgr.notests") {
		t.Errorf("TuneParams(x86_64, pc) = %q, want cryptomgr.notests in it", got)
	}
	if got := tuneMachineOptions("x86_64", "microvm"); got != "" {
		t.Errorf("tuneMachineOptions(x86_64, microvm) = %q, want none: microvm has no HPET", got)
	}
}
