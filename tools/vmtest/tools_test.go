package vmtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// toolBinaries caches the commands of tools/cmd built for this run.
var (
	toolMu       sync.Mutex
	toolBinaries = map[string]string{}
)

// buildTool builds tools/cmd/NAME once per test run.
func buildTool(t *testing.T, p *parts, name string) string {
	t.Helper()
	toolMu.Lock()
	defer toolMu.Unlock()
	if bin, ok := toolBinaries[name]; ok {
		return bin
	}
	bin := filepath.Join(tmpRoot, "bin", name)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/"+name)
	cmd.Dir = p.tools
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/%s: %v\n%s", name, err, out)
	}
	toolBinaries[name] = bin
	return bin
}

// TestMkvirtinitrd is scenario 9: mkvirtinitrd's initrd is the same byte
// for byte when built twice, and it boots on both kernels.
func TestMkvirtinitrd(t *testing.T) {
	p := need(t)
	mk := buildTool(t, p, "mkvirtinitrd")
	for _, v := range kernelVersions {
		k := p.kernels[v]
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			variants := []struct {
				name  string
				flags []string
			}{
				{"default", nil},
				{"zstd-stripped", []string{"--compress", "zstd", "--strip-signatures"}},
				{"gzip-both", []string{"--compress=gzip", "--transport=both"}},
			}
			built := map[string]string{}
			for _, vr := range variants {
				var outs [2][]byte
				for i := range outs {
					path := filepath.Join(dir, vr.name+"-"+string(rune('a'+i)))
					args := append(append([]string{}, vr.flags...), p.init, k.modules, path)
					cmd := exec.Command(mk, args...)
					if out, err := cmd.CombinedOutput(); err != nil {
						t.Fatalf("mkvirtinitrd %q: %v\n%s", args, err, out)
					}
					data, err := os.ReadFile(path)
					if err != nil {
						t.Fatal(err)
					}
					outs[i] = data
					built[vr.name] = path
				}
				if !bytes.Equal(outs[0], outs[1]) {
					t.Errorf("mkvirtinitrd %q: two builds differ (%d and %d bytes)", vr.flags, len(outs[0]), len(outs[1]))
				}
			}

			var pl plan
			basicPlan(&pl, "rootfs", true)
			res := standardBoot(t, p, k, built["default"], p.rootfs, &pl, "mount-ro=checker init="+checkerInit)
			expectChecks(t, res, &pl)
		})
	}
}

// TestChrootvm is scenario 8: chrootvm boots the busybox root, runs a
// command and returns its exit status; --timeout ends a program that
// would sleep forever with status 124.
func TestChrootvm(t *testing.T) {
	p := need(t)
	bin := buildTool(t, p, "chrootvm")
	cases := []struct {
		name    string
		options []string
		program []string
		want    int
		output  string // printed by the program, so it ran
	}{
		{"true", nil, []string{"/bin/true"}, 0, ""},
		{"echo", nil, []string{"sh", "-c", "echo guest ran"}, 0, "guest ran"},
		{"exit-3", nil, []string{"sh", "-c", "echo guest ran; exit 3"}, 3, "guest ran"},
		{"timeout", []string{"--timeout", "20s"}, []string{"sleep", "1000"}, 124, ""},
	}
	for _, v := range kernelVersions {
		k := p.kernels[v]
		for _, c := range cases {
			t.Run(v+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				args := append([]string{"--kernel", k.vmlinuz, "--modules", k.modules, "--init", p.init}, c.options...)
				args = append(append(args, p.rootfs), c.program...)
				got, out := runChrootvm(t, p, bin, args)
				if got != c.want {
					t.Errorf("chrootvm %q: exit status %d, want %d\n%s", args, got, c.want, out)
				}
				if !bytes.Contains(out, []byte(c.output)) {
					t.Errorf("chrootvm %q: output lacks %q\n%s", args, c.output, out)
				}
			})
		}
	}
}

// runChrootvm runs chrootvm in a boot slot and returns its exit status and
// output.
func runChrootvm(t *testing.T, p *parts, bin string, args []string) (int, []byte) {
	t.Helper()
	bootSlots <- struct{}{}
	defer func() { <-bootSlots }()
	// The hang guard: chrootvm's own --timeout is under test.
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chrootvm %q did not end within %v\n%s", args, bootTimeout, out.Bytes())
	}
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), out.Bytes()
		}
		t.Fatalf("chrootvm %q: %v\n%s", args, err, out.Bytes())
	}
	return 0, out.Bytes()
}
