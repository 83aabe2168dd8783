// Package initrdcache keeps built initrds in the user's cache directory,
// so that a run with the same /init, kernel modules and options as an
// earlier one does not build its initrd again.
//
// An entry is the archive of initrd.Build without the per-run
// /init.argv, named by a key over everything that decides its bytes
// (keyOf), and a manifest beside it that lists the module files it was
// built from with their size and modification time: a hit whose files
// changed since is a miss. A run gets its own file: the cached archive
// followed by initrd.ArgvArchive of its program and arguments (the
// kernel unpacks concatenated archives).
//
// The cache is private to the user (its directory 0700, its files 0600),
// safe under concurrent runs (an entry is written to a temporary file and
// renamed into place; a reader holds its file open, so an eviction
// meanwhile does not disturb it) and bounded: after each store the
// least recently used entries go until the rest fit.
package initrdcache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"virtinit/tools/internal/initrd"
)

// DefaultMax bounds the cache: some 40 initrds of 6.1's seven modules
// (2 MB each) or 6.12's one (1.4 MB).
const DefaultMax = 64 << 20

// Cache is one cache directory.
type Cache struct {
	dir string
	max int64
}

// DefaultDir is virtinit/initrd in the user's cache directory
// ($XDG_CACHE_HOME, else ~/.cache).
func DefaultDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "virtinit", "initrd"), nil
}

// Open makes dir if it is missing and returns the cache there, holding at
// most max bytes. dir must belong to the user and be closed to everyone
// else: another user who could write there could plant an initrd.
func Open(dir string, max int64) (*Cache, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("initrd cache: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("initrd cache: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Getuid() {
		return nil, fmt.Errorf("initrd cache %s: not owned by this user", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		// MkdirAll leaves an existing directory's mode alone, and the
		// umask may have widened a new one's parents, not this one.
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("initrd cache: %w", err)
		}
	}
	return &Cache{dir: dir, max: max}, nil
}

// Dir is the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// manifest is what an entry records beside its archive.
type manifest struct {
	Report  initrd.Report `json:"report"`
	Size    int64         `json:"size"` // the archive's
	Sources []source      `json:"sources"`
}

// source is one module file an entry was built from, as it was then.
type source struct {
	Path  string `json:"path"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
}

func sourceOf(path string) (source, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return source{}, err
	}
	return source{Path: path, Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}, nil
}

// unchanged tells whether every source is as it was.
func (m *manifest) unchanged() bool {
	for _, s := range m.Sources {
		now, err := sourceOf(s.Path)
		if err != nil || now != s {
			return false
		}
	}
	return true
}

// Result is what WriteInitrd did.
type Result struct {
	Report *initrd.Report
	Hit    bool   // the archive came from the cache
	Key    string // the entry's key
}

// WriteInitrd writes the initrd o describes to out, a new file of the
// caller's (its temporary directory): the cached archive of o without
// its Argv, built and stored first when there is none, then o.Argv's own
// archive. Errors of initrd.Build come back unchanged (initrd.ErrNoModule
// among them).
func (c *Cache) WriteInitrd(out string, o initrd.Options) (*Result, error) {
	key, err := keyOf(o)
	if err != nil {
		return nil, err
	}
	base := o
	base.Argv = nil
	res := &Result{Key: key}
	f, m, err := c.lookup(key)
	if err != nil {
		if f, m, err = c.store(key, base); err != nil {
			return nil, err
		}
	} else {
		res.Hit = true
	}
	defer f.Close()
	res.Report = &m.Report
	if err := writeRun(out, f, o.Argv); err != nil {
		return nil, err
	}
	if res.Hit {
		// The mtime orders the entries for eviction: used last, kept
		// longest.
		now := time.Now()
		os.Chtimes(f.Name(), now, now)
	}
	return res, nil
}

// writeRun writes the cached archive then the run's /init.argv into out.
func writeRun(out string, archive *os.File, argv []string) (err error) {
	w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}()
	// Between files, io.Copy uses copy_file_range(2): the kernel copies,
	// or shares the blocks where the file system can.
	if _, err := io.Copy(w, archive); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if argv == nil {
		return nil
	}
	extra, err := initrd.ArgvArchive(argv)
	if err != nil {
		return err
	}
	if _, err := w.Write(extra); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	return nil
}

// paths are an entry's archive and manifest.
func (c *Cache) paths(key string) (archive, manifest string) {
	p := filepath.Join(c.dir, key)
	return p + ".cpio", p + ".json"
}

// errMiss is a lookup that found no usable entry.
var errMiss = errors.New("initrd cache: miss")

// lookup opens the entry of key, if there is one whose module files are
// unchanged.
func (c *Cache) lookup(key string) (*os.File, *manifest, error) {
	ap, mp := c.paths(key)
	b, err := os.ReadFile(mp)
	if err != nil {
		return nil, nil, errMiss
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil || !m.unchanged() {
		return nil, nil, errMiss
	}
	f, err := os.Open(ap)
	if err != nil {
		return nil, nil, errMiss
	}
	// The cache does not sync its files: a crash of the host could
	// leave an archive short.
	if fi, err := f.Stat(); err != nil || fi.Size() != m.Size {
		f.Close()
		return nil, nil, errMiss
	}
	return f, &m, nil
}

// store builds the entry of key and returns it open, as lookup does.
func (c *Cache) store(key string, o initrd.Options) (*os.File, *manifest, error) {
	ap, mp := c.paths(key)
	tmp, err := os.CreateTemp(c.dir, ".tmp-*.cpio")
	if err != nil {
		return nil, nil, fmt.Errorf("initrd cache: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	rep, err := initrd.Build(tmp, o)
	if err != nil {
		return nil, nil, err
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return nil, nil, fmt.Errorf("initrd cache: %w", err)
	}
	m := &manifest{Report: *rep, Size: size}
	for _, p := range rep.Sources {
		s, err := sourceOf(p)
		if err != nil {
			return nil, nil, fmt.Errorf("initrd cache: %w", err)
		}
		m.Sources = append(m.Sources, s)
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return nil, nil, err
	}
	// The archive first, then its manifest: a reader takes an entry only
	// with both, and whichever of two concurrent runs renames last wins
	// with an archive and manifest of the same inputs.
	if err := os.Rename(tmp.Name(), ap); err != nil {
		return nil, nil, fmt.Errorf("initrd cache: %w", err)
	}
	done = true
	if err := writeAtomic(c.dir, mp, mb); err != nil {
		tmp.Close()
		return nil, nil, err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return nil, nil, err
	}
	c.evict(ap)
	return tmp, m, nil
}

// writeAtomic writes data to name through a temporary file in dir.
func writeAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, ".tmp-*.json")
	if err != nil {
		return fmt.Errorf("initrd cache: %w", err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("initrd cache: %w", err)
	}
	return nil
}

// staleTemp is the age past which a temporary file is a dead run's.
const staleTemp = time.Hour

// evict removes the least recently used entries until the cache holds
// at most c.max bytes, never keep (the entry just stored), and the
// temporary files of runs that died.
func (c *Cache) evict(keep string) {
	ents, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	type item struct {
		archive string
		size    int64
		mtime   time.Time
	}
	var items []item
	var total int64
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		p := filepath.Join(c.dir, e.Name())
		switch {
		case strings.HasPrefix(e.Name(), ".tmp-"):
			if time.Since(fi.ModTime()) > staleTemp {
				os.Remove(p)
			}
		case strings.HasSuffix(e.Name(), ".cpio"):
			items = append(items, item{p, fi.Size(), fi.ModTime()})
			total += fi.Size()
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].mtime.Before(items[j].mtime) })
	for _, it := range items {
		if total <= c.max {
			break
		}
		if it.archive == keep {
			continue
		}
		// The manifest first: without it the archive is no entry.
		os.Remove(strings.TrimSuffix(it.archive, ".cpio") + ".json")
		if err := os.Remove(it.archive); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= it.size
		}
	}
}
