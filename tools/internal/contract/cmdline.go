package contract

import (
	"errors"
	"fmt"
	"strings"
)

// CommandLineSize is the kernel's limit on its command line, with the
// terminating NUL: COMMAND_LINE_SIZE in arch/x86/include/asm/setup.h and
// in arch/arm64/include/uapi/asm/setup.h alike.
const CommandLineSize = 2048

// Mount is one share /init mounts at SharesDir/TAG: mount=TAG, or
// mount-ro=TAG when ReadOnly.
type Mount struct {
	Tag      string
	ReadOnly bool
}

// Cmdline composes the kernel command line of a guest whose /init is
// virtinit's. Every field may be left empty. The words come in this
// order:
//
//	console=CONSOLE EXTRA... rootfs=ROOTTAG mount=TAG|mount-ro=TAG...
//	init=INIT debug|quiet loglevel=3 APPEND... -- ARGS...
//
// Values and arguments are quoted where the kernel needs it. The user's
// words (Append) come after all of ours, so that they win where the
// kernel or /init takes the last of a repeated parameter.
type Cmdline struct {
	Console string  // the guest's console (cpuarch.Arch.Console)
	RootTag string  // the root's virtiofs tag; "" leaves /init's default, RootTag
	Mounts  []Mount // mounted at SharesDir/TAG, read-only or not, in order
	Init    string  // the program /init runs; "" leaves /init's default
	// Debug asks the kernel and /init for their messages ("debug");
	// Quiet, unless Debug, hides the kernel's: "quiet loglevel=3", for
	// loglevel=3 hides KERN_ERR messages too, which "quiet" lets
	// through, like microvm's "PCI: Fatal: No config space access
	// function found" (it has no PCI bus).
	Debug, Quiet bool
	// Extra are the caller's own words, one parameter each
	// ("panic=-1", "rd.emergency=halt"), written as they are.
	Extra []string
	// Append are the user's words: each may hold several, written as
	// typed; blank ones are dropped.
	Append []string
	// Args are the program's arguments, after "--", one word each.
	Args []string
}

// String returns the command line, or an error naming what the kernel
// cannot carry.
func (c Cmdline) String() (string, error) {
	var w []string
	param := func(key, value string) error {
		q, err := QuoteWord(value)
		if err != nil {
			return fmt.Errorf("%s= %w", key, err)
		}
		w = append(w, key+"="+q)
		return nil
	}
	if c.Console != "" {
		w = append(w, "console="+c.Console)
	}
	w = append(w, c.Extra...)
	if c.RootTag != "" {
		if err := param(WordRootfs, c.RootTag); err != nil {
			return "", err
		}
	}
	for _, s := range c.Mounts {
		key := WordMount
		if s.ReadOnly {
			key = WordMountRO
		}
		if err := param(key, s.Tag); err != nil {
			return "", err
		}
	}
	if c.Init != "" {
		if err := param(WordInit, c.Init); err != nil {
			return "", err
		}
	}
	switch {
	case c.Debug:
		w = append(w, WordDebug)
	case c.Quiet:
		w = append(w, "quiet", "loglevel=3")
	}
	for _, a := range c.Append {
		if a = strings.TrimSpace(a); a != "" {
			w = append(w, a)
		}
	}
	if len(c.Args) > 0 {
		w = append(w, "--")
		for _, a := range c.Args {
			if a == "--" {
				// The kernel stops reading init's arguments at a second
				// "--", quoted or not (kernel/params.c, parse_args).
				return "", errors.New(`an argument "--" cannot reach the program: the kernel drops it and what follows`)
			}
			q, err := QuoteWord(a)
			if err != nil {
				return "", fmt.Errorf("argument %w", err)
			}
			w = append(w, q)
		}
	}
	line := strings.Join(w, " ")
	if len(line) >= CommandLineSize {
		return "", fmt.Errorf("the kernel command line would be %d bytes, longer than the kernel takes (%d)", len(line), CommandLineSize-1)
	}
	return line, nil
}

// QuoteWord writes one word, or one parameter's value, of the kernel
// command line. The kernel splits at white space and lets double quotes
// group a word (lib/cmdline.c, next_arg), but has no escape: a word
// cannot contain a double quote, and a newline is refused too, since it
// would end the line for readers of /proc/cmdline.
func QuoteWord(a string) (string, error) {
	if strings.ContainsAny(a, "\"\n") {
		return "", fmt.Errorf("%q contains a double quote or a newline, which the kernel command line cannot carry", a)
	}
	if a == "" || HasSpace(a) {
		return `"` + a + `"`, nil
	}
	return a, nil
}

// HasSpace tells whether s holds a byte the kernel takes for white space
// (isSpace).
func HasSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) {
			return true
		}
	}
	return false
}

// OsbuildWords are the words of osbuild's build VM's command line besides
// console=, its mounts and init= (docs/facts.md, "osbuild's build VM"):
// its root is the tag rootfs, named by root= with rootfstype=virtiofs.
func OsbuildWords() []string {
	return []string{"quiet", "selinux=1", "enforcing=0", "rootfstype=virtiofs", WordRoot + "=" + RootTag, "ro"}
}

// SplitCmdline splits a kernel command line into words as the kernel
// does (lib/cmdline.c, next_arg) and /init does after it: words are
// separated by whitespace (isSpace) outside double quotes; a quote that opens the
// word or its value (`"k=v"`, `k="v"`) and the one that closes the word
// are removed. The words after the first lone "--" are init's arguments,
// returned as rest. testdata/cmdline-words.json holds the rules, for
// /init's tests and these.
func SplitCmdline(s string) (words, rest []string) {
	dashes := -1
	for {
		for len(s) > 0 && isSpace(s[0]) {
			s = s[1:]
		}
		if s == "" {
			break
		}
		inQuote, i := false, 0
		for ; i < len(s) && (inQuote || !isSpace(s[i])); i++ {
			if s[i] == '"' {
				inQuote = !inQuote
			}
		}
		w := unquoteWord(s[:i])
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

// isSpace is the kernel's isspace (lib/ctype.c): space, \t to \r, and
// 0xA0, Latin-1's no-break space, also the second byte of UTF-8's U+00A0.
func isSpace(c byte) bool {
	return c == ' ' || c >= '\t' && c <= '\r' || c == 0xa0
}

// unquoteWord removes the quotes the kernel removes from one word.
func unquoteWord(w string) string {
	quoted := false
	if strings.HasPrefix(w, `"`) {
		w, quoted = w[1:], true
	}
	if k, v, ok := strings.Cut(w, "="); ok && strings.HasPrefix(v, `"`) {
		w, quoted = k+"="+v[1:], true
	}
	if quoted && strings.HasSuffix(w, `"`) {
		w = w[:len(w)-1]
	}
	return w
}
