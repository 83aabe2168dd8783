package vm

import "virtinit/tools/internal/contract"

// qemu's user-mode network (-netdev user, slirp), as the guest sees it:
// the guest is 10.0.2.15/24; 10.0.2.2 is the gateway, through which the
// guest's connections leave as connections of the qemu process, and also
// the host's own 127.0.0.1; 10.0.2.3 is a resolver that asks the host's.
// Nothing outside reaches the guest: qemu forwards no port unless told
// (hostfwd), and Config.Net tells it none.
const (
	UserNetGuest    = "10.0.2.15"
	UserNetNetmask  = "255.255.255.0"
	UserNetHost     = "10.0.2.2"
	UserNetResolver = "10.0.2.3"
)

// UserNetDevice is the name the guest's kernel gives the one network
// interface of Config.Net: the first Ethernet device, and nothing in the
// guest renames it (no udev).
const UserNetDevice = "eth0"

// UserNetWord is the kernel word with which virtinit's /init configures
// the guest's interface on qemu's user-mode network: the kernel's own
// ip= in its static form (Documentation/admin-guide/nfs/nfsroot.rst),
// client-ip::gw-ip:netmask:hostname:device:autoconf:dns0-ip, the
// hostname left to hostname=.
func UserNetWord() string {
	return contract.WordIP + "=" + UserNetGuest + "::" + UserNetHost + ":" + UserNetNetmask + "::" + UserNetDevice + ":off:" + UserNetResolver
}
