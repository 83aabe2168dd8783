package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tempPrefix names chrootvm's temporary directories, $TMPDIR/chrootvm-*:
// the initrd of the run and the sockets of its ports and daemons. A run
// removes its own on every exit it sees. A chrootvm killed by SIGKILL
// cannot, so every run first removes those whose chrootvm is gone
// (cleanStale).
const tempPrefix = "chrootvm-"

// tempMarker is a file in every directory makeTempDir makes: cleanStale
// removes only directories that hold it, so that a directory of the
// user's that happens to be named chrootvm-* is never touched.
const tempMarker = ".chrootvm-run"

// isTempName tells whether name is one makeTempDir gives: tempPrefix and
// os.MkdirTemp's decimal digits.
func isTempName(name string) bool {
	digits, ok := strings.CutPrefix(name, tempPrefix)
	return ok && digits != "" && strings.Trim(digits, "0123456789") == ""
}

// tempDir is this run's temporary directory. It holds an exclusive
// flock(2) on the directory for the life of the process: the kernel
// drops it when the process ends, however it ends, and that tells the
// next run the directory is stale.
type tempDir struct {
	path string
	lock *os.File
}

// makeTempDir makes the directory under a name no cleaner looks at,
// locks it, then gives it its real name: a run that cleans up at the same
// moment never sees it unlocked.
func makeTempDir(tmp string) (*tempDir, error) {
	fresh, err := os.MkdirTemp(tmp, "."+tempPrefix+"new-")
	if err != nil {
		return nil, err
	}
	lock, err := os.Open(fresh)
	if err == nil {
		err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != nil {
			lock.Close()
		}
	}
	if err != nil {
		os.RemoveAll(fresh)
		return nil, &os.PathError{Op: "lock", Path: fresh, Err: err}
	}
	if err := os.WriteFile(filepath.Join(fresh, tempMarker), []byte("a chrootvm run's directory, removed when no process holds its lock\n"), 0o600); err != nil {
		lock.Close()
		os.RemoveAll(fresh)
		return nil, err
	}
	unique := strings.TrimPrefix(filepath.Base(fresh), "."+tempPrefix+"new-")
	path := filepath.Join(filepath.Dir(fresh), tempPrefix+unique)
	if err := os.Rename(fresh, path); err != nil {
		lock.Close()
		os.RemoveAll(fresh)
		return nil, err
	}
	return &tempDir{path: path, lock: lock}, nil
}

// remove deletes the directory and drops the lock.
func (d *tempDir) remove() {
	os.RemoveAll(d.path)
	d.lock.Close()
}

// cleanStale removes the temporary directories in tmp that a chrootvm of
// this user left behind when it was killed: those named as makeTempDir
// names them, holding its marker, that nobody holds a lock on.
// It returns the directories it removed.
func cleanStale(tmp string) []string {
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() || !isTempName(e.Name()) {
			continue
		}
		path := filepath.Join(tmp, e.Name())
		fi, err := os.Lstat(path)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
			continue
		}
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		// Only chrootvm's own (the marker); EWOULDBLOCK: its chrootvm
		// is running.
		mst, err := os.Lstat(filepath.Join(path, tempMarker))
		mine := err == nil && mst.Mode().IsRegular()
		if mine && syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			if os.RemoveAll(path) == nil {
				removed = append(removed, path)
			}
		}
		syscall.Close(fd)
	}
	return removed
}
