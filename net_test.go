package main

import (
	"encoding/json"
	"math/bits"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
)

// slirp is the word chrootvm --net passes (testdata/net-words.json,
// TestNetWords), with a hostname.
const slirp = "ip=10.0.2.15::10.0.2.2:255.255.255.0:guest:eth0:off:10.0.2.3"

// netWords is testdata/net-words.json, which the host's tools test
// against too: the ip= word of qemu's user-mode network chrootvm passes,
// and which hostnames each side takes.
type netWords struct {
	UserNet struct {
		Word, Guest, Gateway, Netmask, Device, Resolver string
	}
	Hostnames []struct {
		Name  string
		Valid bool
		Init  *bool
	}
}

// TestNetWords: /init configures the word chrootvm --net passes as the
// table says, and takes the hostnames the table says it takes.
func TestNetWords(t *testing.T) {
	b, err := os.ReadFile("testdata/net-words.json")
	if err != nil {
		t.Fatal(err)
	}
	var w netWords
	if err := json.Unmarshal(b, &w); err != nil || w.UserNet.Word == "" || len(w.Hostnames) == 0 {
		t.Fatalf("testdata/net-words.json: %v, %+v", err, w)
	}
	u := w.UserNet
	c := defaultConfig()
	if err := parseCmdline(u.Word, c); err != nil {
		t.Fatalf("parseCmdline(%q): %v", u.Word, err)
	}
	addr := func(s string) [4]byte { return netip.MustParseAddr(s).As4() }
	want := ipConfig{dev: u.Device, addr: addr(u.Guest), gw: addr(u.Gateway), mask: addr(u.Netmask), resolv: "nameserver " + u.Resolver + "\n"}
	if !reflect.DeepEqual(c.ip, want) {
		t.Errorf("parseCmdline(%q) ip = %+v, want %+v", u.Word, c.ip, want)
	}
	for _, h := range w.Hostnames {
		valid := h.Valid
		if h.Init != nil {
			valid = *h.Init
		}
		word := `hostname="` + h.Name + `"`
		if err := parseCmdline(word, defaultConfig()); (err == nil) != valid {
			t.Errorf("parseCmdline(%q) error = %v, want valid %v", word, err, valid)
		}
	}
}

func TestParseIP(t *testing.T) {
	tests := []struct {
		in       string
		ip       ipConfig
		hostname string
	}{
		{slirp, ipConfig{dev: "eth0", addr: [4]byte{10, 0, 2, 15}, gw: [4]byte{10, 0, 2, 2}, mask: [4]byte{255, 255, 255, 0},
			resolv: "nameserver 10.0.2.3\n"}, "guest"},
		// The minimum: client-ip, netmask and device; autoconf empty.
		{"ip=192.168.1.5:::255.255.0.0::enp0s3", ipConfig{dev: "enp0s3", addr: [4]byte{192, 168, 1, 5}, mask: [4]byte{255, 255}}, ""},
		// A server-ip, checked and ignored; a gateway of 0.0.0.0 is none.
		{"ip=10.1.2.3:10.1.2.1:0.0.0.0:255.0.0.0::eth1:none", ipConfig{dev: "eth1", addr: [4]byte{10, 1, 2, 3}, mask: [4]byte{255}}, ""},
		// Two resolvers, and the NTP server, checked and ignored.
		{"ip=10.0.0.2::10.0.0.1:255.255.255.252::eth0:off:1.1.1.1:9.9.9.9:10.0.0.1", ipConfig{dev: "eth0",
			addr: [4]byte{10, 0, 0, 2}, gw: [4]byte{10, 0, 0, 1}, mask: [4]byte{255, 255, 255, 252},
			resolv: "nameserver 1.1.1.1\nnameserver 9.9.9.9\n"}, ""},
		{"ip=10.0.0.2:::255.255.255.255::eth0:off::9.9.9.9", ipConfig{dev: "eth0", addr: [4]byte{10, 0, 0, 2},
			mask: [4]byte{255, 255, 255, 255}, resolv: "nameserver 9.9.9.9\n"}, ""},
		{"ip=off", ipConfig{}, ""},
		{"ip=none", ipConfig{}, ""},
		{slirp + " ip=off", ipConfig{}, "guest"}, // the last ip= wins; its hostname stays
		// hostname= and ip='s hostname field: the later wins.
		{"hostname=a " + slirp, ipConfig{}, "guest"},
		{slirp + " hostname=b", ipConfig{}, "b"},
		{"hostname=" + strings.Repeat("h", 64), ipConfig{}, strings.Repeat("h", 64)},
		{`hostname="my host"`, ipConfig{}, "my host"},
	}
	for _, tt := range tests {
		c := defaultConfig()
		if err := parseCmdline(tt.in, c); err != nil {
			t.Errorf("parseCmdline(%q) error %v", tt.in, err)
			continue
		}
		if strings.Contains(tt.in, "hostname=") {
			c.ip = ipConfig{} // these cases are about the hostname
		}
		if !reflect.DeepEqual(c.ip, tt.ip) {
			t.Errorf("parseCmdline(%q) ip = %+v, want %+v", tt.in, c.ip, tt.ip)
		}
		if c.hostname != tt.hostname {
			t.Errorf("parseCmdline(%q) hostname = %q, want %q", tt.in, c.hostname, tt.hostname)
		}
	}
}

func TestParseIPErrors(t *testing.T) {
	bad := []string{
		"ip=", "ip=dhcp", "ip=on", "ip=any", "ip=bootp", "ip=10.0.2.15",
		"ip=:::255.255.255.0::eth0",                                         // no client-ip
		"ip=10.0.2.15::::::off",                                             // no netmask, no device
		"ip=10.0.2.15:::255.255.255.0:::off",                                // no device
		"ip=10.0.2.15:::255.255.255.0::eth0:dhcp",                           // autoconfiguration
		"ip=10.0.2.15:::255.255.255.0::eth0:static",                         // not the kernel's word
		"ip=10.0.2.256:::255.255.255.0::eth0",                               // not an address
		"ip=10.0.2:::255.255.255.0::eth0",                                   //
		"ip=10.0.2.15.1:::255.255.255.0::eth0",                              //
		"ip=10.0.2.015x:::255.255.255.0::eth0",                              //
		"ip=10.0.2.0015:::255.255.255.0::eth0",                              //
		"ip=10..2.15:::255.255.255.0::eth0",                                 //
		"ip=10.0.2.15:x::255.255.255.0::eth0",                               // server-ip
		"ip=10.0.2.15::gw:255.255.255.0::eth0",                              // gw-ip
		"ip=10.0.2.15:::255.0.255.0::eth0",                                  // holes in the netmask
		"ip=10.0.2.15:::0.0.0.0::eth0",                                      // no netmask
		"ip=10.0.2.15:::255.255.255.0::eth0/1",                              // not an interface name
		"ip=10.0.2.15:::255.255.255.0::abcdefghijklmnop",                    // 16 bytes: longer than IFNAMSIZ-1
		"ip=10.0.2.15:::255.255.255.0::eth0:off:dns",                        // dns0-ip
		"ip=10.0.2.15:::255.255.255.0::eth0:off::dns",                       // dns1-ip
		"ip=10.0.2.15:::255.255.255.0::eth0:off:::ntp",                      // ntp0-ip
		"ip=10.0.2.15:::255.255.255.0::eth0:off::::",                        // 11 fields
		"ip=10.0.2.15:::255.255.255.0:" + strings.Repeat("h", 65) + ":eth0", // hostname
	}
	for _, in := range bad {
		err := parseCmdline(in, defaultConfig())
		if want := in + ipForm; err == nil || err.Error() != want {
			t.Errorf("parseCmdline(%q) error = %v, want %q", in, err, want)
		}
	}
	for _, in := range []string{"hostname=", "hostname=" + strings.Repeat("h", 65)} {
		err := parseCmdline(in, defaultConfig())
		if want := in + ": want a name of 1 to 64 bytes"; err == nil || err.Error() != want {
			t.Errorf("parseCmdline(%q) error = %v, want %q", in, err, want)
		}
	}
}

// FuzzIP checks parseIP against the standard library: whatever it
// accepts has the address, gateway and netmask net/netip reads from the
// fields, a contiguous netmask, and a device name the kernel takes.
func FuzzIP(f *testing.F) {
	for _, s := range []string{
		slirp[3:], "off", "none", "dhcp", "", ":", "::::::::::", "1.2.3.4:::255.0.0.0::e",
		"1.2.3.4:::255.0.0.0::e:off:::", "01.2.3.4:::255.0.0.0::e", "1.2.3.4:::255.255.255.255::e:none:1.1.1.1:2.2.2.2:3.3.3.3",
		"256.0.0.0:::255.0.0.0::e", "1.2.3.4:::255.0.0.1::e", strings.Repeat("1.", 5000),
		"1.2.3.4:::255.0.0.0:\x00:e\x00", "1.2.3.4:::255.0.0.0::é:off",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, val string) {
		c := defaultConfig()
		if !parseIP(val, c) || val == "off" || val == "none" {
			return
		}
		f := strings.Split(val, ":")
		if len(f) > 10 || len(f) < 6 {
			t.Fatalf("parseIP(%q) accepted %d fields", val, len(f))
		}
		for i, want := range []*[4]byte{&c.ip.addr, nil, &c.ip.gw, &c.ip.mask} {
			if want == nil || f[i] == "" && i == 2 {
				continue
			}
			a, err := netip.ParseAddr(noLeadingZeros(f[i]))
			if err != nil || !a.Is4() || a.As4() != *want {
				t.Fatalf("parseIP(%q) field %d = %v, netip reads %v, %v", val, i, *want, a, err)
			}
		}
		m := be32(c.ip.mask)
		if ones := bits.LeadingZeros32(^m); ones == 0 || m != ^uint32(0)<<(32-ones) {
			t.Fatalf("parseIP(%q) accepted netmask %v", val, c.ip.mask)
		}
		if c.ip.addr == [4]byte{} {
			t.Fatalf("parseIP(%q) accepted client-ip 0.0.0.0", val)
		}
		if d := c.ip.dev; d == "" || len(d) > 15 || strings.Contains(d, "/") || d != f[5] {
			t.Fatalf("parseIP(%q) accepted device %q", val, d)
		}
	})
}

// noLeadingZeros writes a dotted quad without the leading zeros the
// kernel's in_aton reads as decimal and net/netip refuses.
func noLeadingZeros(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		if t := strings.TrimLeft(p, "0"); t != p {
			parts[i] = t
			if t == "" {
				parts[i] = "0"
			}
		}
	}
	return strings.Join(parts, ".")
}
