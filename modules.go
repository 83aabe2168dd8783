package main

import "golang.org/x/sys/unix"

// modulesDir holds the modules the initrd brings, named NNN-name.ko so that
// byte order is load order (mkvirtinitrd numbers them by dependency).
var modulesDir = "/usr/lib/modules"

// moduleSuffixes are the file names /init loads; the compressed ones need
// the kernel to decompress them (CONFIG_MODULE_DECOMPRESS, Linux 6.4+).
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// moduleFile describes one file of modulesDir: its kernel module name and
// whether it is compressed. ok is false for files that are not modules.
func moduleFile(file string) (name string, compressed, ok bool) {
	for i, s := range moduleSuffixes {
		if len(file) > len(s) && file[len(file)-len(s):] == s {
			return normalizeModule(stripOrder(file[:len(file)-len(s)])), i > 0, true
		}
	}
	return "", false, false
}

// stripOrder removes a leading "NNN-" load-order prefix.
func stripOrder(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s)-1 && s[i] == '-' {
		return s[i+1:]
	}
	return s
}

// normalizeModule maps '-' to '_': the kernel treats them as the same
// character in module names.
func normalizeModule(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			return s[:i] + "_" + normalizeModule(s[i+1:])
		}
	}
	return s
}

// sameModule compares module names as the kernel does, with '-' and '_'
// the same character.
func sameModule(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i] != b[i] && !(isDash(a[i]) && isDash(b[i])) {
			return false
		}
	}
	return true
}

func isDash(c byte) bool { return c == '-' || c == '_' }

// paramsFor collects the MODULE.PARAM=VALUE words for one module, in the
// form finit_module takes them ("a=1 b=2"). The kernel applies such words
// only to built-in modules; for a loadable one whoever loads it must pass
// them, as modprobe does.
func paramsFor(module string, words []string) string {
	s := ""
	for _, w := range words {
		key, val, _ := cut(w)
		dot := indexByte(key, '.')
		if dot <= 0 || dot == len(key)-1 || !sameModule(key[:dot], module) {
			continue
		}
		p := w[dot+1:]
		for i := 0; i < len(val); i++ {
			if isSpace(val[i]) {
				p = key[dot+1:] + `="` + val + `"` // quoted again, as it came
				break
			}
		}
		if s != "" {
			s += " "
		}
		s += p
	}
	return s
}

// loadModules loads every module in modulesDir in byte-wise name order. A
// module that fails to load is reported and skipped: the virtiofs mount
// that follows tells whether it mattered.
func loadModules(words []string) {
	names, err := readDirNames(modulesDir)
	if err == unix.ENOENT {
		return // an initrd for a kernel with everything built in
	}
	if err != 0 {
		warnErr("read", modulesDir, err)
		return
	}
	sortStrings(names)
	for _, file := range names {
		path := modulesDir + "/" + file
		name, compressed, ok := moduleFile(file)
		if !ok {
			warn("skip " + path + ": not a kernel module")
			continue
		}
		p := paramsFor(name, words)
		flags := 0
		if compressed {
			flags = unix.MODULE_INIT_COMPRESSED_FILE
		}
		t := now()
		fd, err := open(path, unix.O_RDONLY|unix.O_CLOEXEC)
		if err == 0 {
			_, err = sysStr(unix.SYS_FINIT_MODULE, uintptr(fd), p, uintptr(flags), 0)
			closeFD(fd)
		}
		switch err {
		case 0:
			debugf(t, "module", name, p)
		case unix.EEXIST:
			debugf(t, "module", name, "already loaded or built in")
		default:
			warn(failWhy("load module", name+" ("+path+")", err, moduleErr(err, compressed)).Error())
		}
	}
}

// moduleErr explains the errnos of finit_module(2) that have a cause worth
// naming (kernel/module/main.c, kernel/module/signing.c).
func moduleErr(err unix.Errno, compressed bool) string {
	why := ""
	switch {
	case compressed && (err == unix.EINVAL || err == unix.EOPNOTSUPP):
		// Kernels before 6.4 reject the unknown flag with EINVAL; later
		// ones without CONFIG_MODULE_DECOMPRESS answer EOPNOTSUPP.
		why = "the kernel cannot decompress modules: put it uncompressed into the initrd"
	case err == unix.EKEYREJECTED:
		why = "signatures enforced (module.sig_enforce or CONFIG_MODULE_SIG_FORCE): this one's is missing, stripped or untrusted"
	case err == unix.EPERM:
		why = "refused: kernel lockdown forbids unsigned modules, or no privilege"
	case err == unix.ENOEXEC:
		why = "not a module for this kernel (corrupt, or built for another)"
	}
	return why
}
