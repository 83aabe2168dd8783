package main

import "golang.org/x/sys/unix"

// The resolver of ip= (its dns0-ip and dns1-ip fields) becomes the
// program's /etc/resolv.conf, written after the switch root, on a root
// that is usually read-only:
//
//   - a link (systemd-resolved's ../run/systemd/resolve/stub-resolv.conf,
//     resolvconf's ../run/resolvconf/resolv.conf) gets its target
//     written, with its directory: in /run, /init's tmpfs, that works;
//   - a writable root (rd.overlay) gets the file written, made if need be;
//   - otherwise resolvRun is bind-mounted over /etc/resolv.conf (over a
//     link's target outside /run). A root without /etc/resolv.conf has
//     nothing to mount over, and a read-only root cannot get one: /init
//     says so, and the program has no resolver (glibc then asks
//     127.0.0.1).
const (
	resolvConf = "/etc/resolv.conf"
	resolvRun  = "/run/resolv.conf"
)

// writeResolvConf writes the resolver of ip= where the program will read
// it. Failures are printed: the network works without names.
func writeResolvConf(c *config) {
	data := c.ip.resolv
	if data == "" {
		return
	}
	if link, err := readlink(resolvConf); err == 0 && link != "" {
		if link[0] != '/' {
			link = "/etc/" + link
		}
		// Errors are the write's to report.
		mkdirAll(link[:len(link)-len(baseName(link))])
	}
	if writeFile(resolvConf, data) == 0 {
		return
	}
	err := writeFile(resolvRun, data)
	if err == 0 {
		err = mount(resolvRun, resolvConf, "", unix.MS_BIND, "")
	}
	if err != 0 {
		warnErr("bind-mount "+resolvRun+" on", resolvConf, err)
	}
}
