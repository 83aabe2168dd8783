package vm

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/testenv"
)

// The boot tests run real VMs: qemu, virtiofsd and the 6.12 kernel of
// the project's cache (tools/fetch-deps), which has virtio-pci and
// virtiofs built in, so a single static program can be the whole initrd.
// A missing part skips them, saying why, or fails them under
// VIRTINIT_REQUIRE_VM=1 (testenv.Missing).

// bootParts are the real parts a boot test needs.
type bootParts struct {
	kernel string
	initrd string
}

var (
	partsOnce sync.Once
	parts     bootParts
	partsErr  error
)

func TestMain(m *testing.M) {
	if os.Getenv(fakeQemuEnv) != "" {
		fakeQemu()
	}
	testenv.Main(m)
}

// needBoot returns the parts of a boot test, or ends the test.
func needBoot(t *testing.T) bootParts {
	t.Helper()
	testenv.NeedVM(t)
	k := testenv.NeedKernel(t, "6.12")
	if _, err := FindQemu("x86_64"); err != nil {
		testenv.Missing(t, "%v (run tools/fetch-deps)", err)
	}
	if v, err := FindVirtiofsd(""); err != nil {
		testenv.Missing(t, "%v (run tools/fetch-deps)", err)
	} else if !v.Rust && os.Geteuid() != 0 {
		testenv.Missing(t, "the C virtiofsd needs root")
	}
	partsOnce.Do(func() { parts, partsErr = buildBootParts(k.Vmlinuz) })
	if partsErr != nil {
		t.Fatal(partsErr)
	}
	return parts
}

// buildBootParts builds the guest program into an initrd of its own.
func buildBootParts(kernel string) (bootParts, error) {
	dir, err := testenv.TempDir()
	if err != nil {
		return bootParts{}, err
	}
	guest := filepath.Join(dir, "guest")
	build := exec.Command("go", "build", "-o", guest, "./testdata/guest")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return bootParts{}, fmt.Errorf("build the guest program: %v\n%s", err, out)
	}
	data, err := os.ReadFile(guest)
	if err != nil {
		return bootParts{}, err
	}
	var cpio bytes.Buffer
	writeNewc(&cpio, []newcEntry{
		{name: "dev", mode: 0o40755},
		{name: "dev/console", mode: 0o20600, rdevMajor: 5, rdevMinor: 1},
		{name: "init", mode: 0o100755, data: data},
	})
	initrd := filepath.Join(dir, "initrd")
	if err := os.WriteFile(initrd, cpio.Bytes(), 0o644); err != nil {
		return bootParts{}, err
	}
	return bootParts{kernel: kernel, initrd: initrd}, nil
}

// newcEntry is one member of a newc cpio archive.
type newcEntry struct {
	name                 string
	mode                 uint32
	data                 []byte
	rdevMajor, rdevMinor int
}

// writeNewc writes a newc cpio archive, the format the kernel unpacks
// (Documentation/driver-api/early-userspace/buffer-format.rst).
func writeNewc(w *bytes.Buffer, entries []newcEntry) {
	pad := func() {
		for w.Len()%4 != 0 {
			w.WriteByte(0)
		}
	}
	for i, e := range append(entries, newcEntry{name: "TRAILER!!!"}) {
		fmt.Fprintf(w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			i+1, e.mode, 0, 0, 1, 0, len(e.data), 0, 0, e.rdevMajor, e.rdevMinor, len(e.name)+1, 0)
		w.WriteString(e.name + "\x00")
		pad()
		w.Write(e.data)
		pad()
	}
}

// bootConfig is a Config for the test guest running steps.
func bootConfig(p bootParts, machine string, steps ...string) Config {
	line, err := contract.Cmdline{Console: cpuarch.Default().Console, Extra: []string{"panic=-1", "quiet"}, Args: steps}.String()
	if err != nil {
		panic(err) // a defect of the test's steps
	}
	return Config{
		Machine:  machine,
		Kernel:   p.kernel,
		Initrd:   p.initrd,
		Append:   line,
		Memory:   "512M",
		NoReboot: true,
		Debug:    true,
	}
}

// isolate points the package's temporary directory at an empty one and
// checks, when the test ends, that Run left nothing there and no child
// process behind.
func isolate(t *testing.T) {
	t.Helper()
	dir := t.TempDir()
	old := tempDir
	tempDir = dir
	t.Cleanup(func() {
		tempDir = old
		if left, err := os.ReadDir(dir); err != nil {
			t.Errorf("the temporary directory: %v", err)
		} else if len(left) > 0 {
			t.Errorf("Run left %d entries in its temporary directory, e.g. %s", len(left), left[0].Name())
		}
		if kids := children(); len(kids) > 0 {
			t.Errorf("Run left child processes: %s", strings.Join(kids, ", "))
		}
	})
}

// children lists the processes whose parent is this one.
func children() []string {
	var kids []string
	procs, _ := filepath.Glob("/proc/[0-9]*/stat")
	me := strconv.Itoa(os.Getpid())
	for _, p := range procs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == me {
			kids = append(kids, s[:i+1])
		}
	}
	return kids
}

// logs collects the console and the debug log of a boot and shows them
// when the test fails.
func logs(t *testing.T, c *Config) {
	var console, log bytes.Buffer
	c.Console, c.Log = &console, &log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("debug log:\n%s\nconsole:\n%s", log.String(), console.String())
		}
	})
}

func TestBootSharesAndExitCode(t *testing.T) {
	p := needBoot(t)
	isolate(t)
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "hello"), []byte("hello-from-host"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := bootConfig(p, "q35", "cat=ro/hello", "write=rw/out", "exit=7")
	c.Shares = []Share{{Tag: "ro", Path: ro, ReadOnly: true}, {Tag: "rw", Path: rw}}
	logs(t, &c)
	findPrograms(t, &c)
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 7 || res.End != EndExit || res.TimedOut {
		t.Errorf("Run: exit code %d, end %q, timed out %v; want 7, %q, false", res.ExitCode, res.End, res.TimedOut, EndExit)
	}
	if !bytes.Contains(res.Output, []byte("GUEST read hello-from-host")) {
		t.Errorf("the guest did not print the shared file")
	}
	if got, err := os.ReadFile(filepath.Join(rw, "out")); err != nil || string(got) != "written by the guest" {
		t.Errorf("file written by the guest = %q, %v; want %q", got, err, "written by the guest")
	}
}

func TestBootMicrovmPowerOff(t *testing.T) {
	p := needBoot(t)
	isolate(t)
	c := bootConfig(p, "microvm", "poweroff")
	logs(t, &c)
	findPrograms(t, &c)
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 0 || res.End != EndPowerOff {
		t.Errorf("Run: exit code %d, end %q; want 0, %q", res.ExitCode, res.End, EndPowerOff)
	}
	if !bytes.Contains(res.Output, []byte("GUEST started")) {
		t.Errorf("the guest program did not run")
	}
}

func TestBootTimeout(t *testing.T) {
	p := needBoot(t)
	isolate(t)
	c := bootConfig(p, "q35", "hang")
	c.Shares = []Share{{Tag: "t", Path: t.TempDir()}}
	c.Timeout = 3 * time.Second
	logs(t, &c)
	findPrograms(t, &c)
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !res.TimedOut || res.ExitCode != -1 {
		t.Errorf("Run: timed out %v, exit code %d; want true, -1", res.TimedOut, res.ExitCode)
	}
}

// cancelOn is a console that cancels a context when the guest prints
// marker.
type cancelOn struct {
	marker []byte
	cancel context.CancelFunc
	mu     sync.Mutex
	seen   []byte
}

func (c *cancelOn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen = append(c.seen, p...)
	if bytes.Contains(c.seen, c.marker) {
		c.cancel()
	}
	return len(p), nil
}

func TestBootCancel(t *testing.T) {
	p := needBoot(t)
	isolate(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := bootConfig(p, "q35", "hang")
	c.Shares = []Share{{Tag: "t", Path: t.TempDir()}}
	var log bytes.Buffer
	c.Log = &log
	c.Console = &cancelOn{marker: []byte("GUEST hanging"), cancel: cancel}
	findPrograms(t, &c)
	res, err := Run(ctx, c)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled\n%s", err, log.String())
	}
	if res == nil || !bytes.Contains(res.Output, []byte("GUEST hanging")) {
		t.Errorf("Run did not return the output up to the cancellation")
	}
}

var _ io.Writer = (*cancelOn)(nil)

// TestBootPorts boots the test guest with virtio-serial ports, under
// QemuExit: 1 MiB of random bytes goes in on one port and must come back
// on another byte for byte, which also shows that the guest read the end
// of file once the input was copied. The exit status is not read from
// the console in this mode.
func TestBootPorts(t *testing.T) {
	p := needBoot(t)
	isolate(t)
	input := make([]byte, 1<<20)
	rand.Read(input)
	var out syncBuffer
	c := bootConfig(p, "q35", "copy=test.in,test.out", "exit=0")
	c.Ending = QemuExit{}
	c.Ports = []Port{{Name: "test.in", In: bytes.NewReader(input)}, {Name: "test.out", Out: &out}}
	logs(t, &c)
	findPrograms(t, &c)
	res, err := Run(context.Background(), c)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.End != EndUnknown || res.ExitCode != -1 {
		t.Errorf("Run under QemuExit: end %q, exit code %d; want none, -1", res.End, res.ExitCode)
	}
	if got := out.Bytes(); !bytes.Equal(got, input) {
		t.Errorf("port test.out gave %d bytes, not the %d random bytes sent", len(got), len(input))
	}
	if !bytes.Contains(res.Output, []byte("GUEST copied 1048576 bytes")) {
		t.Errorf("the guest did not report the copy")
	}
}

// findPrograms finds qemu and the virtiofsd for c, as a caller of Run
// does, or ends t.
func findPrograms(t *testing.T, c *Config) {
	t.Helper()
	if err := c.FindPrograms(""); err != nil {
		t.Fatal(err)
	}
}
