package cli

import "strings"

// Option is one option of a command whose parsed state is a T: how many
// values it takes and what it does with them. Optional is for an option
// of one value that may go without it, given only as --name=VALUE
// (chrootvm's --overlay[=SIZE]); Set then gets no value when it has none.
type Option[T any] struct {
	Values   int
	Optional bool
	Set      func(c T, v []string) error
}

// Parse reads the options of args into c, as the GNU tools spell them:
// --name VALUE or --name=VALUE for an option of one value, --name V1 V2
// for one of more, "--" ends the options, and "-" alone is an operand.
// With interspersed, operands may come between options (mkvirtinitrd);
// without, the first operand ends the options and the rest of args are
// operands too (chrootvm, whose PROGRAM has options of its own). It
// returns the operands.
func Parse[T any](args []string, options map[string]Option[T], c T, interspersed bool) ([]string, error) {
	var operands []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(operands, args[i+1:]...), nil
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if !interspersed {
				return append(operands, args[i:]...), nil
			}
			operands = append(operands, a)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		opt, ok := options[name]
		if !ok {
			return nil, Usagef("unknown option %s", name)
		}
		var values []string
		switch {
		case hasValue && opt.Values != 1:
			return nil, Usagef("%s takes %d values, not %s=VALUE", name, opt.Values, name)
		case hasValue:
			values = []string{value}
		case opt.Optional:
		case len(args)-i-1 < opt.Values:
			return nil, Usagef("%s needs %d value(s)", name, opt.Values)
		default:
			values = args[i+1 : i+1+opt.Values]
			i += opt.Values
		}
		if err := opt.Set(c, values); err != nil {
			return nil, err
		}
	}
	return operands, nil
}
