package main

// cmdlinePath is where the kernel command line is read; a package variable
// so tests can point it elsewhere.
var cmdlinePath = "/proc/cmdline"

// share is one virtiofs tag to mount under /run/mnt/TAG.
type share struct {
	tag      string
	readOnly bool
}

// modParam is one `MODULE.PARAM=VALUE` word, with MODULE normalized by
// moduleName's rules.
type modParam struct {
	module string
	param  string // "PARAM=VALUE", quoted again when VALUE has spaces
}

// config is what the command line asks of /init.
type config struct {
	rootTag   string
	shares    []share
	init      string   // the program to exec in the new root
	args      []string // the words after a lone "--"
	debug     bool
	emergency string // "poweroff", "reboot" or "halt"
	timeout   int    // seconds to wait for a virtiofs tag
	params    []modParam
	env       []string // the kernel's environment for /init
}

// defaultConfig is what an empty command line means.
func defaultConfig() config {
	return config{rootTag: "rootfs", init: "/bin/sh", emergency: "poweroff", timeout: 10}
}

// word is one command-line word split into its key and value, quotes
// removed as the kernel removes them.
type word struct {
	key, val string
	hasVal   bool
}

// splitCmdline splits a command line the way the kernel's next_arg does
// (lib/cmdline.c, kernel/params.c): words are separated by whitespace
// outside double quotes; a quote at the start of a word and its partner at
// the end are removed; in `key="value"` the quotes around the value are
// removed. Everything after a lone `--` is returned as rest.
func splitCmdline(s string) (words, rest []word) {
	dashes := false
	for {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if s == "" {
			return words, rest
		}
		inQuote := false
		i := 0
		for ; i < len(s); i++ {
			if isSpace(s[i]) && !inQuote {
				break
			}
			if s[i] == '"' {
				inQuote = !inQuote
			}
		}
		w := parseWord(s[:i])
		s = s[i:]
		switch {
		case dashes:
			rest = append(rest, w)
		case !w.hasVal && w.key == "--":
			dashes = true
		default:
			words = append(words, w)
		}
	}
}

func parseWord(raw string) word {
	quoted := len(raw) > 0 && raw[0] == '"'
	if quoted {
		raw = raw[1:]
	}
	var w word
	eq := -1
	for i := 0; i < len(raw); i++ {
		if raw[i] == '=' {
			eq = i
			break
		}
	}
	if eq < 0 {
		w.key = raw
	} else {
		w.key, w.val, w.hasVal = raw[:eq], raw[eq+1:], true
		if len(w.val) > 0 && w.val[0] == '"' {
			w.val = w.val[1:]
			quoted = true
		}
	}
	if quoted {
		// The closing quote ends the whole word, so it is on the value
		// when there is one and on the key otherwise.
		if w.hasVal {
			w.val = trimQuote(w.val)
		} else {
			w.key = trimQuote(w.key)
		}
	}
	return w
}

func trimQuote(s string) string {
	if len(s) > 0 && s[len(s)-1] == '"' {
		return s[:len(s)-1]
	}
	return s
}

// String gives the word back as the kernel hands it to init: KEY or
// KEY=VALUE, quotes removed.
func (w word) String() string {
	if w.hasVal {
		return w.key + "=" + w.val
	}
	return w.key
}

func isSpace(c byte) bool {
	// The kernel's isspace: space, \t \n \v \f \r.
	return c == ' ' || (c >= '\t' && c <= '\r')
}

// parseCmdline turns the command line into a config. Errors name the word
// at fault; the caller treats them as fatal.
func parseCmdline(s string) (config, error) {
	c := defaultConfig()
	words, rest := splitCmdline(s)
	var root, rootType string
	rootfsSet := false
	for _, w := range words {
		switch w.key {
		case "rootfs":
			c.rootTag, rootfsSet = w.val, true
		case "root":
			root = w.val
		case "rootfstype":
			rootType = w.val
		case "mount":
			c.shares = append(c.shares, share{tag: w.val})
		case "mount-ro":
			c.shares = append(c.shares, share{tag: w.val, readOnly: true})
		case "init":
			if w.val == "" {
				return c, errorString("init= is empty")
			}
			c.init = w.val
		case "debug", "rd.debug":
			c.debug = true
		case "rd.emergency":
			switch w.val {
			case "poweroff", "reboot", "halt":
				c.emergency = w.val
			default:
				return c, errorString("rd.emergency=" + w.val + ": want poweroff, reboot or halt")
			}
		case "rd.timeout":
			n, ok := atoi(w.val)
			if !ok {
				return c, errorString("rd.timeout=" + w.val + ": want a number of seconds")
			}
			c.timeout = n
		default:
			if p, ok := moduleParam(w); ok {
				c.params = append(c.params, p)
			}
		}
	}
	// osbuild passes `rootfstype=virtiofs root=rootfs`; rootfs= wins
	// where both are given, and root= of any other type is not ours.
	if !rootfsSet && rootType == "virtiofs" && root != "" {
		c.rootTag = root
	}
	for _, w := range rest {
		c.args = append(c.args, w.String())
	}
	return c, validateTags(c)
}

// moduleParam recognises MODULE.PARAM=VALUE. The kernel keeps such words
// to itself and applies them only to built-in modules; for a loadable
// module whoever loads it must pass them, as modprobe does.
func moduleParam(w word) (modParam, bool) {
	dot := -1
	for i := 0; i < len(w.key); i++ {
		if w.key[i] == '.' {
			dot = i
			break
		}
	}
	if dot <= 0 || dot == len(w.key)-1 || w.key[:dot] == "rd" {
		return modParam{}, false
	}
	p := w.key[dot+1:]
	if w.hasVal {
		v := w.val
		if hasSpace(v) {
			v = `"` + v + `"`
		}
		p += "=" + v
	}
	return modParam{module: normalizeModule(w.key[:dot]), param: p}, true
}

func hasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return true
		}
	}
	return false
}

// maxTagLen is the size of the tag field in struct virtio_fs_config
// (include/uapi/linux/virtio_fs.h).
const maxTagLen = 36

// validateTags checks every tag: it becomes a directory name under
// /run/mnt, so it must be a plain, short, unique name.
func validateTags(c config) error {
	seen := []string{c.rootTag}
	if err := validateTag("rootfs", c.rootTag); err != nil {
		return err
	}
	for _, s := range c.shares {
		param := "mount"
		if s.readOnly {
			param = "mount-ro"
		}
		if err := validateTag(param, s.tag); err != nil {
			return err
		}
		for _, t := range seen {
			if t == s.tag {
				return errorString(param + "=" + s.tag + `: virtiofs tag "` + s.tag + `" is given twice`)
			}
		}
		seen = append(seen, s.tag)
	}
	return nil
}

func validateTag(param, tag string) error {
	why := ""
	switch {
	case tag == "":
		why = "empty virtiofs tag"
	case len(tag) > maxTagLen:
		why = `virtiofs tag "` + tag + `" is longer than ` + itoa(maxTagLen) + " bytes"
	case tag == "." || tag == "..":
		why = `virtiofs tag "` + tag + `" is not a name`
	default:
		for i := 0; i < len(tag); i++ {
			if tag[i] == '/' {
				why = `virtiofs tag "` + tag + `" contains '/'`
				break
			}
		}
	}
	if why == "" {
		return nil
	}
	return errorString(param + "=" + tag + ": " + why)
}
