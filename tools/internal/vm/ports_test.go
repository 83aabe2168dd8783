package vm

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestPortArgs(t *testing.T) {
	ports := []Port{{Name: "virtinit.stdin"}, {Name: "virtinit.tty", Console: true}, {Name: "a,b"}}
	sockets := []string{"/t/port0.sock", "/t/port1.sock", "/t,u/port2.sock"}
	got := shellQuote(portArgs(ports, sockets, "virtio-serial-device"))
	want := "-device virtio-serial-device,id=vser0,max_ports=3 " +
		"-chardev socket,id=port1,path=/t/port1.sock -device virtconsole,bus=vser0.0,chardev=port1,name=virtinit.tty " +
		"-chardev socket,id=port0,path=/t/port0.sock -device virtserialport,bus=vser0.0,chardev=port0,name=virtinit.stdin " +
		"-chardev socket,id=port2,path=/t,,u/port2.sock -device virtserialport,bus=vser0.0,chardev=port2,name=a,,b"
	if got != want {
		t.Errorf("portArgs =\n%s\nwant\n%s", got, want)
	}
	if got := portArgs(nil, nil, "virtio-serial-pci"); got != nil {
		t.Errorf("portArgs without ports = %q, want nothing", got)
	}
}

// TestQemuArgsPorts checks that each transport gets its controller.
func TestQemuArgsPorts(t *testing.T) {
	for tr, want := range map[string]string{"pci": "virtio-serial-pci,id=vser0,max_ports=2", "mmio": "virtio-serial-device,id=vser0,max_ports=2"} {
		c := Config{Machine: "q35", Transport: tr, Kernel: "/k", Memory: "1G", CPUs: 1, Ports: []Port{{Name: "p"}}}
		args := qemuArgs(c, plan{accel: "tcg", cpu: "max", portSockets: []string{"/t/port0.sock"}})
		if !strings.Contains(strings.Join(args, " "), "-device "+want+" ") {
			t.Errorf("transport %s: qemu arguments %q lack -device %s", tr, args, want)
		}
	}
}

// TestDeviceMaxPorts: the device has room for every port and no more,
// port number 0 counted when no virtconsole takes it (qemu refuses a
// virtserialport numbered past max_ports-1).
func TestDeviceMaxPorts(t *testing.T) {
	for _, c := range []struct {
		ports   []Port
		console bool
		want    int
	}{
		{[]Port{{Name: "s"}, {Name: "i"}, {Name: "o"}, {Name: "e"}}, false, 5},
		{[]Port{{Name: "s"}, {Name: "t", Console: true}}, true, 2},
		{[]Port{{Name: "p"}}, false, 2},
	} {
		if got := deviceMaxPorts(c.ports, c.console); got != c.want {
			t.Errorf("deviceMaxPorts(%d ports, console %v) = %d, want %d", len(c.ports), c.console, got, c.want)
		}
	}
}

func TestCheckPorts(t *testing.T) {
	bad := [][]Port{
		{{Name: ""}},
		{{Name: "a"}, {Name: "a"}},
		make([]Port, maxPorts+1),
	}
	for i := range bad[2] {
		bad[2][i].Name = string(rune('A' + i))
	}
	for _, ports := range bad {
		if err := checkPorts(ports); err == nil {
			t.Errorf("checkPorts(%d ports, first %q) = nil, want an error", len(ports), ports[0].Name)
		}
	}
	if err := checkPorts([]Port{{Name: "a"}, {Name: "b", Console: true}}); err != nil {
		t.Errorf("checkPorts(two good ports) = %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// TestPortServer plays qemu against the host's end of three ports: the
// input arrives whole and then end of file, the output reaches its writer
// byte for byte up to qemu's close, and a port nobody writes to is at end
// of file at once.
func TestPortServer(t *testing.T) {
	dir := t.TempDir()
	input := make([]byte, 1<<20)
	rand.Read(input)
	output := []byte("binary\x00\r\n\xff\nout")
	var out syncBuffer
	ports := []Port{
		{Name: "in", In: bytes.NewReader(input)},
		{Name: "out", Out: &out},
		{Name: "none"},
	}
	servers, sockets, err := listenPorts(ports, dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		s.start()
	}
	conns := make([]*net.UnixConn, len(sockets))
	for i, sock := range sockets {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			t.Fatalf("connect to port %s: %v", ports[i].Name, err)
		}
		conns[i] = c
	}
	got, err := io.ReadAll(conns[0])
	if err != nil {
		t.Fatalf("read port in: %v", err)
	}
	if sha256.Sum256(got) != sha256.Sum256(input) {
		t.Errorf("port in: %d bytes arrived, differing from the %d sent", len(got), len(input))
	}
	if _, err := conns[1].Write(output); err != nil {
		t.Fatal(err)
	}
	if n, err := conns[2].Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("port none: read = %d, %v; want end of file", n, err)
	}
	for _, c := range conns {
		c.Close()
	}
	if err := drainPorts(servers); err != nil {
		t.Errorf("drainPorts = %v", err)
	}
	if !bytes.Equal(out.Bytes(), output) {
		t.Errorf("port out gave %q, want %q", out.Bytes(), output)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("the port sockets are still there: %s", left[0].Name())
	}
}

// serveOne serves one port, and connects to it as qemu would.
func serveOne(t *testing.T, p Port) ([]*portServer, *net.UnixConn) {
	t.Helper()
	servers, sockets, err := listenPorts([]Port{p}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	servers[0].start()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: sockets[0], Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	return servers, c
}

// TestPortServerUnreadInput: qemu exits without reading all of a port's
// input (the program did not read its stdin to the end). Its close then
// resets the connection; that is the port's end, not an error, and the
// output written before it arrives whole.
func TestPortServerUnreadInput(t *testing.T) {
	var out syncBuffer
	input := bytes.Repeat([]byte("y\n"), 1<<20)
	servers, c := serveOne(t, Port{Name: "in", In: bytes.NewReader(input), Out: &out})
	if _, err := io.ReadFull(c, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("output"))
	c.Close() // with the rest of the input unread
	if err := drainPorts(servers); err != nil {
		t.Errorf("drainPorts after a close with unread input = %v, want nil", err)
	}
	if string(out.Bytes()) != "output" {
		t.Errorf("output %q, want %q", out.Bytes(), "output")
	}
}

// TestPortServerConsole: a console port's input may end, its output must
// go on: the host never shuts the connection down.
func TestPortServerConsole(t *testing.T) {
	var out syncBuffer
	servers, c := serveOne(t, Port{Name: "tty", Console: true, In: strings.NewReader("ls\r"), Out: &out})
	got := make([]byte, 3)
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "ls\r" {
		t.Fatalf("console port input %q, %v", got, err)
	}
	// Nothing more comes, and no end of file either.
	c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := c.Read(got); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("console port after its input: read %d, %v; want a timeout, not end of file", n, err)
	}
	c.Write([]byte("output after the input's end"))
	c.Close()
	if err := drainPorts(servers); err != nil {
		t.Errorf("drainPorts = %v", err)
	}
	if string(out.Bytes()) != "output after the input's end" {
		t.Errorf("console port output %q", out.Bytes())
	}
}

// TestPortServerNoConnection: qemu never connected (it failed at start);
// the wait for the output ends at once with an error naming the port.
func TestPortServerNoConnection(t *testing.T) {
	servers, _, err := listenPorts([]Port{{Name: "virtinit.status", Out: io.Discard}}, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	servers[0].start()
	err = drainPorts(servers)
	if err == nil || !strings.Contains(err.Error(), "virtinit.status") {
		t.Errorf("drainPorts without a connection = %v, want an error naming the port", err)
	}
}

// TestListenPortsLongPath: a socket path the kernel cannot bind is
// refused with advice, and nothing is left bound.
func TestListenPortsLongPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := listenPorts([]Port{{Name: "a"}}, dir); err == nil || !strings.Contains(err.Error(), "TMPDIR") {
		t.Errorf("listenPorts in a long directory = %v, want the TMPDIR advice", err)
	}
}

// fakeQemuEnv makes the test binary act as qemu (see fakeQemu).
const fakeQemuEnv = "VIRTINIT_FAKE_QEMU"

// fakeQemu is a qemu that boots nothing: it connects to the sockets of
// its virtserialports as qemu does, prints kernel words that would end a
// VM whose console is read, waits a while, copies its first port's input
// to its second port and exits 0.
func fakeQemu() {
	var socks []string
	args := os.Args[1:]
	for i, a := range args {
		if a == "-chardev" && i+1 < len(args) && strings.HasPrefix(args[i+1], "socket,id=port") {
			_, path, _ := strings.Cut(args[i+1], ",path=")
			socks = append(socks, path)
		}
	}
	var conns []net.Conn
	for _, s := range socks {
		c, err := net.Dial("unix", s)
		if err != nil {
			os.Stderr.WriteString("fake qemu: " + err.Error() + "\n")
			os.Exit(1)
		}
		conns = append(conns, c)
	}
	os.Stdout.WriteString("[    1.0] reboot: Power down\nKernel panic - not syncing: Attempted to kill init! exitcode=0x00000000\n")
	time.Sleep(300 * time.Millisecond)
	if len(conns) >= 2 {
		io.Copy(conns[1], conns[0])
	}
	os.Exit(0)
}

// TestRunQemuExit runs a fake qemu that prints the kernel's words of an
// end and keeps running: with QemuExit, Run neither stops it nor takes a
// status from them, and the ports carry the input through to the output.
func TestRunQemuExit(t *testing.T) {
	bin := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(bin, "qemu-system-x86_64")); err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeQemuEnv, "1")
	oldGrace := endGrace
	endGrace = time.Millisecond
	t.Cleanup(func() { endGrace = oldGrace })
	kernel := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(kernel, []byte("not booted"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	var out syncBuffer
	res, err := Run(context.Background(), Config{
		Kernel:       kernel,
		Qemu:         filepath.Join(bin, "qemu-system-x86_64"),
		Ending:       QemuExit{},
		ConsoleLimit: 16,
		TempDir:      tmp,
		Icount:       true, // no TSC measurement: nothing to boot
		Ports: []Port{
			{Name: "in", In: strings.NewReader("through the ports")},
			{Name: "out", Out: &out},
		},
	})
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	if res.End != EndUnknown || res.ExitCode != -1 || res.TimedOut {
		t.Errorf("Run: end %q, exit code %d, timed out %v; want none, -1, false", res.End, res.ExitCode, res.TimedOut)
	}
	if got := string(out.Bytes()); got != "through the ports" {
		t.Errorf("port out = %q, want the input (the fake qemu was stopped early?)", got)
	}
	if len(res.Output) != 16 || !bytes.HasSuffix(res.Output, []byte("x00000000\n")) {
		t.Errorf("Result.Output = %q, want the console's last 16 bytes", res.Output)
	}
	if left, _ := os.ReadDir(tmp); len(left) > 0 {
		t.Errorf("Run left %s in its TempDir", left[0].Name())
	}
}

// TestPortServerStopsReadingInput: when the run ends, the copy of a
// port's In (the caller's stdin) stops without reading it again, so the
// bytes that arrive later are the caller's next reader's. Without the
// stop, a goroutine left in In's Read takes them.
func TestPortServerStopsReadingInput(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	servers, c := serveOne(t, Port{Name: "in", In: r})
	w.Write([]byte("during"))
	if got, err := io.ReadFull(c, make([]byte, 6)); err != nil || got != 6 {
		t.Fatalf("the guest read %d bytes, %v; want 6", got, err)
	}
	c.Close() // qemu exits
	if err := drainPorts(servers); err != nil {
		t.Errorf("drainPorts = %v", err)
	}
	w.Write([]byte("after"))
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	got := make([]byte, 5)
	if n, err := io.ReadFull(r, got); err != nil || string(got) != "after" {
		t.Errorf("after the run, the caller read %q, %v (%d bytes); want %q: the port's copy took them", got[:n], err, n, "after")
	}
}

// errReader gives its data, then its error.
type errReader struct {
	data string
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestCopyInError: a read error ends the input as its end does, and is
// returned for the caller to tell; the end of file is no error.
func TestCopyInError(t *testing.T) {
	stop, stopW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stop.Close()
	defer stopW.Close()
	for _, want := range []error{syscall.EISDIR, nil} {
		var out bytes.Buffer
		in := &errReader{"some input", want}
		if want == nil {
			in.err = io.EOF
		}
		ended, got := copyIn(&out, in, stop)
		if !ended || got != want || out.String() != "some input" {
			t.Errorf("copyIn with %v at the end = %v, %v, copied %q; want true, %v, all of it", in.err, ended, got, out.String(), want)
		}
	}
}
