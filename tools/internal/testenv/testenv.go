// Package testenv is what every test that needs a real part shares: the
// rule for a part that is missing (skip saying why, or fail when
// VIRTINIT_REQUIRE_VM=1, as `make check` and CI run), where the parts
// are (the cache tools/fetch-deps fills), the /init binary, and a busybox
// root to boot.
//
// It imports nothing of the tools module but cpuarch (which imports
// nothing of it), so every package's tests can use it, internal/vm's own
// included.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"virtinit/tools/internal/cpuarch"
)

// RequireEnv names the variable that turns a missing part into a failure.
const RequireEnv = "VIRTINIT_REQUIRE_VM"

// Required reports whether a missing part fails the test.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Missing ends t because a real part it needs is not there: it skips,
// saying why, or fails when VIRTINIT_REQUIRE_VM=1, so that CI cannot pass
// by skipping. The message should name the part and how to get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s\n(%s=1: a missing part fails the test)", msg, RequireEnv)
		return
	}
	t.Skipf("%s\n(set %s=1 to make this a failure)", msg, RequireEnv)
}

// NeedVM skips t under `go test -short`, which `make test` runs: the test
// boots a virtual machine.
func NeedVM(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("boots a VM: not run with -short (make test); make check runs it")
	}
}

// Repo returns the repository's top directory: the nearest directory
// above the working directory (a test runs in its package's directory)
// that holds go.mod and tools/go.mod.
func Repo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isFile(filepath.Join(d, "go.mod")) && isFile(filepath.Join(d, "tools", "go.mod")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no repository (go.mod beside tools/go.mod) above %s", dir)
		}
	}
}

// Cache returns the directory tools/fetch-deps fills: $VIRTINIT_CACHE
// (relative to tools/, where `make check` runs the tests) or .cache at
// the top of the repository.
func Cache() (string, error) {
	repo, err := Repo()
	if err != nil {
		return "", err
	}
	c := os.Getenv("VIRTINIT_CACHE")
	if c == "" {
		return filepath.Join(repo, ".cache"), nil
	}
	if !filepath.IsAbs(c) {
		c = filepath.Join(repo, "tools", c)
	}
	return c, nil
}

// The cache's layout, as tools/fetch-deps writes it: per kernel a
// directory with the links vmlinuz (the image) and modules (its
// lib/modules/KVER), arm64's under arm64/, and arm64's static busybox
// (the host's amd64 one is installed by the package busybox-static).
var kernels = []Kernel{
	{Name: "6.1", GOARCH: "amd64", Version: "6.1", dir: "kernels/6.1"},
	{Name: "6.12", GOARCH: "amd64", Version: "6.12", dir: "kernels/6.12"},
	{Name: "arm64-6.1", GOARCH: "arm64", Version: "6.1", dir: "arm64/kernels/6.1"},
}

const arm64Busybox = "arm64/busybox-static/bin/busybox"

// Kernel is one Debian kernel of the cache.
type Kernel struct {
	Name    string // "6.1", "6.12", "arm64-6.1"
	GOARCH  string // amd64, arm64
	Arch    string // qemu's name of the architecture: x86_64, aarch64
	Version string // "6.1", "6.12"
	Vmlinuz string // the image
	Modules string // its module tree, lib/modules/KVER
	dir     string
}

// KernelNames lists the kernels of the cache's layout.
func KernelNames() []string {
	var names []string
	for _, k := range kernels {
		names = append(names, k.Name)
	}
	return names
}

// FindKernel returns the kernel called name, or an error that says what
// is missing and how to fetch it.
func FindKernel(name string) (Kernel, error) {
	cache, err := Cache()
	if err != nil {
		return Kernel{}, err
	}
	for _, k := range kernels {
		if k.Name != name {
			continue
		}
		a, _ := cpuarch.Lookup(k.GOARCH)
		k.Arch = a.Name
		dir := filepath.Join(cache, k.dir)
		k.Vmlinuz = filepath.Join(dir, "vmlinuz")
		k.Modules = filepath.Join(dir, "modules")
		if !isFile(k.Vmlinuz) || !isDir(k.Modules) {
			return k, fmt.Errorf("kernel %s is not in %s (run %s)", name, dir, fetchDeps(k.GOARCH))
		}
		return k, nil
	}
	return Kernel{}, fmt.Errorf("testenv knows no kernel %q (it knows %s)", name, strings.Join(KernelNames(), ", "))
}

// NeedKernel returns the kernel called name, or ends t with Missing.
func NeedKernel(t testing.TB, name string) Kernel {
	t.Helper()
	k, err := FindKernel(name)
	if err != nil {
		Missing(t, "%v", err)
	}
	return k
}

func fetchDeps(goarch string) string {
	if goarch == "amd64" {
		return "tools/fetch-deps"
	}
	return "tools/fetch-deps --arch " + goarch
}

// FindBusybox returns a static busybox for goarch: the host's (package
// busybox-static) for amd64, the cache's for arm64.
func FindBusybox(goarch string) (string, error) {
	var path string
	switch goarch {
	case "amd64":
		p, err := exec.LookPath("busybox")
		if err != nil {
			return "", fmt.Errorf("no busybox on PATH (run tools/fetch-deps, or install busybox-static)")
		}
		path = p
	case "arm64":
		cache, err := Cache()
		if err != nil {
			return "", err
		}
		path = filepath.Join(cache, arm64Busybox)
		if !isFile(path) {
			return "", fmt.Errorf("no arm64 busybox at %s (run %s)", path, fetchDeps(goarch))
		}
	default:
		return "", fmt.Errorf("no busybox for GOARCH %s", goarch)
	}
	if err := cpuarch.CheckStatic(path, goarch); err != nil {
		return "", fmt.Errorf("busybox: %w", err)
	}
	return path, nil
}

// The virtiofsd implementations the tests run with, by name: qemu's C
// daemon where Debian 12's qemu-system-common installs it, and the Rust
// daemon that tools/fetch-deps puts into the cache (Debian 13's, run by
// its own loader through a wrapper script).
var virtiofsds = []struct {
	name, path string
	inCache    bool
}{
	{"c", "/usr/lib/qemu/virtiofsd", false},
	{"rust", "virtiofsd/virtiofsd", true},
}

// VirtiofsdNames lists the virtiofsd implementations: "c", "rust".
func VirtiofsdNames() []string {
	var names []string
	for _, v := range virtiofsds {
		names = append(names, v.name)
	}
	return names
}

// FindVirtiofsd returns the path of the virtiofsd called name, or an
// error that says it is missing and how to get it. Which dialect the
// program speaks is for package vm to tell.
func FindVirtiofsd(name string) (string, error) {
	for _, v := range virtiofsds {
		if v.name != name {
			continue
		}
		path := v.path
		if v.inCache {
			cache, err := Cache()
			if err != nil {
				return "", err
			}
			path = filepath.Join(cache, path)
		}
		if _, err := exec.LookPath(path); err != nil {
			return "", fmt.Errorf("the %s virtiofsd: %w (run tools/fetch-deps)", name, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("testenv knows no virtiofsd %q (it knows %s)", name, strings.Join(VirtiofsdNames(), ", "))
}

// NeedBusybox returns FindBusybox's busybox, or ends t with Missing.
func NeedBusybox(t testing.TB, goarch string) string {
	t.Helper()
	p, err := FindBusybox(goarch)
	if err != nil {
		Missing(t, "%v", err)
	}
	return p
}

// InitEnv names the variable that points the tests at a built /init
// binary for goarch: VIRTINIT_INIT for amd64, VIRTINIT_INIT_ARM64 for
// arm64 (`make check` sets both to what it built).
func InitEnv(goarch string) string {
	if goarch == "amd64" {
		return "VIRTINIT_INIT"
	}
	return "VIRTINIT_INIT_" + strings.ToUpper(goarch)
}

var (
	initMu    sync.Mutex
	initBuilt = map[string]string{}
	tmpOnce   sync.Once
	tmpDir    string
	tmpErr    error
)

// FindInit returns the /init binary for goarch: the one InitEnv names,
// or else one built from the repository's root package, once per test
// binary, into TempDir.
func FindInit(goarch string) (string, error) {
	if p := os.Getenv(InitEnv(goarch)); p != "" {
		if !filepath.IsAbs(p) {
			repo, err := Repo()
			if err != nil {
				return "", err
			}
			p = filepath.Join(repo, "tools", p)
		}
		if err := cpuarch.CheckStatic(p, goarch); err != nil {
			return "", fmt.Errorf("%s: %w", InitEnv(goarch), err)
		}
		return p, nil
	}
	initMu.Lock()
	defer initMu.Unlock()
	if p, ok := initBuilt[goarch]; ok {
		return p, nil
	}
	repo, err := Repo()
	if err != nil {
		return "", err
	}
	dir, err := TempDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "initrd."+goarch)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("GOARCH=%s go build the /init binary: %v\n%s", goarch, err, b)
	}
	initBuilt[goarch] = out
	return out, nil
}

// TempDir returns a directory shared by the tests of one test binary,
// for what is built once; Main removes it.
func TempDir() (string, error) {
	tmpOnce.Do(func() { tmpDir, tmpErr = os.MkdirTemp("", "virtinit-test-") })
	return tmpDir, tmpErr
}

// Main runs the tests and removes TempDir: a package whose tests use
// FindInit or TempDir calls it from its TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if tmpDir != "" {
		os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// Applets are the busybox applets a test root links in bin/ when the
// caller names none.
var Applets = []string{"sh", "true", "false", "sleep", "cat", "echo", "ls", "mount", "id", "env", "uname"}

// RootDirs are the directories of a busybox root: the mount points /init
// and the guest's programs expect.
var RootDirs = []string{"bin", "sbin", "dev", "proc", "sys", "run", "tmp", "etc", "root", "usr/bin"}

// BusyboxRoot makes a minimal root filesystem in dir (which may exist):
// RootDirs, bin/busybox copied from busybox with a link in bin/ per
// applet (Applets when none are given), and an etc/passwd with root.
func BusyboxRoot(dir, busybox string, applets ...string) error {
	if len(applets) == 0 {
		applets = Applets
	}
	for _, d := range RootDirs {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	data, err := os.ReadFile(busybox)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bin", "busybox"), data, 0o755); err != nil {
		return err
	}
	for _, a := range applets {
		if a == "busybox" || strings.ContainsRune(a, '/') {
			continue
		}
		link := filepath.Join(dir, "bin", a)
		if err := os.Symlink("busybox", link); err != nil && !(errors.Is(err, os.ErrExist) && isLinkTo(link, "busybox")) {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644)
}

func isLinkTo(path, target string) bool {
	t, err := os.Readlink(path)
	return err == nil && t == target
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// Chdir changes the working directory for the rest of the test and back at
// its end: testing.T.Chdir is Go 1.24's, and the tools build with 1.22
// (README.md, Go releases).
func Chdir(t testing.TB, dir string) {
	t.Helper()
	old, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chdir(old); err != nil {
			t.Fatalf("back to %s: %v", old, err)
		}
	})
}
