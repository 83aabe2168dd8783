package initrdcache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"

	"virtinit/tools/internal/initrd"
)

// keyVersion changes whenever what an entry holds, or how the key is
// made, changes: older entries are then never hit, and age out.
const keyVersion = "virtinit initrd cache 1"

// indexFiles are the files of a module tree that depmod rewrites and a
// kernel package replaces: their size and time stand for the tree. The
// module files an entry was built from are checked on each hit too
// (manifest.unchanged).
var indexFiles = []string{"modules.dep", "modules.builtin", "modules.order"}

// keyOf names the entry of o: a hash over the /init binary's bytes, the
// module tree (its resolved path and index files) and every option that
// changes the archive but Argv, which each run appends itself.
func keyOf(o initrd.Options) (string, error) {
	if o.Init == "" {
		return "", errors.New("no init binary given")
	}
	h := sha256.New()
	field(h, keyVersion)
	field(h, builder())
	f, err := os.Open(o.Init)
	if err != nil {
		return "", fmt.Errorf("init binary: %w", err)
	}
	ih := sha256.New()
	_, err = io.Copy(ih, f)
	f.Close()
	if err != nil {
		return "", fmt.Errorf("init binary: %w", err)
	}
	field(h, string(ih.Sum(nil)))
	if o.ModulesDir != "" {
		dir, err := filepath.EvalSymlinks(o.ModulesDir)
		if err != nil {
			return "", fmt.Errorf("modules directory: %w", err)
		}
		field(h, dir)
		for _, name := range indexFiles {
			field(h, statLine(filepath.Join(dir, name)))
		}
	} else {
		field(h, "")
	}
	field(h, o.Transport)
	field(h, strconv.Itoa(len(o.Modules)))
	for _, m := range o.Modules {
		field(h, m)
	}
	field(h, o.Compress)
	field(h, strconv.FormatBool(o.StripSignatures))
	field(h, o.KernelRelease)
	field(h, strconv.FormatInt(o.Epoch, 10))
	field(h, strconv.Itoa(len(o.Extra)))
	for _, e := range o.Extra {
		field(h, e.Name)
		field(h, strconv.FormatUint(uint64(e.Mode), 8))
		field(h, string(e.Data))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// builder names the program that builds the archives, so that a new
// version of it, which may lay an initrd out otherwise, builds its own:
// the revision the go command stamped into it, and where there is none
// (a build outside a checkout) the executable's size, time and inode.
func builder() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		s := ""
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" || kv.Key == "vcs.modified" {
				s += kv.Key + "=" + kv.Value + " "
			}
		}
		if s != "" && !strings.Contains(s, "vcs.modified=true") {
			return s
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return exe + " " + statLine(exe)
}

// field adds one length-prefixed string to h, so that no two lists of
// fields hash alike.
func field(h hash.Hash, s string) {
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
	h.Write(n[:])
	io.WriteString(h, s)
}

// statLine describes a file by its size, modification time and inode,
// or says it is missing.
func statLine(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "-"
	}
	s := strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10)
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s += " " + strconv.FormatUint(st.Ino, 10)
	}
	return s
}
