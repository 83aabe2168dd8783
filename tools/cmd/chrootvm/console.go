package main

import (
	"bytes"
	"io"
	"strings"

	"virtinit/tools/internal/vm"
)

// endReports begin the kernel's report of a normal end of the guest, as
// vm knows them. The kernel prints them at KERN_EMERG, past "quiet", and
// after a panic a stack dump follows.
var endReports = vm.NormalEndReports()

// quietEnd passes the guest's console through to w, but drops everything
// from the kernel's report of a normal end on, so that chrootvm's output
// is the program's, as with chroot(1). Other panics are passed on: they
// are news. A report may begin at a line start or, with its printk
// timestamp, in the middle of a line the program left unfinished; the
// text that could be such a beginning is held back until it is known.
type quietEnd struct {
	w     io.Writer
	held  []byte
	start bool // the next byte may begin a report
	done  bool
}

func newQuietEnd(w io.Writer) *quietEnd {
	return &quietEnd{w: w, start: true}
}

func (q *quietEnd) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 && !q.done {
		if len(q.held) == 0 && !q.start {
			i := bytes.IndexAny(p, "[\n")
			switch {
			case i < 0:
				q.w.Write(p)
				return n, nil
			case p[i] == '\n':
				q.w.Write(p[:i+1])
				p = p[i+1:]
			default:
				q.w.Write(p[:i])
				p = p[i:]
			}
			q.start = true
			continue
		}
		q.held = append(q.held, p[0])
		p = p[1:]
		switch matchReport(q.held) {
		case matchFull:
			q.done = true
			q.held = nil
		case matchNone:
			// All but the last byte are plain output; the last one may
			// begin the next candidate.
			last := q.held[len(q.held)-1]
			q.w.Write(q.held[:len(q.held)-1])
			q.held = q.held[:0]
			q.start = false
			switch last {
			case '\n':
				q.w.Write([]byte{last})
				q.start = true
			case '[':
				q.held = append(q.held, last)
			default:
				q.w.Write([]byte{last})
			}
		}
	}
	return n, nil
}

// flush passes on what is held back, at the end of the output: it was
// not a report after all.
func (q *quietEnd) flush() {
	if !q.done && len(q.held) > 0 {
		q.w.Write(q.held)
		q.held = nil
	}
}

type match int

const (
	matchNone match = iota
	matchPrefix
	matchFull
)

// matchReport tells whether s, the text since a possible beginning,
// begins an end report ("[  1.234567] " and one of endReports, or the
// report alone), may still become one, or cannot.
func matchReport(s []byte) match {
	rest := string(s)
	if rest[0] == '[' {
		i := 1
		for i < len(rest) && rest[i] == ' ' {
			i++
		}
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		if i < len(rest) && rest[i] == '.' {
			i++
		}
		for i < len(rest) && isDigit(rest[i]) {
			i++
		}
		switch {
		case i == len(rest):
			return matchPrefix
		case rest[i] != ']':
			return matchNone
		case i+1 == len(rest):
			return matchPrefix
		case rest[i+1] != ' ':
			return matchNone
		}
		rest = rest[i+2:]
	}
	for _, r := range endReports {
		if strings.HasPrefix(rest, r) {
			return matchFull
		}
		if strings.HasPrefix(r, rest) {
			return matchPrefix
		}
	}
	return matchNone
}
