package main

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// console is a phase boot's output as /init prints it (6.1, two shares),
// with the kernel's carriage returns.
const console = "[    1.7] some kernel line\r\n" +
	"initrd: debug 1740.870 - start initrd v1 started at 1740.100 ms\r\n" +
	"initrd: debug 1754.720 13.807 module fuse \r\n" +
	"initrd: debug 1754.850 0.112 net lo up\r\n" +
	"initrd: debug 1755.000 0.190 virtiofs rootfs /sysroot ro\r\n" +
	"initrd: debug 1755.100 0.027 move /run /sysroot/run\r\n" +
	"initrd: debug 1756.100 - delete initramfs in 0.960 ms\r\n" +
	"initrd: debug 1756.200 - switchroot /sysroot \r\n" +
	"initrd: debug 1756.213 - exec /stamp \r\n" +
	"\r\nBOOTNS=1757664000\r\n"

func TestParseSteps(t *testing.T) {
	steps, err := parseSteps([]byte(console))
	if err != nil {
		t.Fatal(err)
	}
	want := []step{
		{End: 1740.870, Step: "start", What: "initrd", Detail: "v1 started at 1740.100 ms", Start: 1740.100},
		{End: 1754.720, Kernel: 13.807, HasK: true, Step: "module", What: "fuse"},
		{End: 1754.850, Kernel: 0.112, HasK: true, Step: "net", What: "lo", Detail: "up"},
		{End: 1755.000, Kernel: 0.190, HasK: true, Step: "virtiofs", What: "rootfs", Detail: "/sysroot ro"},
		{End: 1755.100, Kernel: 0.027, HasK: true, Step: "move", What: "/run", Detail: "/sysroot/run"},
		{End: 1756.100, Step: "delete", What: "initramfs", Detail: "in 0.960 ms"},
		{End: 1756.200, Step: "switchroot", What: "/sysroot"},
		{End: 1756.213, Step: "exec", What: "/stamp"},
	}
	if !reflect.DeepEqual(steps, want) {
		t.Errorf("parseSteps(console) =\n%+v\nwant\n%+v", steps, want)
	}
}

func TestParseStepsErrors(t *testing.T) {
	for _, out := range []string{
		"",
		"[    1.7] no debug lines here\n",
		"initrd: debug 1.0 - start initrd v1\n", // no "started at"
	} {
		if _, err := parseSteps([]byte(out)); err == nil {
			t.Errorf("parseSteps(%q) succeeded, want an error", out)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

func TestBreakdown(t *testing.T) {
	steps, err := parseSteps([]byte(console))
	if err != nil {
		t.Fatal(err)
	}
	p := breakdown(steps, 1723.0, 1731.0, 1757.664)
	var names []string
	for i, s := range p.Segments {
		names = append(names, s.Name)
		if i > 0 && !near(s.From, p.Segments[i-1].To) {
			t.Errorf("segment %q starts at %v, want the end of the one before, %v", s.Name, s.From, p.Segments[i-1].To)
		}
	}
	wantNames := []string{"unpack /init", "go runtime start", "start", "module fuse", "net lo", "virtiofs rootfs", "move /run", "delete", "switchroot", "exec", "exec → program"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Errorf("breakdown segments = %q, want %q", names, wantNames)
	}
	first, last := p.Segments[0], p.Segments[len(p.Segments)-1]
	if !first.Unpack || !near(first.From, 1723.0) || !near(first.To, 1731.0) {
		t.Errorf("first segment = %+v, want the unpacking from 1723 to 1731", first)
	}
	if !near(last.To, 1757.664) {
		t.Errorf("last segment ends at %v, want the program's 1757.664", last.To)
	}
	// Only finit_module, mount and move calls, and the ioctls of lo,
	// count as the kernel's.
	if want := 13.807 + 0.112 + 0.190 + 0.027; !near(p.Kernel, want) {
		t.Errorf("breakdown kernel = %v, want %v", p.Kernel, want)
	}
	if !near(p.Unpack, 8) {
		t.Errorf("breakdown unpack = %v, want 8", p.Unpack)
	}
}

func TestSummarize(t *testing.T) {
	tests := []struct {
		in               []float64
		median, min, max float64
	}{
		{[]float64{3, 1, 2}, 2, 1, 3},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
		{[]float64{7}, 7, 7, 7},
		{[]float64{1875.3, 2586.7, 1872.1, 1868.5, 1871.4}, 1872.1, 1868.5, 2586.7}, // an outlier does not move the median
	}
	for _, tt := range tests {
		s := summarize(tt.in)
		if s.Median != tt.median || s.Min != tt.min || s.Max != tt.max || s.N != len(tt.in) {
			t.Errorf("summarize(%v) = %v (%v–%v) n %d, want %v (%v–%v) n %d", tt.in, s.Median, s.Min, s.Max, s.N, tt.median, tt.min, tt.max, len(tt.in))
		}
	}
	if s := summarize(nil); s.ok() {
		t.Errorf("summarize(nil).ok() = true, want false")
	}
	in := []float64{3, 1, 2}
	summarize(in)
	if !reflect.DeepEqual(in, []float64{3, 1, 2}) {
		t.Errorf("summarize reordered its input: %v", in)
	}
}

func TestSelectConfigurations(t *testing.T) {
	names := func(cs []configuration) string {
		var n []string
		for _, c := range cs {
			n = append(n, c.name)
		}
		return strings.Join(n, ",")
	}
	tests := []struct{ patterns, want string }{
		{"q35-6.12", "q35-6.12"}, // a whole name selects only itself
		{"6.12", "q35-6.12,q35-6.12-overlay,q35-6.12-osbuild,q35-6.12-osbuild-tuned,microvm-6.12,microvm-6.12-stripped,microvm-6.12-tuned,pc-6.12"},
		{"signed,microvm", "q35-6.1-signed,microvm-6.12,microvm-6.12-stripped,microvm-6.12-tuned"},
		{"nothing", ""},
		{"all", names(configurations)},
		{"", names(configurations)},
	}
	for _, tt := range tests {
		if got := names(selectConfigurations(configurations, tt.patterns)); got != tt.want {
			t.Errorf("selectConfigurations(%q) = %q, want %q", tt.patterns, got, tt.want)
		}
	}
}

// TestConfigurations checks the table: the shapes the issue asks for, and
// command lines /init reads as meant.
func TestConfigurations(t *testing.T) {
	byName := map[string]configuration{}
	for _, c := range configurations {
		if _, dup := byName[c.name]; dup {
			t.Errorf("configuration %s twice", c.name)
		}
		byName[c.name] = c
		roots := 0
		for _, s := range c.shares {
			if s.root {
				roots++
				if !s.readOnly {
					t.Errorf("%s: root share %s is writable", c.name, s.tag)
				}
			}
		}
		if roots != 1 {
			t.Errorf("%s: %d root shares, want 1", c.name, roots)
		}
		if c.machine == "microvm" && c.transport != "mmio" {
			t.Errorf("%s: microvm with transport %q, want mmio", c.name, c.transport)
		}
	}
	tests := []struct {
		name, cmdline string
		shares        int
	}{
		{"q35-6.1-signed", "console=ttyS0 quiet panic=-1 rootfs=rootfs mount=work init=/stamp", 2},
		{"q35-6.12-osbuild", "console=ttyS0 quiet selinux=1 enforcing=0 rootfstype=virtiofs root=rootfs ro mount-ro=mnt0 mount-ro=libdir mount-ro=containers mount=store init=/stamp", 5},
	}
	for _, tt := range tests {
		c, ok := byName[tt.name]
		if !ok {
			t.Errorf("no configuration %s", tt.name)
			continue
		}
		if got := c.cmdline(""); got != tt.cmdline {
			t.Errorf("%s.cmdline(\"\") = %q, want %q", tt.name, got, tt.cmdline)
		}
		if got := c.cmdline("rd.debug"); got != tt.cmdline+" rd.debug" {
			t.Errorf("%s.cmdline(\"rd.debug\") = %q, want %q", tt.name, got, tt.cmdline+" rd.debug")
		}
		if len(c.shares) != tt.shares {
			t.Errorf("%s has %d shares, want %d", tt.name, len(c.shares), tt.shares)
		}
	}
	// The tuned osbuild configuration is osbuild's, with the tuning alone.
	o, ot := byName["q35-6.12-osbuild"], byName["q35-6.12-osbuild-tuned"]
	if o.tune || !ot.tune || o.cmdline("") != ot.cmdline("") || o.memory != ot.memory || !reflect.DeepEqual(o.shares, ot.shares) {
		t.Errorf("q35-6.12-osbuild-tuned differs from q35-6.12-osbuild otherwise than by the tuning")
	}
	// The overlay's cost is read against q35-6.12: the same boot but for
	// the overlay module and rd.overlay.
	ov, p := byName["q35-6.12-overlay"], byName["q35-6.12"]
	if !strings.HasSuffix(ov.cmdline(""), " rd.overlay") || !slices.Equal(ov.modules, []string{"overlay"}) {
		t.Errorf("q35-6.12-overlay: command line %q, modules %q; want rd.overlay and the overlay module", ov.cmdline(""), ov.modules)
	}
	if got := ov.withAppend("x=1").cmdline(""); !strings.HasSuffix(got, " rd.overlay x=1") {
		t.Errorf("q35-6.12-overlay with --append x=1: %q, want rd.overlay kept and x=1 after it", got)
	}
	ov.name, ov.about, ov.modules, ov.append = p.name, p.about, p.modules, p.append
	if !reflect.DeepEqual(ov, p) {
		t.Errorf("q35-6.12-overlay differs from q35-6.12 in more than the overlay:\n%+v\n%+v", ov, p)
	}
	if s, u := byName["q35-6.1-signed"], byName["q35-6.1-stripped"]; s.strip || !u.strip {
		t.Errorf("strip: signed %v, stripped %v; want false, true", s.strip, u.strip)
	}
}

// TestFlagOutliers: a move that waited on the virtiofsd among quick ones,
// and a step far beyond anything /init does, are flagged; steps of the
// usual size, and a kind with too few siblings to compare, are not.
func TestFlagOutliers(t *testing.T) {
	segs := []segment{
		{Name: "module fuse", From: 0, To: 14, Kernel: 13.8, kind: "module"},
		{Name: "move /dev", From: 14, To: 14.2, kind: "move"},
		{Name: "move /proc", From: 14.2, To: 18.5, kind: "move"},
		{Name: "move /sys", From: 18.5, To: 18.6, kind: "move"},
		{Name: "move /run", From: 18.6, To: 18.75, kind: "move"},
		{Name: "delete", From: 18.75, To: 19.75, kind: "delete"},
		{Name: "exec → program", From: 19.75, To: 1219.75},
	}
	flagOutliers(segs)
	want := map[string]float64{"move /proc": 4.3 - 0.175, // over the median of the four moves
		"exec → program": 1200}
	for _, s := range segs {
		if !near(s.Waited, want[s.Name]) {
			t.Errorf("flagOutliers: %s waited %v, want %v", s.Name, s.Waited, want[s.Name])
		}
	}
}

func TestChrootvmTargets(t *testing.T) {
	r := &report{Chrootvm: []chrootvmResult{
		{Name: "microvm-6.12", Tuned: summarize([]float64{440}), Untuned: summarize([]float64{1000}), Ratio: 0.44},
		{Name: "q35-6.1", Tuned: summarize([]float64{700}), Untuned: summarize([]float64{1000}), Ratio: 0.7},
	}}
	got := map[string]bool{}
	for _, tg := range checkTargets(r) {
		got[tg.What] = tg.Met
	}
	want := map[string]bool{
		"chrootvm microvm-6.12: boot to program at most 450 ms":                     true,
		"chrootvm microvm-6.12: at most half of --no-tune":                          true,
		"chrootvm q35-6.1: at most 0.6 of --no-tune":                                false,
		"chrootvm microvm-6.12: boot to program at most 1.05 × the tuned null init": true, // 440 against README's 499.8
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checkTargets = %v, want %v", got, want)
	}
}

// TestIssue20Targets: the boot to program against the tuned null init of
// the same run, and chrootvm's host times, each against its limit.
func TestIssue20Targets(t *testing.T) {
	r := &report{
		Configurations: []configResult{{Name: "microvm-6.12-tuned", Program: map[variant]summary{floor: summarize([]float64{400})}}},
		Chrootvm:       []chrootvmResult{{Name: "microvm-6.12", Tuned: summarize([]float64{421})}},
		Wall: wallReport{Phases: map[string]*hostPhases{
			"tuned, warm": {Prep: summarize([]float64{29}), Teardown: summarize([]float64{21})},
			"tuned, cold": {Prep: summarize([]float64{101})},
		}},
	}
	got := map[string]bool{}
	for _, tg := range checkTargets(r) {
		got[tg.What] = tg.Met
	}
	want := map[string]bool{
		"chrootvm microvm-6.12: boot to program at most 1.05 × the tuned null init": false, // 421 > 420
		"chrootvm's own time before qemu starts, warm, at most 30 ms":               true,
		"chrootvm's own time after qemu ends at most 20 ms":                         false,
		"chrootvm's own time before qemu starts, cold, at most 100 ms":              false,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("checkTargets = %v, want %v", got, want)
	}
}
