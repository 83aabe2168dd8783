// Package cli is what the commands of tools/ share about their command
// lines: the error for a bad one and how it is reported, as the GNU
// tools do (the message, a pointer to --help, exit status 2).
package cli

import (
	"errors"
	"fmt"
	"io"
)

// ExitUsage is the exit status of a bad command line.
const ExitUsage = 2

// UsageError is a mistake on the command line.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

// Usagef makes a UsageError.
func Usagef(format string, a ...any) error {
	return &UsageError{fmt.Sprintf(format, a...)}
}

// IsUsage tells whether err is, or wraps, a UsageError.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}

// ReportUsage writes err for the command called name to w, with a
// pointer to its --help, and returns ExitUsage.
func ReportUsage(w io.Writer, name string, err error) int {
	fmt.Fprintf(w, "%s: %v\nTry '%s --help'.\n", name, err, name)
	return ExitUsage
}
