package main

import (
	"strings"

	"virtinit/tools/internal/vm"
)

// tuneHelp is the part of --help that lists the boot tuning, from the
// table chrootvm applies (vm.AllLevers): what each lever skips and what
// that costs, since a user may notice it.
func tuneHelp() string {
	var b strings.Builder
	b.WriteString("\nBoot tuning, on unless --no-tune (what each skips, and what that costs):\n")
	for _, l := range vm.AllLevers() {
		name := l.Name()
		if l.Machines != nil {
			name += " (" + strings.Join(l.Machines, ", ") + ")"
		}
		if l.Arches != nil {
			name += " (" + strings.Join(l.Arches, ", ") + ")"
		}
		b.WriteString("  " + name + "\n")
		wrap(&b, "skips "+l.Skips+".", "      ", 76)
		wrap(&b, "costs: "+l.Costs+".", "      ", 76)
	}
	return b.String()
}

// wrap writes text in lines of at most width columns, each after indent.
func wrap(b *strings.Builder, text, indent string, width int) {
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
}
