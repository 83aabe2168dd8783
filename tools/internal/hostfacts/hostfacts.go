// Package hostfacts keeps facts about the host that take time to learn
// and change rarely (the rate of its TSC, the dialect of a virtiofsd) in
// the user's cache directory, each with the key it holds for: the next
// run reads them instead of learning them again, as long as the key is
// the same.
//
// A fact is one small file, virtinit/host/NAME in the user's cache
// directory, holding its key and its value on two lines. It is written
// to a temporary file and renamed into place, so concurrent runs read
// either the old fact or the new one; the directory is private (0700).
// Failing to read or write a fact only costs the time to learn it again.
package hostfacts

import (
	"os"
	"path/filepath"
	"strings"
)

// dir is where the facts are; "" until first used.
var dir string

// Dir is virtinit/host in the user's cache directory ($XDG_CACHE_HOME,
// else ~/.cache), or "" when there is none.
func Dir() string {
	if dir != "" {
		return dir
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "virtinit", "host")
}

// Load returns the value of the fact name stored for key.
func Load(name, key string) (string, bool) {
	d := Dir()
	if d == "" || !valid(name, key) {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(d, name))
	if err != nil {
		return "", false
	}
	k, v, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), "\n")
	if !ok || k != key || strings.Contains(v, "\n") {
		return "", false
	}
	return v, true
}

// Store keeps value as the fact name for key. Errors are dropped: the
// fact is learnt again next time.
func Store(name, key, value string) {
	d := Dir()
	if d == "" || !valid(name, key) || strings.Contains(value, "\n") {
		return
	}
	if err := os.MkdirAll(d, 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(d, ".tmp-"+name+"-*")
	if err != nil {
		return
	}
	_, err = f.WriteString(key + "\n" + value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d, name))
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

// valid rejects a name that is not one file name, and a key of more
// than one line.
func valid(name, key string) bool {
	return name != "" && !strings.ContainsAny(name, "/\n") && name[0] != '.' && !strings.Contains(key, "\n")
}
