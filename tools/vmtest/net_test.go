package vmtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"virtinit/tools/internal/testenv"
	"virtinit/tools/internal/vm"
)

// The scenarios of issue 18: a guest that works like a machine, through
// chrootvm on every kernel. Each boot checks several things.

// netApplets are the busybox applets the scripts below run.
var netApplets = []string{"sh", "hostname", "nc", "wget", "cat", "ls", "echo", "sleep", "env", "readlink"}

// netRoot makes a busybox root with netApplets. hostname, if not "", is
// its /etc/hostname; resolv is what its /etc/resolv.conf is: "" none,
// "file" a regular file, "link" systemd-resolved's link into /run.
func netRoot(t *testing.T, k kernel, hostname, resolv string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := testenv.BusyboxRoot(root, k.guest.busybox, netApplets...); err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(root, "etc")
	if hostname != "" {
		if err := os.WriteFile(filepath.Join(etc, "hostname"), []byte(hostname+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	switch resolv {
	case "file":
		err = os.WriteFile(filepath.Join(etc, "resolv.conf"), []byte("nameserver 192.0.2.1\n"), 0o644)
	case "link":
		err = os.Symlink("../run/systemd/resolve/stub-resolv.conf", filepath.Join(etc, "resolv.conf"))
	}
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// loopbackScript starts a TCP echo server on the guest's loopback
// (busybox nc running cat), sends it a line, and prints what came back,
// the hostname, the network interfaces and the environment.
const loopbackScript = `echo "hostname=$(hostname)"
nc -l -p 7777 -e cat &
i=0
until out=$(echo echo-over-lo | nc 127.0.0.1 7777) && [ -n "$out" ]; do
	i=$((i+1)); [ $i -lt 20 ] || break; sleep 1
done
echo "echoed=$out"
echo "interfaces=$(ls /sys/class/net)"
env | while read -r l; do echo "env:$l"; done
`

// TestNetLoopback: without --net, lo is up (a TCP echo over 127.0.0.1
// comes back), the guest has no interface besides lo, and the hostname
// is the default: ROOTFS's /etc/hostname where it has one (6.12), else
// chrootvm's fixed name.
func TestNetLoopback(t *testing.T) {
	for _, name := range allKernels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, k := need(t, name)
			bin := buildTool(t, p, "chrootvm")
			want := "chrootvm"
			fromRoot := ""
			if name == "6.12" {
				want, fromRoot = "from-the-root", "from-the-root"
			}
			root := netRoot(t, k, fromRoot, "")
			args := append(chrootvmArgs(k), root, "sh", "-c", loopbackScript)
			r := runChrootvmIO(t, bin, args, nil)
			out := string(r.stdout)
			if r.code != 0 {
				t.Fatalf("chrootvm %q: status %d\nstdout:\n%s\nstderr:\n%s", args, r.code, out, r.stderr)
			}
			for _, line := range []string{"hostname=" + want, "echoed=echo-over-lo", "interfaces=lo"} {
				if !hasLine(out, line) {
					t.Errorf("the guest did not print %q\nstdout:\n%s\nstderr:\n%s", line, out, r.stderr)
				}
			}
			// The kernel hands an unknown hostname= to init's environment;
			// these kernels read it themselves (init/version.c,
			// early_hostname, an early_param) and keep it out.
			if hasLine(out, "env:hostname="+want) {
				t.Errorf("hostname= is in the program's environment: the kernel did not take it\n%s", out)
			}
		})
	}
}

// netResolv is how each kernel's --net case finds /etc/resolv.conf in
// its root: a regular file (bind-mounted over), systemd-resolved's link
// into /run (its target written), or none under --overlay (written).
var netResolv = map[string]string{"6.1": "file", "6.12": "link", "arm64-6.1": "overlay"}

// TestNetUser: with --net and --hostname, the program fetches a file
// from an HTTP server on the host's loopback through 10.0.2.2, finds
// qemu's resolver in /etc/resolv.conf, has eth0 besides lo, and the
// hostname given. 6.1 runs on q35 (virtio-net-pci), the others on
// virtio-mmio (microvm, arm64's virt).
func TestNetUser(t *testing.T) {
	for _, name := range allKernels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, k := need(t, name)
			bin := buildTool(t, p, "chrootvm")
			token := make([]byte, 8)
			rand.Read(token)
			body := "served by the host " + hex.EncodeToString(token)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/hello.txt" {
					http.NotFound(w, r)
					return
				}
				fmt.Fprintln(w, body)
			}))
			defer srv.Close()
			u, err := url.Parse(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			port := u.Port()

			resolv := netResolv[name]
			options := []string{"--net", "--hostname", "net-" + strings.ReplaceAll(name, ".", "-")}
			root := netRoot(t, k, "from-the-root", resolv)
			if name == "6.1" {
				// virtio-net-pci, where the others have virtio-mmio.
				options = append(options, "--machine", "q35")
			}
			if resolv == "overlay" {
				root = netRoot(t, k, "from-the-root", "")
				options = append(options, "--overlay=16m")
			}
			script := `echo "hostname=$(hostname)"
echo "fetched=$(wget -q -O - http://` + vm.UserNetHost + `:` + port + `/hello.txt)"
echo "interfaces=$(ls /sys/class/net | while read i; do printf '%s ' $i; done)"
while read -r l; do echo "resolv:$l"; done </etc/resolv.conf
[ ! -L /etc/resolv.conf ] || echo "link=$(readlink /etc/resolv.conf)"
`
			args := append(append(chrootvmArgs(k), options...), root, "sh", "-c", script)
			r := runChrootvmIO(t, bin, args, nil)
			out := string(r.stdout)
			if r.code != 0 {
				t.Fatalf("chrootvm %q: status %d\nstdout:\n%s\nstderr:\n%s", args, r.code, out, r.stderr)
			}
			want := []string{"hostname=net-" + strings.ReplaceAll(name, ".", "-"), "fetched=" + body,
				"interfaces=eth0 lo ", "resolv:nameserver " + vm.UserNetResolver}
			if resolv == "link" {
				want = append(want, "link=../run/systemd/resolve/stub-resolv.conf")
			}
			for _, line := range want {
				if !hasLine(out, line) {
					t.Errorf("the guest did not print %q\nstdout:\n%s\nstderr:\n%s", line, out, r.stderr)
				}
			}
			if strings.Contains(out, "192.0.2.1") {
				t.Errorf("the root's own resolv.conf shows through\n%s", out)
			}
			// The root on the host is never written: a bind mount or
			// /run takes the file.
			if resolv == "file" {
				if b, err := os.ReadFile(filepath.Join(root, "etc", "resolv.conf")); err != nil || string(b) != "nameserver 192.0.2.1\n" {
					t.Errorf("the host's etc/resolv.conf: %q, %v", b, err)
				}
			}
		})
	}
}

// TestNetBadIP: a malformed ip= word is fatal, and its error names it.
func TestNetBadIP(t *testing.T) {
	const name = "6.12"
	p, k := need(t, name)
	bin := buildTool(t, p, "chrootvm")
	args := append(chrootvmArgs(k), "--append", "ip=10.0.2.15:::255.255.255.0::eth0:dhcp", k.guest.rootfs, "/bin/true")
	code, out := runChrootvm(t, bin, args)
	// Before the ports are open: the console's line, which chrootvm shows.
	const want = "initrd: kernel command line: ip=10.0.2.15:::255.255.255.0::eth0:dhcp: want off, none or CLIENT-IP::GW-IP:NETMASK:HOSTNAME:DEVICE:off:DNS0-IP:DNS1-IP (static only)"
	if code != exitNoBoot || !strings.Contains(string(out), want) {
		t.Errorf("chrootvm %q: status %d, want %d and %q\n%s", args, code, exitNoBoot, want, out)
	}
}

// exitNoBoot is chrootvm's status for a guest that did not boot to the
// program.
const exitNoBoot = 119

// hasLine reports whether out holds line as a whole line.
func hasLine(out, line string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.TrimRight(l, "\r") == line {
			return true
		}
	}
	return false
}

// TestNetNoResolvConf: with --net, a read-only root without
// /etc/resolv.conf cannot get one. /init says so on the console and the
// program runs, with the network but without a resolver file.
func TestNetNoResolvConf(t *testing.T) {
	p, k := need(t, "arm64-6.1")
	bin := buildTool(t, p, "chrootvm")
	root := netRoot(t, k, "", "")
	args := append(chrootvmArgs(k), "--net", "--debug", root, "sh", "-c",
		`echo "interfaces=$(ls /sys/class/net | while read i; do printf '%s ' $i; done)"; [ -e /etc/resolv.conf ] || echo no-resolv-conf`)
	r := runChrootvmIO(t, bin, args, nil)
	out := string(r.stdout)
	if r.code != 0 || !hasLine(out, "interfaces=eth0 lo ") || !hasLine(out, "no-resolv-conf") {
		t.Errorf("chrootvm %q: status %d\nstdout:\n%s\nstderr:\n%s", args, r.code, out, r.stderr)
	}
	const warning = "initrd: bind-mount /run/resolv.conf on /etc/resolv.conf: no such file or directory"
	if !strings.Contains(string(r.stderr), warning) {
		t.Errorf("chrootvm --debug's console lacks %q\n%s", warning, r.stderr)
	}
}
