package initrdcache

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"virtinit/tools/internal/initrd"
)

// writeInit writes a fake /init binary.
func writeInit(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "init")
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// want is what a run's initrd must hold: the archive without Argv, then
// Argv's own.
func want(t *testing.T, o initrd.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	base := o
	base.Argv = nil
	if _, err := initrd.Build(&b, base); err != nil {
		t.Fatal(err)
	}
	if o.Argv != nil {
		extra, err := initrd.ArgvArchive(o.Argv)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(extra)
	}
	return b.Bytes()
}

func openCache(t *testing.T, max int64) *Cache {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "cache"), max)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// run writes the initrd of o through c into a new file and returns it.
func run(t *testing.T, c *Cache, o initrd.Options) ([]byte, *Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "initrd")
	res, err := c.WriteInitrd(out, o)
	if err != nil {
		t.Fatalf("WriteInitrd: %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b, res
}

// TestHit: the first run builds and stores, the next with the same
// inputs hits, whatever its program; each gets the archive it would have
// been built, its own /init.argv last.
func TestHit(t *testing.T) {
	c := openCache(t, DefaultMax)
	o := initrd.Options{Init: writeInit(t, "#!init 1"), Argv: []string{"/bin/true"}}
	got, res := run(t, c, o)
	if res.Hit {
		t.Errorf("first run: Hit = true, want a miss")
	}
	if !bytes.Equal(got, want(t, o)) {
		t.Errorf("first run: the initrd differs from Build's without Argv plus ArgvArchive")
	}
	o.Argv = []string{"/bin/echo", "a b", ""}
	got, res2 := run(t, c, o)
	if !res2.Hit || res2.Key != res.Key {
		t.Errorf("second run, another program: Hit = %v, key %s; want a hit of %s", res2.Hit, res2.Key, res.Key)
	}
	if !bytes.Equal(got, want(t, o)) {
		t.Errorf("second run: the initrd differs from Build's without Argv plus ArgvArchive")
	}
	if res2.Report == nil {
		t.Errorf("a hit has no Report")
	}
}

// TestKey: every input but the program changes the key.
func TestKey(t *testing.T) {
	init := writeInit(t, "#!init")
	base := initrd.Options{Init: init, Argv: []string{"/a"}}
	k0, err := keyOf(base)
	if err != nil {
		t.Fatal(err)
	}
	same := base
	same.Argv = []string{"/b", "c"}
	if k, _ := keyOf(same); k != k0 {
		t.Errorf("keyOf with another Argv = %s, want %s", k, k0)
	}
	other := writeInit(t, "#!init, rebuilt")
	changes := map[string]initrd.Options{
		"another init":     {Init: other},
		"a transport":      {Init: init, Transport: "mmio"},
		"a module":         {Init: init, Modules: []string{"overlay"}},
		"stripped":         {Init: init, StripSignatures: true},
		"compressed":       {Init: init, Compress: "gzip"},
		"an epoch":         {Init: init, Epoch: 1},
		"an extra file":    {Init: init, Extra: []initrd.File{{Name: "pad", Mode: 0o100644}}},
		"a modules tree":   {Init: init, ModulesDir: t.TempDir()},
		"two fields glued": {Init: init, Modules: []string{"a", "b"}},
	}
	seen := map[string]string{k0: "the base"}
	for name, o := range changes {
		k, err := keyOf(o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if prev, ok := seen[k]; ok {
			t.Errorf("%s: key %s, the same as %s's", name, k, prev)
		}
		seen[k] = name
	}
	glued, _ := keyOf(initrd.Options{Init: init, Modules: []string{"ab"}})
	if prev, ok := seen[glued]; ok {
		t.Errorf("Modules [ab] has the key of %s", prev)
	}
}

// TestTreeChanged: a module tree whose index files change (a kernel
// package updated, depmod run again) gives another key.
func TestTreeChanged(t *testing.T) {
	dir := t.TempDir()
	dep := filepath.Join(dir, "modules.dep")
	if err := os.WriteFile(dep, []byte("a.ko:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := initrd.Options{Init: writeInit(t, "#!init"), ModulesDir: dir}
	k1, err := keyOf(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dep, []byte("a.ko:\nb.ko:\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if k2, _ := keyOf(o); k2 == k1 {
		t.Errorf("keyOf after modules.dep changed = %s, the same as before", k2)
	}
}

// TestSourceChanged: an entry whose module file changed since is no hit.
func TestSourceChanged(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.ko")
	if err := os.WriteFile(p, []byte("module"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := sourceOf(p)
	if err != nil {
		t.Fatal(err)
	}
	m := manifest{Sources: []source{s}}
	if !m.unchanged() {
		t.Fatalf("unchanged() = false for an untouched file")
	}
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	if m.unchanged() {
		t.Errorf("unchanged() = true after the module file's time changed")
	}
	os.Remove(p)
	if m.unchanged() {
		t.Errorf("unchanged() = true after the module file was removed")
	}
}

// TestShortArchive: an archive shorter than its manifest says (a crash
// before the unsynced data reached the disk) is a miss, built again.
func TestShortArchive(t *testing.T) {
	c := openCache(t, DefaultMax)
	o := initrd.Options{Init: writeInit(t, "#!init"), Argv: []string{"/x"}}
	_, res := run(t, c, o)
	ap, _ := c.paths(res.Key)
	if err := os.Truncate(ap, 100); err != nil {
		t.Fatal(err)
	}
	got, res := run(t, c, o)
	if res.Hit {
		t.Errorf("a truncated entry was a hit")
	}
	if !bytes.Equal(got, want(t, o)) {
		t.Errorf("the initrd after a truncated entry is wrong")
	}
}

// TestPrivate: the directory is the user's alone, whatever mode it had,
// and so are the entries and a run's file.
func TestPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o777) // past the umask
	c, err := Open(dir, DefaultMax)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("cache directory mode %v, want 0700", fi.Mode().Perm())
	}
	out := filepath.Join(t.TempDir(), "initrd")
	res, err := c.WriteInitrd(out, initrd.Options{Init: writeInit(t, "#!init"), Argv: []string{"/x"}})
	if err != nil {
		t.Fatal(err)
	}
	ap, mp := c.paths(res.Key)
	for _, p := range []string{ap, mp, out} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v: others may read it", p, fi.Mode().Perm())
		}
	}
	if _, err := c.WriteInitrd(out, initrd.Options{Init: writeInit(t, "#!init"), Argv: []string{"/x"}}); !errors.Is(err, os.ErrExist) {
		t.Errorf("WriteInitrd over an existing file: %v, want it refused (ErrExist)", err)
	}
}

// TestEvict: past its bound, the cache drops the least recently used
// entries, a hit counting as a use, and never the entry just stored.
func TestEvict(t *testing.T) {
	pad := initrd.File{Name: "pad", Mode: 0o100644, Data: bytes.Repeat([]byte{1}, 10000)}
	inits := []string{writeInit(t, "#!a"), writeInit(t, "#!b"), writeInit(t, "#!c")}
	c := openCache(t, 25000) // two entries of some 10 KB fit, not three
	var keys []string
	for i, init := range inits {
		_, res := run(t, c, initrd.Options{Init: init, Extra: []initrd.File{pad}, Argv: []string{"/x"}})
		keys = append(keys, res.Key)
		// Distinct mtimes, however coarse the file system's clock.
		ap, _ := c.paths(res.Key)
		at := time.Now().Add(time.Duration(i-10) * time.Minute)
		os.Chtimes(ap, at, at)
	}
	// All three stored; the first went when the third came.
	exists := func(k string) bool {
		ap, _ := c.paths(k)
		_, err := os.Stat(ap)
		return err == nil
	}
	if exists(keys[0]) || !exists(keys[1]) || !exists(keys[2]) {
		t.Fatalf("after three stores: entries %v %v %v exist, want false true true", exists(keys[0]), exists(keys[1]), exists(keys[2]))
	}
	// A hit on the second makes the third the oldest.
	if _, res := run(t, c, initrd.Options{Init: inits[1], Extra: []initrd.File{pad}, Argv: []string{"/y"}}); !res.Hit {
		t.Fatalf("the second entry was no hit")
	}
	_, res := run(t, c, initrd.Options{Init: writeInit(t, "#!d"), Extra: []initrd.File{pad}, Argv: []string{"/x"}})
	if !exists(keys[1]) || exists(keys[2]) || !exists(res.Key) {
		t.Errorf("after a hit on the second and a fourth store: second %v, third %v, fourth %v; want true false true", exists(keys[1]), exists(keys[2]), exists(res.Key))
	}
	// An entry larger than the bound stays while it is the newest.
	c.max = 1
	_, res = run(t, c, initrd.Options{Init: writeInit(t, "#!e"), Extra: []initrd.File{pad}, Argv: []string{"/x"}})
	if !exists(res.Key) {
		t.Errorf("the entry just stored was evicted")
	}
	ents, _ := os.ReadDir(c.Dir())
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".cpio") && !strings.HasPrefix(e.Name(), res.Key) {
			t.Errorf("%s left in a cache bounded to 1 byte", e.Name())
		}
	}
}

// TestConcurrent: runs that store the same entry at once each get a
// complete, correct initrd, and leave no temporary file behind.
func TestConcurrent(t *testing.T) {
	c := openCache(t, DefaultMax)
	init := writeInit(t, "#!init "+strings.Repeat("x", 100000))
	var wg sync.WaitGroup
	errs := make([]error, 8)
	outs := make([]string, 8)
	for i := range errs {
		outs[i] = filepath.Join(t.TempDir(), "initrd")
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, errs[i] = c.WriteInitrd(outs[i], initrd.Options{Init: init, Argv: []string{"/run", string(rune('a' + i))}})
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
		got, _ := os.ReadFile(outs[i])
		if !bytes.Equal(got, want(t, initrd.Options{Init: init, Argv: []string{"/run", string(rune('a' + i))}})) {
			t.Errorf("run %d: wrong initrd", i)
		}
	}
	ents, _ := os.ReadDir(c.Dir())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

// TestBuildError: Build's errors come back as they are, and nothing is
// stored.
func TestBuildError(t *testing.T) {
	c := openCache(t, DefaultMax)
	_, err := c.WriteInitrd(filepath.Join(t.TempDir(), "initrd"), initrd.Options{Init: writeInit(t, "#!init"), Modules: []string{"overlay"}})
	if !errors.Is(err, initrd.ErrNoModule) {
		t.Errorf("WriteInitrd with a module and no tree: %v, want initrd.ErrNoModule", err)
	}
	ents, _ := os.ReadDir(c.Dir())
	if len(ents) != 0 {
		t.Errorf("the cache holds %d files after a failed build", len(ents))
	}
}
