package main

import (
	"bufio"
	"os"
	"strings"

	"virtinit/tools/internal/cli"
	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/vm"
)

// defaultHostname is the guest's hostname when ROOTFS has no usable
// /etc/hostname and --hostname gives none.
const defaultHostname = "chrootvm"

// hostNameMax is the kernel's limit on a hostname, HOST_NAME_MAX
// (include/uapi/linux/limits.h): /init refuses a longer hostname= word.
const hostNameMax = 64

// checkHostname refuses a name /init would refuse or the kernel command
// line cannot carry as one word: empty, longer than 64 bytes, white
// space, a double quote or a control character.
func checkHostname(name string) error {
	if name == "" || len(name) > hostNameMax {
		return cli.Usagef("--hostname %q: want 1 to %d bytes", name, hostNameMax)
	}
	for _, r := range name {
		if r <= ' ' || r == '"' || r == 0x7f {
			return cli.Usagef("--hostname %q: white space, a double quote or a control character cannot be in a hostname", name)
		}
	}
	return nil
}

// rootHostname is the first line of ROOTFS's /etc/hostname, as the
// guest would read it, or "" when there is none or it is not a name
// checkHostname takes.
func rootHostname(rootfs string) string {
	path, err := resolveIn(rootfs, "/etc/hostname")
	if err != nil {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		return ""
	}
	name := strings.TrimSpace(s.Text())
	if checkHostname(name) != nil {
		return ""
	}
	return name
}

// netWords are the kernel words of the guest's identity and network:
// hostname= (--hostname, else ROOTFS's /etc/hostname, else
// defaultHostname), and with --net the ip= of qemu's user-mode network.
// They come before the user's --append words, which may override them.
func netWords(o *options, rootfs string) []string {
	name := o.hostname
	if name == "" {
		name = rootHostname(rootfs)
	}
	if name == "" {
		name = defaultHostname
	}
	words := []string{contract.WordHostname + "=" + name}
	if o.net {
		words = append(words, vm.UserNetWord())
	}
	return words
}
