package vmtest

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"virtinit/tools/internal/initrd"
)

// overlayFiles are the host files of the overlay scenario's root, in the
// directories the issue names: one to change, one to keep, one to remove.
var overlayFiles = map[string]string{
	"etc/motd":            "from the host",
	"usr/share/doc/keep":  "kept",
	"var/lib/old":         "to be removed",
	"var/lib/unchanged/x": "not touched",
}

// testOverlay is issue 13's scenario: with rd.overlay=16m the root is an
// overlay of the read-only virtiofs root and a 16 MiB tmpfs. The program
// changes, creates and removes files in /etc, /usr and /var and reads its
// writes back; they are in the tmpfs (/run/overlay/upper), the lower
// layer is untouched, the API mounts moved into the overlay root (/tmp,
// which the host's root lacks, on a mount point made in the overlay), the
// shares stay virtiofs, a write beyond 16 MiB gets ENOSPC and space comes
// back when the file goes. On the host, the root's listing (modes, sizes,
// digests, mtimes) is the same after the boot as before. supervised runs
// the checker under rd.supervise, as the program's parent /init then
// stays.
func testOverlay(t *testing.T, k kernel, supervised bool) {
	root := t.TempDir()
	// Without /tmp: /init creates the mount point in the overlay.
	if err := makeRootfs(root, k.guest.busybox, false); err != nil {
		t.Fatal(err)
	}
	for name, content := range overlayFiles {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before, err := listing(root)
	if err != nil {
		t.Fatal(err)
	}

	var pl plan
	if !supervised {
		pl.add("pid1", "pid1")
	}
	pl.add("root", "mount", "/", "overlay", "-", "ro", "overlay")
	pl.add("upper-tmpfs", "mount", "/run/overlay", "tmpfs", "-", "ro")
	pl.add("lower", "mount", "/run/overlay/lower", "virtiofs", "ro", "-", "rootfs")
	apiPlan(&pl, true)
	if supervised {
		// Supervised on the console, fds 0-2 are the console's own
		// tty (ttyS0), not /dev/console: rd.supervise's business.
		pl.drop("fds")
	}
	writes := []struct{ path, content string }{
		{"/etc/motd", "changed in the guest"}, // copied up from the lower layer
		{"/etc/new", "new in /etc"},
		{"/usr/share/doc/new", "new in /usr"},
		{"/var/lib/new", "new in /var"},
		{"/var/new-dir-file", "new in /var's top"},
	}
	for _, w := range writes {
		pl.add("write:"+w.path, "write", w.path, w.content)
	}
	pl.add("remove", "run", "/bin/busybox", "rm", "/var/lib/old")
	for _, w := range writes {
		pl.add("read:"+w.path, "file", w.path, w.content)
	}
	pl.add("removed", "absent", "/var/lib/old")
	pl.add("kept", "file", "/usr/share/doc/keep", "kept")
	pl.add("in-upper", "file", "/run/overlay/upper/etc/motd", "changed in the guest")
	pl.add("lower-as-before", "file", "/run/overlay/lower/etc/motd", "from the host")
	pl.add("lower-still-has", "file", "/run/overlay/lower/var/lib/old", "to be removed")
	pl.add("lower-erofs", "erofs", "/run/overlay/lower/etc/new2")
	pl.add("enospc", "enospc", "/var/big")
	pl.add("after-enospc", "write", "/var/after", "space again")

	cmdline := "rd.overlay=16m mount-ro=checker init=" + checkerInit
	if supervised {
		cmdline += " rd.supervise"
	}
	ird := buildInitrdOpts(t, k, initrd.Options{Modules: []string{initrd.OverlayModule}})
	res := standardBoot(t, k, ird, root, &pl, cmdline)
	expectChecks(t, res, &pl)

	after, err := listing(root)
	if err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("the host's root changed under the overlay:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// listing describes every entry below root: path, type and mode, size,
// mtime, and the SHA-256 of a file or the target of a link.
func listing(root string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		extra := ""
		switch {
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			extra = fmt.Sprintf("%x", sha256.Sum256(data))
		case info.Mode()&fs.ModeSymlink != 0:
			if extra, err = os.Readlink(p); err != nil {
				return err
			}
		}
		fmt.Fprintf(&b, "%s %v %d %d %s\n", rel, info.Mode(), info.Size(), info.ModTime().UnixNano(), extra)
		return nil
	})
	return b.String(), err
}
