package main

import (
	"errors"
	"os"

	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/initrdcache"
)

// cachedInitrd writes the run's initrd to path through the initrd cache
// in the user's cache directory (initrdcache: a run with the same
// /init, kernel and options as an earlier one copies that one's archive
// and appends its own /init.argv). It returns false where the cache
// cannot be used (no home directory, a read-only one): writeInitrd then
// builds the initrd itself. $VIRTINIT_INITRD_CACHE names another cache
// directory; "off" builds every initrd anew.
func (e *execution) cachedInitrd(path string) (bool, error) {
	dir := os.Getenv(initrdCacheEnv)
	var err error
	if dir == "" {
		dir, err = initrdcache.DefaultDir()
	}
	if dir == "off" {
		return false, nil
	}
	if err == nil {
		var c *initrdcache.Cache
		if c, err = initrdcache.Open(dir, initrdcache.DefaultMax); err == nil {
			var res *initrdcache.Result
			if res, err = c.WriteInitrd(path, e.p.initrd); err == nil {
				e.debugf("initrd %s of the cache %s (hit: %v), modules %s, built in %s", res.Key[:12], dir, res.Hit,
					joinOrNone(res.Report.Modules), joinOrNone(res.Report.Builtin))
				return true, nil
			}
			if errors.Is(err, initrd.ErrNoModule) || errors.Is(err, initrd.ErrBadModule) {
				// The tree's fault: building without the cache
				// would fail the same way.
				return true, &prefixError{"build the initrd: ", err}
			}
			os.Remove(path) // what the cache wrote of it
		}
	}
	e.debugf("initrd cache: %v; building the initrd without the cache", err)
	return false, nil
}

// initrdCacheEnv names the initrd cache's directory, or "off".
const initrdCacheEnv = "VIRTINIT_INITRD_CACHE"
