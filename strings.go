package main

// The string and number helpers of /init: a few lines each instead of
// strconv, strings and sort, which the size budget keeps out.

// msec formats microseconds as milliseconds with three decimals.
func msec(us int64) string {
	if us < 0 {
		return "-" + msec(-us)
	}
	frac := itoa(1000 + us%1000) // leading 1 keeps the zeros
	return itoa(us/1000) + "." + frac[1:]
}

// itoa formats an integer in decimal.
func itoa(v int64) string {
	if v < 0 {
		return "-" + itoa(-v)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	return string(b[i:])
}

// atoi parses a non-negative decimal integer; ok is false for anything else
// (empty, signs, other characters, overflow).
func atoi(s string) (v int, ok bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// cut splits a word at its first '='.
func cut(w string) (key, val string, hasVal bool) {
	if i := indexByte(w, '='); i >= 0 {
		return w[:i], w[i+1:], true
	}
	return w, "", false
}

// indexByte returns the index of the first c in s, or -1.
//
//go:noinline (called from many places; one copy is smaller)
func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

// isSpace is the kernel's isspace: space, \t \n \v \f \r, and 0xA0,
// Latin-1's no-break space (lib/ctype.c), which a command line given as
// UTF-8 holds as the second byte of U+00A0.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0xa0
}

// split cuts s at every sep and drops the empty pieces.
//
//go:noinline (inlined, its appends grow the caller by a copy helper)
func split(s string, sep byte) []string {
	out := make([]string, 0, 16)
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == sep {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// baseName returns the last element of a slash-separated path.
func baseName(p string) string {
	i := len(p)
	for i > 0 && p[i-1] != '/' {
		i--
	}
	return p[i:]
}

// join joins a directory and a name with one slash.
func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// trimNewline removes the newlines and NULs that end a kernel file.
func trimNewline(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == 0) {
		s = s[:len(s)-1]
	}
	return s
}

// sortStrings sorts byte-wise. An insertion sort: a module directory holds
// a handful of names, and package sort or slices would add kilobytes.
func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
