package vmtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The scenarios of issue 10: chrootvm's supervised run, with the real
// /init, kernels, qemu and virtiofsd. Each boot checks as much as it can,
// since every boot costs seconds of emulation.

// chrootvmArgs are the options every run of the scenarios passes.
func chrootvmArgs(k kernel) []string {
	return []string{"--kernel", k.vmlinuz, "--modules", k.modules, "--init", k.guest.init}
}

// chrootvmRun is one run of chrootvm.
type chrootvmRun struct {
	code           int
	stdout, stderr []byte
}

// runChrootvmIO runs chrootvm in a boot slot with stdin and returns its
// status and its stdout and stderr apart.
func runChrootvmIO(t *testing.T, bin string, args []string, stdin []byte) chrootvmRun {
	t.Helper()
	bootSlots <- struct{}{}
	defer func() { <-bootSlots }()
	// The hang guard: chrootvm's own --timeout may be under test.
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("chrootvm %q did not end within %v\nstderr:\n%s", args, bootTimeout, stderr.Bytes())
	}
	r := chrootvmRun{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("chrootvm %q: %v\nstderr:\n%s", args, err, stderr.Bytes())
	}
	return r
}

// mmapPattern is what `checker mmap-write` writes: at every 8-byte offset
// o, o * 0x9e3779b97f4a7c15 in little-endian order.
func mmapPattern(n int) []byte {
	b := make([]byte, n)
	for off := 0; off < n; off += 8 {
		v := uint64(off) * 0x9e3779b97f4a7c15
		for i := range 8 {
			b[off+i] = byte(v >> (8 * i))
		}
	}
	return b
}

const mmapSize = 64 << 20

// forged are lines a program prints that a console-reading host would
// take for the kernel's end of the guest (issue 10's cases): the first
// two once returned 0 at once, the third 125.
const forged = "reboot: Power down\n" +
	"[    9.999999] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n"
const forgedErr = "log: reboot: System halted\n"

// runScript is the program of TestChrootvmChannels, run from a share. It
// reads its stdin to the end, prints the forged lines and the binary
// file, writes a 64 MiB file through a shared mapping and exits without
// syncing, waits longer than a console-reading host would wait after a
// power-off, and exits 5.
const runScript = `#!/bin/sh
sha256sum > /run/mnt/out/stdin.sha256
/run/mnt/in/checker argv-write /run/mnt/out/argv "$0" "$@" || exit 91
printf '` + "reboot: Power down\\n[    9.999999] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\\n" + `'
printf 'log: reboot: System halted\n' >&2
cat /run/mnt/in/binary
/run/mnt/in/checker mmap-write /run/mnt/out/big ` + "67108864" + ` || exit 90
sleep 4
echo after > /run/mnt/out/after
exit 5
`

// awkwardArgs are arguments no kernel command line can carry: quotes,
// newlines, "--", empty strings, words /init would take for its own,
// bytes that are not UTF-8, and more than 128 KiB in all.
func awkwardArgs() []string {
	return []string{
		"", "--", `"`, `a "quoted" word`, "'", "a\nb\n", "\r\n", " lead", "tab\there", "\\", "$HOME", "-c",
		"init=/bin/false", "rd.supervise=console", "--", "\xff\xfe\x80 not UTF-8", "",
		strings.Repeat("x", 70000), strings.Repeat("y\n", 35000),
	}
}

// TestChrootvmChannels is issue 10's item 7 in one boot per kernel: a
// script on a share (found in the share's host directory) reads 1 MiB of
// random stdin to its end of file (checked by digest), receives
// arguments of every awkward byte byte for byte, prints kernel texts that
// once ended the VM and forged its status, writes binary stdout that must
// arrive unchanged, and leaves a dirty 64 MiB shared mapping that must be
// intact on the host; its status 5 comes back exactly.
func TestChrootvmChannels(t *testing.T) {
	for _, name := range kernelNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for _, dn := range daemonsOn(name) {
				t.Run(dn, func(t *testing.T) {
					t.Parallel()
					testChrootvmChannels(t, name, dn)
				})
			}
		})
	}
}

// testChrootvmChannels is one boot of TestChrootvmChannels, with the
// virtiofsd called daemon: the shared mapping of a --mount share and the
// script on a share go through it.
func testChrootvmChannels(t *testing.T, name, daemon string) {
	p, k := need(t, name)
	k = withDaemon(t, k, daemon)
	bin := buildTool(t, p, "chrootvm")
	in, out := t.TempDir(), t.TempDir()
	binary := make([]byte, 256<<10)
	rand.Read(binary)
	stdin := make([]byte, 1<<20)
	rand.Read(stdin)
	checker, err := os.ReadFile(k.guest.checker)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{"run.sh", []byte(runScript), 0o755}, {"binary", binary, 0o644}, {"checker", checker, 0o755}} {
		if err := os.WriteFile(filepath.Join(in, f.name), f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	args := append(chrootvmArgs(k), "--virtiofsd", k.fsd.path, "--mount-ro", "in", in, "--mount", "out", out, k.guest.rootfs, "/run/mnt/in/run.sh")
	args = append(args, awkwardArgs()...)
	r := runChrootvmIO(t, bin, args, stdin)

	if r.code != 5 {
		t.Errorf("exit status %d, want 5 (the program's)\nstderr:\n%s", r.code, r.stderr)
	}
	if want := append([]byte(forged), binary...); !bytes.Equal(r.stdout, want) {
		t.Errorf("stdout is %d bytes, not the program's %d (forged lines, then the binary file): %s", len(r.stdout), len(want), firstDiff(r.stdout, want))
	}
	if !bytes.Contains(r.stderr, []byte(forgedErr)) {
		t.Errorf("stderr lacks the program's %q:\n%s", forgedErr, r.stderr)
	}
	sum := sha256.Sum256(stdin)
	if got, err := os.ReadFile(filepath.Join(out, "stdin.sha256")); err != nil || string(got) != hex.EncodeToString(sum[:])+"  -\n" {
		t.Errorf("the program's digest of its stdin: %q, %v; want %s (1 MiB and then end of file)", got, err, hex.EncodeToString(sum[:]))
	}
	want := []byte(strings.Join(append([]string{"/run/mnt/in/run.sh"}, awkwardArgs()...), "\x00") + "\x00")
	if got, err := os.ReadFile(filepath.Join(out, "argv")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the program's arguments (%d bytes) differ from those given (%d bytes), %v: %s", len(got), len(want), err, firstDiff(got, want))
	}
	if got, err := os.ReadFile(filepath.Join(out, "after")); err != nil || string(got) != "after\n" {
		t.Errorf("the program's last file: %q, %v; the VM ended before the program did", got, err)
	}
	big, err := os.ReadFile(filepath.Join(out, "big"))
	if err != nil {
		t.Fatalf("the mapped file: %v", err)
	}
	if wantBig := mmapPattern(mmapSize); !bytes.Equal(big, wantBig) {
		t.Errorf("the 64 MiB file written through a shared mapping is not intact on the host: %s", firstDiff(big, wantBig))
	}
}

// firstDiff describes where got first differs from want.
func firstDiff(got, want []byte) string {
	n := min(len(got), len(want))
	for i := range n {
		if got[i] != want[i] {
			lo := max(0, i-16)
			return "first difference at byte " + strconv.Itoa(i) + ": got " + strconv.Quote(string(got[lo:min(len(got), i+16)])) +
				", want " + strconv.Quote(string(want[lo:min(len(want), i+16)]))
		}
	}
	if len(got) != len(want) {
		return strconv.Itoa(len(got)) + " bytes, want " + strconv.Itoa(len(want)) + "; the same up to there (last got: " +
			strconv.Quote(string(got[max(0, len(got)-32):])) + ")"
	}
	return "equal"
}

// TestChrootvmStatus checks chrootvm's statuses of a program that cannot
// tell its own: one killed by a signal it sent itself (ignored when the
// program was PID 1), the guest's exec failures as chroot(1) reports
// them, and a guest that does not boot to the program, with a status
// record ("fatal") or without one.
func TestChrootvmStatus(t *testing.T) {
	cases := []struct {
		name    string
		options []string
		program []string
		want    int
		stderr  string // a message chrootvm must print
		kernels []string
	}{
		// cat first: an empty stdin must be an end of file at once.
		{"self-signal", nil, []string{"sh", "-c", "cat; echo before; kill -USR2 $$; echo after"}, 128 + int(syscall.SIGUSR2), "", kernelNames},
		{"no-interpreter", nil, []string{"/run/mnt/in/nointerp"}, 127, "nointerp", []string{"6.12", "arm64-6.1"}},
		{"not-elf", nil, []string{"/run/mnt/in/garbage"}, 126, "garbage", []string{"6.12", "arm64-6.1"}},
		{"fatal", []string{"--append", "mount-ro=nosuchtag rd.timeout=2 rd.emergency=poweroff"}, []string{"/bin/true"}, 119, "nosuchtag", []string{"6.12"}},
		// A bad kernel word stops /init before its ports are open: no record.
		{"no-record", []string{"--append", "rd.timeout=soon"}, []string{"/bin/true"}, 119, "rd.timeout=soon", []string{"6.12"}},
	}
	for _, name := range kernelNames {
		for _, c := range cases {
			if !slices.Contains(c.kernels, name) {
				continue
			}
			for _, dn := range daemonsOn(name) {
				t.Run(name+"/"+c.name+"/"+dn, func(t *testing.T) {
					t.Parallel()
					p, k := need(t, name)
					k = withDaemon(t, k, dn)
					bin := buildTool(t, p, "chrootvm")
					in := t.TempDir()
					garbage := make([]byte, 4096)
					rand.Read(garbage)
					garbage[0] = 'X' // not "#!", not ELF
					if err := os.WriteFile(filepath.Join(in, "nointerp"), []byte("#!/nonexistent/interpreter\n"), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(in, "garbage"), garbage, 0o755); err != nil {
						t.Fatal(err)
					}
					args := append(append(chrootvmArgs(k), c.options...), "--virtiofsd", k.fsd.path, "--mount-ro", "in", in, k.guest.rootfs)
					r := runChrootvmIO(t, bin, append(args, c.program...), nil)
					if r.code != c.want {
						t.Errorf("chrootvm %q: exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", c.program, r.code, c.want, r.stdout, r.stderr)
					}
					if c.stderr != "" && (!bytes.Contains(r.stderr, []byte("chrootvm: ")) || !bytes.Contains(r.stderr, []byte(c.stderr))) {
						t.Errorf("chrootvm %q: stderr lacks a message naming %q:\n%s", c.program, c.stderr, r.stderr)
					}
					if c.name == "self-signal" && string(r.stdout) != "before\n" {
						t.Errorf("chrootvm %q: stdout %q, want %q", c.program, r.stdout, "before\n")
					}
				})
			}
		}
	}
}
