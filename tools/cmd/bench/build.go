package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"virtinit/tools/internal/binsize"
	"virtinit/tools/internal/cpuarch"
)

// repoRoot is the top of the git checkout the benchmark runs in.
func repoRoot() (string, error) {
	out, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse --show-toplevel: %w (run the benchmark inside the repository)", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// describe names the working tree's revision as the Makefile does.
func describe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// checkInit rejects a file that cannot be a /init for goarch: `make build`
// with GOARCH=arm64 leaves out/initrd pointing at an arm64 binary, which
// an x86-64 kernel would refuse with ENOEXEC.
func checkInit(path, goarch string) error {
	if err := cpuarch.CheckStatic(path, goarch); err != nil {
		return fmt.Errorf("/init binary: %w", err)
	}
	return nil
}

// copyFile copies src to dst with mode 0755: the benchmark keeps its own
// copy of /init, so a `make build` running meanwhile cannot change what
// it measures.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// prepareBase puts the base /init at dst and returns its name: the
// --base-init binary, named by the Go release that built it, or the /init
// of the --base revision.
func prepareBase(root string, o options, dir, dst string) (string, error) {
	if o.baseInit == "" {
		progress("building /init of " + o.base)
		return buildRevision(root, o.base, dir, dst)
	}
	if o.base != "" {
		return "", fmt.Errorf("--base %s and --base-init %s: give one base", o.base, o.baseInit)
	}
	if err := checkInit(o.baseInit, "amd64"); err != nil {
		return "", err
	}
	v, err := binsize.GoVersion(o.baseInit)
	if err != nil {
		return "", fmt.Errorf("--base-init %s: %w", o.baseInit, err)
	}
	return v + " " + o.baseInit, copyFile(o.baseInit, dst)
}

// buildRevision builds the /init of a git revision into dst. The
// revision's tree is exported with git archive into a temporary
// directory, a worktree that git does not need to know about (nothing is
// registered in .git, nothing is left behind when the run is
// interrupted), and built as the Makefile builds it.
func buildRevision(root, rev, dir, dst string) (string, error) {
	full, err := exec.Command("git", "-C", root, "rev-parse", "--verify", rev+"^{commit}").Output()
	if err != nil {
		return "", fmt.Errorf("BASE=%s: not a revision of %s", rev, root)
	}
	id := strings.TrimSpace(string(full))
	name := rev
	if out, err := exec.Command("git", "-C", root, "describe", "--always", id).Output(); err == nil {
		name = strings.TrimSpace(string(out))
	}
	src := filepath.Join(dir, "base-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", err
	}
	archive := exec.Command("git", "-C", root, "archive", "--format=tar", id)
	untar := exec.Command("tar", "-x", "-C", src)
	var stderr bytes.Buffer
	archive.Stderr, untar.Stderr = &stderr, &stderr
	if untar.Stdin, err = archive.StdoutPipe(); err != nil {
		return "", err
	}
	if err := untar.Start(); err != nil {
		return "", err
	}
	if err := archive.Run(); err != nil {
		return "", fmt.Errorf("git archive %s: %w: %s", rev, err, stderr.String())
	}
	if err := untar.Wait(); err != nil {
		return "", fmt.Errorf("unpack %s: %w: %s", rev, err, stderr.String())
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -X main.version="+name, "-o", dst, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH=amd64", "GOFLAGS=", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build /init of %s: %w\n%s", rev, err, out)
	}
	return name, nil
}

// buildGoStamp builds the Go floor (goStampSource, goStampEntry or
// goStampEntryArm64) for goarch into dst with the flags of the Makefile
// and its own entry point, from a module of its own in dir.
func buildGoStamp(dir, dst, goarch string) error {
	src := filepath.Join(dir, "gostamp-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module gostamp\n\ngo 1.21\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(goStampSource), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "entry_amd64.s"), []byte(goStampEntry), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(src, "entry_arm64.s"), []byte(goStampEntryArm64), 0o644); err != nil {
		return err
	}
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w -E _rt0_stamp", "-o", dst, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOARCH="+goarch, "GOFLAGS=", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the Go floor for %s: %w\n%s", goarch, err, out)
	}
	return nil
}

// buildArm64Init builds our /init for arm64 as `make build GOARCH=arm64`
// does, into out/arm64/initrd.
func buildArm64Init(root string) (string, error) {
	cmd := exec.Command("make", "-C", root, "build", "GOARCH=arm64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("make build GOARCH=arm64: %w\n%s", err, out)
	}
	return filepath.Join(root, "out", "arm64", "initrd"), nil
}

// buildChrootvm builds chrootvm from this source tree, so that the boots
// it times are composed by the code they measure.
func buildChrootvm(root, dst string) error {
	cmd := exec.Command("go", "build", "-o", dst, "./cmd/chrootvm")
	cmd.Dir = filepath.Join(root, "tools")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build chrootvm: %w\n%s", err, out)
	}
	return nil
}
