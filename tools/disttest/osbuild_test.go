package disttest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"virtinit/tools/internal/binsize"
	"virtinit/tools/internal/cpuarch"
	"virtinit/tools/internal/testenv"
)

// OldGoEnv names the variable that gives the oldest supported Go release
// (make check passes the Makefile's OLDGO).
const OldGoEnv = "VIRTINIT_OLDGO"

func TestOsbuildFlows(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the dist tarball and /init with two Go releases: not run with -short (make test); make check runs it")
	}
	oldGo := os.Getenv(OldGoEnv)
	if oldGo == "" {
		testenv.Missing(t, "%s is not set: it names the oldest Go release to build with (make check sets it from the Makefile's OLDGO)", OldGoEnv)
	}
	repo, err := testenv.Repo()
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	if canUnshareNet() {
		t.Log("the builds run in a network namespace of their own (unshare -n): no network at all")
	} else {
		t.Log("unshare -n is not possible here (not root?): the builds are offline only by GOPROXY=off and an empty module cache")
	}
	tarball := makeDist(t, repo, filepath.Join(work, "out"))
	top := strings.TrimSuffix(filepath.Base(tarball), ".tar.gz")
	checkTarball(t, tarball, top)

	for _, gover := range []string{oldGo, "local"} {
		gover := gover
		t.Run(gover, func(t *testing.T) {
			goroot, version := toolchain(t, gover)
			env := offlineEnv(t, goroot)
			dir := filepath.Join(work, version)

			// osbuild.spec: %prep, %build, %install.
			build := filepath.Join(dir, "rpmbuild")
			buildroot := filepath.Join(dir, "buildroot")
			run(t, build, env, "tar", "xf", tarball)
			src := filepath.Join(build, top)
			run(t, src, env, "make", "build")
			run(t, src, env, "make", "install", "DESTDIR="+buildroot, "INSTALL=install -p")
			installed := filepath.Join(buildroot, "usr/lib/osbuild/initrd/initrd")
			checkBinary(t, installed, version)

			// osbuild's Makefile, target initrd, in osbuild's own git
			// checkout, which may belong to another user (a build in a
			// container, or with sudo).
			dev := filepath.Join(dir, "osbuild")
			if err := os.MkdirAll(filepath.Join(dev, "initrd"), 0o755); err != nil {
				t.Fatal(err)
			}
			gitCheckout(t, dev)
			link(t, tarball, filepath.Join(dev, filepath.Base(tarball)))
			run(t, filepath.Join(dev, "initrd"), env, "sh", "-c", "tar xvf ../osbuild-initrd-*.tar.gz --strip-components=1 >/dev/null")
			run(t, dev, env, "make", "-C", "initrd", "build")
			devBin := filepath.Join(dev, "initrd", "initrd")
			checkBinary(t, devBin, version)

			// The same toolchain, sources and flags (-trimpath) give the
			// same bytes, whichever flow built them.
			a, errA := os.ReadFile(installed)
			b, errB := os.ReadFile(devBin)
			if errA != nil || errB != nil || !bytes.Equal(a, b) {
				t.Errorf("%s and %s differ (%v, %v): the two flows built different binaries with %s", installed, devBin, errA, errB, version)
			}
		})
	}
}

// makeDist runs make dist with its output in out and returns the tarball.
func makeDist(t *testing.T, repo, out string) string {
	t.Helper()
	cmd := exec.Command("make", "-s", "dist", "OUT="+out)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "MAKEFLAGS=")
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make dist: %v\n%s", err, b)
	}
	m, _ := filepath.Glob(filepath.Join(out, "osbuild-initrd-*.tar.gz"))
	if len(m) != 1 {
		t.Fatalf("make dist wrote %q into %s, want one osbuild-initrd-VERSION.tar.gz\n%s", m, out, b)
	}
	return m[0]
}

// checkTarball makes sure every entry of the tarball is under the single
// top directory osbuild.spec builds in, and that the vendored modules and
// the version are there.
func checkTarball(t *testing.T, tarball, top string) {
	t.Helper()
	out, err := exec.Command("tar", "tzf", tarball).Output()
	if err != nil {
		t.Fatalf("tar tzf %s: %v", tarball, err)
	}
	names := map[string]bool{}
	for _, name := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name != top+"/" && !strings.HasPrefix(name, top+"/") {
			t.Errorf("%s holds %q, outside its top directory %s/", tarball, name, top)
		}
		names[strings.TrimPrefix(name, top+"/")] = true
	}
	for _, want := range []string{"Makefile", "go.mod", "VERSION", "vendor/modules.txt", "vendor/golang.org/x/sys/unix/", "tools/vendor/modules.txt"} {
		if !names[want] {
			t.Errorf("%s lacks %s/%s", tarball, top, want)
		}
	}
}

// toolchain returns the GOROOT and version of the Go release gover
// ("local" for the installed one), fetching it through the module proxy
// as the go command does when GOTOOLCHAIN names it.
func toolchain(t *testing.T, gover string) (goroot, version string) {
	t.Helper()
	cmd := exec.Command("go", "env", "GOROOT", "GOVERSION")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+gover)
	out, err := cmd.Output()
	if err != nil {
		testenv.Missing(t, "Go %s: go env GOROOT: %v (the go command fetches it through the module proxy)", gover, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("GOTOOLCHAIN=%s go env GOROOT GOVERSION printed %q", gover, out)
	}
	return f[0], f[1]
}

// offlineEnv is a distribution build's environment for the Go in goroot:
// that Go alone (GOTOOLCHAIN=local), the vendored modules, no proxy and an
// empty module cache, so nothing can come from outside the tarball.
func offlineEnv(t *testing.T, goroot string) []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "GOTOOLCHAIN", "GOFLAGS", "GOPROXY", "GOMODCACHE", "GOROOT", "PATH", "MAKEFLAGS", "VERSION", "GOARCH":
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"PATH="+filepath.Join(goroot, "bin")+":"+os.Getenv("PATH"),
		"GOTOOLCHAIN=local", "GOFLAGS=-mod=vendor", "GOPROXY=off",
		"GOMODCACHE="+t.TempDir())
}

// run runs a command in dir with env, without a network where the test
// may make a network namespace of its own (unshare -n, as root).
func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if canUnshareNet() {
		args = append([]string{"-n", "--", name}, args...)
		name = "unshare"
	}
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in %s: %s %s: %v\n%s", dir, name, strings.Join(args, " "), err, out)
	}
}

// gitCheckout makes dir a git checkout with one commit, as osbuild's is,
// owned by nobody when the test runs as root: the go command's VCS
// stamping then fails ("error obtaining VCS status") unless the build
// leaves it out, and where it works it would make the binary depend on
// osbuild's commit.
func gitCheckout(t *testing.T, dir string) {
	t.Helper()
	for _, args := range [][]string{
		{"init", "-q"},
		{"-c", "user.name=osbuild", "-c", "user.email=osbuild@localhost", "commit", "-q", "--allow-empty", "-m", "osbuild"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
		}
	}
	if os.Geteuid() == 0 {
		if out, err := exec.Command("chown", "-R", "65534:65534", dir).CombinedOutput(); err != nil {
			t.Fatalf("chown nobody %s: %v\n%s", dir, err, out)
		}
	}
}

// canUnshareNet reports whether commands can run in a network namespace
// of their own, cut off from every network.
func canUnshareNet() bool {
	return exec.Command("unshare", "-n", "true").Run() == nil
}

// link puts the tarball where osbuild's Makefile has it (spectool
// downloads it beside the Makefile).
func link(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Symlink(from, to); err != nil {
		t.Fatal(err)
	}
}

// checkBinary makes sure path is /init as osbuild needs it: an executable,
// static program for this machine, built by the Go release version.
func checkBinary(t *testing.T, path, version string) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("the flow left no binary: %v", err)
	}
	if st.Mode().Perm() != 0o755 || !st.Mode().IsRegular() {
		t.Errorf("%s: mode %v, want a regular file with mode 0755", path, st.Mode())
	}
	host, ok := cpuarch.Host()
	if !ok {
		t.Fatalf("no architecture of virtinit's for %s", runtime.GOARCH)
	}
	if err := cpuarch.CheckStatic(path, host.Name); err != nil {
		t.Error(err)
	}
	if v, err := binsize.GoVersion(path); err != nil || v != version {
		t.Errorf("%s was built by %q (%v), want %s", path, v, err, version)
	}
}
