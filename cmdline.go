package main

// cmdlinePath is where the kernel command line is read; a package variable
// so tests can point it elsewhere.
var cmdlinePath = "/proc/cmdline"

// share is one virtiofs tag to mount under /run/mnt/TAG.
type share struct {
	tag      string
	readOnly bool
	_        noCompare
}

// noCompare makes a struct type incomparable, so the compiler emits no
// equality function for it: bytes the size budget would rather keep.
type noCompare [0]func()

// config is what the command line asks of /init.
type config struct {
	rootTag   string
	shares    []share
	init      string   // the program to exec in the new root
	args      []string // the words after a lone "--"
	debug     bool
	emergency string // "poweroff", "reboot" or "halt"
	supervise string // "" (exec as PID 1), "console", "ports" or "tty"
	overlay   bool   // rd.overlay: the root is an overlay on a tmpfs
	// overlaySize is rd.overlay=SIZE, the tmpfs's size= ("" its default).
	overlaySize string
	timeout     int      // seconds to wait for a virtiofs tag
	hostname    string   // hostname=, or ip='s hostname field: "" leaves the kernel's
	ip          ipConfig // ip=
	words       []string // every word before "--": paramsFor looks there
	env         []string // the kernel's environment for /init
}

// defaultConfig is what an empty command line means.
func defaultConfig() *config {
	return &config{rootTag: "rootfs", init: "/bin/sh", emergency: "poweroff", timeout: 10}
}

// splitCmdline splits a command line the way the kernel's next_arg does
// (lib/cmdline.c, kernel/params.c): words are separated by whitespace
// outside double quotes, and unquote removes the quotes the kernel
// removes. The words after the first lone `--` are returned as rest.
func splitCmdline(s string) (words, rest []string) {
	dashes := -1 // where rest starts in words
	for {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if s == "" {
			break
		}
		inQuote := false
		i := 0
		for ; i < len(s) && (inQuote || !isSpace(s[i])); i++ {
			if s[i] == '"' {
				inQuote = !inQuote
			}
		}
		w := unquote(s[:i])
		s = s[i:]
		if w == "--" && dashes < 0 {
			dashes = len(words)
			continue
		}
		words = append(words, w)
	}
	switch dashes {
	case -1:
		return words, nil
	case 0:
		return nil, words
	}
	return words[:dashes:dashes], words[dashes:]
}

// unquote removes a quote that opens the word or its value (`"k=v"`,
// `k="v"`) and the one that closes the word. Quotes inside stay.
func unquote(w string) string {
	quoted := false
	if w != "" && w[0] == '"' {
		w, quoted = w[1:], true
	}
	if i := indexByte(w, '='); i >= 0 && i+1 < len(w) && w[i+1] == '"' {
		w, quoted = w[:i+1]+w[i+2:], true
	}
	if quoted && w != "" && w[len(w)-1] == '"' {
		w = w[:len(w)-1]
	}
	return w
}

// parseCmdline fills c, which holds the defaults, from the command line.
// Errors name the word at fault; the caller treats them as fatal.
func parseCmdline(s string, c *config) error {
	words, rest := splitCmdline(s)
	for _, w := range words {
		key, val, hasVal := cut(w)
		switch key {
		case "mount", "mount-ro":
			c.shares = append(c.shares, share{tag: val, readOnly: key == "mount-ro"})
		case "init":
			if val == "" {
				return errorString("init= is empty")
			}
			c.init = val
		case "debug", "rd.debug":
			c.debug = true
		case "rd.emergency":
			switch val {
			case "poweroff", "reboot", "halt":
				c.emergency = val
			default:
				return errorString(w + ": want poweroff, reboot or halt")
			}
		case "rd.supervise":
			switch {
			case !hasVal:
				c.supervise = "console"
			case val == "console" || val == "ports" || val == "tty":
				c.supervise = val
			default:
				return errorString(w + ": want console, ports or tty")
			}
		case "rd.overlay":
			if hasVal && !validSize(val) {
				return errorString(w + ": want a size like 512m, 2g or 25%")
			}
			c.overlay, c.overlaySize = true, val
		case "hostname":
			// Newer kernels set the hostname from this word themselves
			// (init/version.c, early_hostname; Debian's 6.1 and 6.12
			// do, and keep it out of the environment), older ones
			// (RHEL 9's 5.14) do not: /init sets it on every kernel.
			if val == "" || len(val) > hostNameMax {
				return errorString(w + ": want a name of 1 to 64 bytes")
			}
			c.hostname = val
		case "ip":
			if !parseIP(val, c) {
				return errorString(w + ipForm)
			}
		case "rd.timeout":
			n, ok := atoi(val)
			if !ok {
				return errorString(w + ": want a number of seconds")
			}
			c.timeout = n
		}
	}
	// osbuild passes `rootfstype=virtiofs root=rootfs`; rootfs= wins
	// where both are given, and root= of any other type is not ours.
	if tag, ok := lookup(words, "rootfs="); ok {
		c.rootTag = tag
	} else if root, _ := lookup(words, "root="); root != "" {
		if t, _ := lookup(words, "rootfstype="); t == "virtiofs" {
			c.rootTag = root
		}
	}
	c.args, c.words = rest, words
	return validateTags(c)
}

// lookup returns the value of the last word that starts with prefix.
//
//go:noinline (three calls; one copy is smaller)
func lookup(words []string, prefix string) (val string, ok bool) {
	for _, w := range words {
		if len(w) >= len(prefix) && w[:len(prefix)] == prefix {
			val, ok = w[len(prefix):], true
		}
	}
	return val, ok
}

// maxTagLen is the size of the tag field in struct virtio_fs_config
// (include/uapi/linux/virtio_fs.h).
const maxTagLen = 36

// validateTags checks every tag: it becomes a directory name under
// /run/mnt, so it must be a plain, short, unique name.
func validateTags(c *config) error {
	all := append([]share{{tag: c.rootTag}}, c.shares...)
	for i, s := range all {
		why := ""
		switch {
		case s.tag == "":
			why = " is empty"
		case len(s.tag) > maxTagLen:
			why = " is longer than " + itoa(maxTagLen) + " bytes"
		case s.tag == "." || s.tag == "..":
			why = " is not a name"
		case indexByte(s.tag, '/') >= 0:
			why = " contains '/'"
		}
		for _, o := range all[:i] {
			if o.tag == s.tag {
				why = " is given twice"
			}
		}
		if why != "" {
			param := "mount"
			switch {
			case i == 0:
				param = "rootfs"
			case s.readOnly:
				param = "mount-ro"
			}
			return errorString(param + "=" + s.tag + `: virtiofs tag "` + s.tag + `"` + why)
		}
	}
	return nil
}
