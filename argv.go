package main

import "golang.org/x/sys/unix"

// argvPath is the file of the initrd that may hold the program and its
// arguments (chrootvm writes it): any bytes but NUL, of any length,
// where the kernel command line allows no double quote, no newline and
// no more than a few kilobytes. It is read before the switch root
// deletes it.
var argvPath = "/init.argv"

// readArgv replaces the program and its arguments of the command line
// (init= and the words after --) with those of argvPath, when the
// initrd has that file.
func readArgv(c *config) error {
	data, err := readFile(argvPath)
	if err == unix.ENOENT {
		return nil // osbuild's initrds have none
	}
	if err != 0 {
		return fail("read", argvPath, err)
	}
	prog, args, why := parseArgv(data)
	if why != "" {
		return errorString(argvPath + ": " + why)
	}
	c.init, c.args = prog, args
	return nil
}

// parseArgv splits the contents of argvPath: NUL-terminated strings, the
// program first, then its arguments, which may be empty. why says what
// is wrong with a malformed file.
func parseArgv(s string) (prog string, args []string, why string) {
	switch {
	case s == "":
		return "", nil, "empty: want the program and its arguments, each ending in NUL"
	case s[len(s)-1] != 0:
		return "", nil, "does not end in NUL"
	case s[0] == 0:
		return "", nil, "the program (its first string) is empty"
	}
	var strs []string
	for s != "" {
		i := indexByte(s, 0)
		strs = append(strs, s[:i])
		s = s[i+1:]
	}
	return strs[0], strs[1:], ""
}
