package main

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// The network of the guest: the loopback interface, brought up on every
// boot, the hostname of hostname=, and one interface configured from the
// kernel's own ip= word in its static form. Debian's kernels are built
// without IP autoconfiguration ("# CONFIG_IP_PNP is not set" in the
// config of 6.1 and 6.12 on amd64 and 6.1 on arm64), so the kernel itself
// neither reads ip= nor configures anything: the word reaches /init, and
// the program's environment as ip=... (an unknown word with a value,
// init/main.c, unknown_bootoption), as rootfs= and mount= do. A kernel
// with CONFIG_IP_PNP=y would configure the interface itself first; /init
// then sets the same values again, which changes nothing, and finds the
// default route there.
//
// The means are the smallest the kernel offers: ioctls on an AF_INET
// socket (SIOCSIFFLAGS, SIOCSIFADDR, SIOCSIFNETMASK, SIOCADDRT; see
// netdevice(7) and net/ipv4/af_inet.c, inet_ioctl), which need no
// netlink messages to build or parse.

// hostNameMax is HOST_NAME_MAX (include/uapi/linux/limits.h): the
// longest name sethostname(2) takes, __NEW_UTS_LEN.
const hostNameMax = 64

// ipConfig is the interface ip= asks for; dev "" is none.
type ipConfig struct {
	dev            string
	addr, mask, gw [4]byte // gw all zero: no default route
	resolv         string  // resolv.conf's lines for dns0-ip and dns1-ip
	_              noCompare
}

// ipForm is what /init reads of ip=, for its error.
const ipForm = ": want off, none or CLIENT-IP::GW-IP:NETMASK:HOSTNAME:DEVICE:off:DNS0-IP:DNS1-IP (static only)"

// parseIP reads the value of ip= into c (Documentation/admin-guide/nfs/nfsroot.rst):
//
//	ip=<client-ip>:<server-ip>:<gw-ip>:<netmask>:<hostname>:<device>:<autoconf>:<dns0-ip>:<dns1-ip>:<ntp0-ip>
//
// ip=off and ip=none configure nothing, as in the kernel. Otherwise the
// word must be the static form: client-ip, netmask and device given (the
// kernel would derive a netmask from the address's class and try every
// device; /init does not guess), autoconf empty, off or none (the
// kernel's words for "static"). An empty or 0.0.0.0 gw-ip adds no
// default route; a hostname field sets the hostname, as hostname= does
// (the later of the two wins). server-ip (the NFS server) and ntp0-ip
// are checked and ignored: /init mounts no NFS root and sets no clock.
func parseIP(val string, c *config) bool {
	c.ip = ipConfig{}
	if val == "off" || val == "none" {
		return true
	}
	var f [10]string
	for n := 0; ; n++ {
		if n == len(f) {
			return false
		}
		i := indexByte(val, ':')
		if i < 0 {
			f[n] = val
			break
		}
		f[n], val = val[:i], val[i+1:]
	}
	ip := &c.ip
	ok := len(f[5]) < unix.IFNAMSIZ && indexByte(f[5], '/') < 0 && len(f[4]) <= hostNameMax &&
		(f[6] == "" || f[6] == "off" || f[6] == "none")
	for i, s := range f {
		if i >= 4 && i <= 6 || s == "" && i != 0 && i != 3 {
			continue
		}
		a, valid := parseIPv4(s)
		ok = ok && valid
		switch i {
		case 0:
			ip.addr = a
		case 2:
			ip.gw = a
		case 3:
			ip.mask = a
		case 7, 8:
			ip.resolv += "nameserver " + s + "\n"
		}
	}
	// A netmask is ones, then zeros; the kernel refuses anything else.
	// 0.0.0.0 is no address: to the kernel, a client-ip to find out.
	if m := be32(ip.mask); !ok || m == 0 || ^m&(^m+1) != 0 || f[5] == "" || ip.addr == [4]byte{} {
		return false
	}
	if f[4] != "" {
		c.hostname = f[4]
	}
	ip.dev = f[5]
	return true
}

// be32 reads four bytes in network order.
func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// parseIPv4 reads a dotted quad: four decimal numbers up to 255.
func parseIPv4(s string) (a [4]byte, ok bool) {
	n, v, digits := 0, 0, 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '.' {
			if digits == 0 || v > 255 || n == 4 {
				return a, false
			}
			a[n], n, v, digits = byte(v), n+1, 0, 0
			continue
		}
		d := s[i] - '0'
		if d > 9 || digits == 3 {
			return a, false
		}
		v, digits = v*10+int(d), digits+1
	}
	return a, n == 4
}

// netBuf is the argument of the network ioctls: a struct ifreq (the
// interface's name in 16 bytes, then a struct sockaddr or the flags) or a
// struct rtentry (120 bytes on 64-bit machines, fewer on 32-bit ones),
// include/uapi/linux/if.h and route.h. Its 16-bit fields (sa_family,
// ifr_flags, rt_flags) are in the machine's order: lowByte.
var netBuf [120]byte

// rtDst is the offset of struct rtentry's rt_dst, after rt_pad1, an
// unsigned long; rt_gateway and rt_genmask follow it, 16 bytes each, and
// then rt_flags.
const rtDst = 4 << (^uint(0) >> 63) // 8 on 64-bit machines, 4 on 32-bit

// netIoctl makes one ioctl on the socket fd with netBuf. With dev, it
// first clears netBuf, names the interface and, where addr is not
// 0.0.0.0, writes a struct sockaddr_in of it as ifr_addr: the family in
// the machine's order, the port zero, the address in network order.
func netIoctl(fd uintptr, req uintptr, dev string, addr [4]byte) unix.Errno {
	if dev != "" {
		netBuf = [len(netBuf)]byte{}
		copy(netBuf[:unix.IFNAMSIZ-1], dev)
		if addr != [4]byte{} {
			netBuf[16+lowByte] = unix.AF_INET
			copy(netBuf[20:], addr[:])
		}
	}
	_, _, err := unix.Syscall(unix.SYS_IOCTL, fd, req, uintptr(unsafe.Pointer(&netBuf[0])))
	return err
}

// ifUp sets IFF_UP on an interface, as `ip link set DEV up` does.
func ifUp(fd uintptr, dev string) unix.Errno {
	err := netIoctl(fd, unix.SIOCGIFFLAGS, dev, [4]byte{})
	if err == 0 {
		netBuf[16+lowByte] |= unix.IFF_UP // ifr_flags, a short
		err = netIoctl(fd, unix.SIOCSIFFLAGS, "", [4]byte{})
	}
	return err
}

// configureNet brings up lo, sets the hostname and configures the
// interface of ip=. lo is not fatal: a program that needs it will say
// so. A hostname or an interface the command line asked for is: the
// program would run on a machine other than the one it asked for.
func configureNet(c *config) error {
	t := now()
	fd, err := sys(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0, 0, 0)
	if err == 0 {
		err = ifUp(fd, "lo")
	}
	if err != 0 {
		warnErr("bring up", "lo", err)
	} else {
		debugf(t, "net", "lo", "up")
	}
	if c.hostname != "" {
		if err := sysPath(unix.SYS_SETHOSTNAME, c.hostname, uintptr(len(c.hostname))); err != 0 {
			return fail("sethostname", c.hostname, err)
		}
	}
	if ip := &c.ip; ip.dev != "" {
		t = now()
		if err := configureIP(fd, ip); err != 0 {
			return fail("configure ip= interface", ip.dev, err)
		}
		debugf(t, "net", ip.dev, "up")
	}
	closeFD(int(fd))
	return nil
}

// configureIP gives the interface of ip= its address and netmask, brings
// it up and adds the default route, as `ip addr add`, `ip link set up`
// and `ip route add default via GW` do. The interface is there once the
// initrd's modules are loaded: virtio_net registers it in its probe,
// which finit_module runs.
func configureIP(fd uintptr, ip *ipConfig) unix.Errno {
	err := netIoctl(fd, unix.SIOCSIFADDR, ip.dev, ip.addr)
	if err == 0 {
		err = netIoctl(fd, unix.SIOCSIFNETMASK, ip.dev, ip.mask)
	}
	if err == 0 {
		err = ifUp(fd, ip.dev)
	}
	if err != 0 || ip.gw == [4]byte{} {
		return err
	}
	// struct rtentry: rt_gateway the gateway, rt_dst and rt_genmask
	// AF_INET 0.0.0.0: the default route (on amd64 rt_dst at 8, the
	// gateway at 24, the mask at 40, the flags at 56). No device: the
	// kernel finds it by the gateway's subnet.
	netBuf = [len(netBuf)]byte{}
	netBuf[rtDst+lowByte], netBuf[rtDst+16+lowByte], netBuf[rtDst+32+lowByte] = unix.AF_INET, unix.AF_INET, unix.AF_INET
	copy(netBuf[rtDst+16+4:], ip.gw[:])
	netBuf[rtDst+48+lowByte] = unix.RTF_UP | unix.RTF_GATEWAY
	err = netIoctl(fd, unix.SIOCADDRT, "", [4]byte{})
	if err == unix.EEXIST {
		err = 0 // a kernel with CONFIG_IP_PNP=y read ip= and added it first
	}
	return err
}
