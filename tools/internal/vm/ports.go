package vm

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Port is one virtio-serial port of the guest, a channel of its own
// beside the serial console: what a program prints on the console can
// never appear on a port, and the reverse.
//
// In the guest the port's name is in /sys/class/virtio-ports/vportNpM/name
// and its node is /dev/vportNpM; a Console port is a virtconsole, a tty
// of the guest (/dev/hvcN).
//
// Run binds a listening Unix socket for each port before qemu starts, and
// qemu connects to it as a client when it starts. In is copied to the
// guest; at its end Run shuts its side of the connection down, qemu then
// closes the connection, and the guest's read of the port returns 0, end
// of file (virtio_console.c: port_fops_read returns 0 once the host is
// disconnected and no data is left). From then on the port carries
// nothing in either direction. A Console port is never shut down so: a
// terminal has no end of file of its own (^D is a byte for the guest's
// line discipline), and its output must go on. Out receives what the
// guest writes, byte for byte, until qemu exits; Run returns after Out
// has all of it.
type Port struct {
	Name    string    // the name the guest sees (any bytes but NUL; commas are escaped for qemu)
	Console bool      // a virtconsole port (a tty in the guest) instead of a virtserialport
	In      io.Reader // copied to the guest, then end of file; nil: end of file at once, unless Out is set
	Out     io.Writer // what the guest writes; nil: discarded
}

var errPortName = errors.New("vm: virtio-serial port without a name")

// portDrain bounds how long Run waits, after qemu exited, for the ports'
// output to reach their writers. The sockets are at end of file once
// qemu has closed them, so this only matters when a writer blocks.
var portDrain = 5 * time.Second

// checkPorts rejects ports qemu would refuse later, less clearly.
func checkPorts(ports []Port) error {
	seen := map[string]bool{}
	for _, p := range ports {
		if p.Name == "" {
			return errPortName
		}
		if seen[p.Name] {
			return fmt.Errorf("vm: virtio-serial port %q given twice", p.Name)
		}
		seen[p.Name] = true
	}
	if len(ports) > maxPorts {
		return fmt.Errorf("vm: %d virtio-serial ports, more than the device's %d", len(ports), maxPorts)
	}
	return nil
}

// maxPorts is the virtio-serial device's default max_ports (qemu's
// hw/char/virtio-serial-bus.c), 31.
const maxPorts = 31

// portArgs are the qemu arguments of the ports: the transport's
// virtio-serial controller, then per port a socket chardev and the port.
// A virtconsole comes first: qemu gives a console port number 0 if it is
// free, as the legacy single-console layout expects.
func portArgs(ports []Port, sockets []string, controller string) []string {
	if len(ports) == 0 {
		return nil
	}
	a := []string{"-device", controller + ",id=vser0"}
	order := make([]int, 0, len(ports))
	for i, p := range ports {
		if p.Console {
			order = append(order, i)
		}
	}
	for i, p := range ports {
		if !p.Console {
			order = append(order, i)
		}
	}
	for _, i := range order {
		p := ports[i]
		id := "port" + strconv.Itoa(i)
		dev := "virtserialport"
		if p.Console {
			dev = "virtconsole"
		}
		a = append(a,
			"-chardev", "socket,id="+id+",path="+optValue(sockets[i]),
			"-device", dev+",bus=vser0.0,chardev="+id+",name="+optValue(p.Name))
	}
	return a
}

// portServer is the host's end of one port.
type portServer struct {
	port Port
	ln   *net.UnixListener
	done chan struct{} // closed when Out has everything or the connection failed
	err  error         // set before done is closed
}

// listenPorts binds one socket per port in dir, before qemu starts. On an
// error the sockets already bound are closed.
func listenPorts(ports []Port, dir string) ([]*portServer, []string, error) {
	var servers []*portServer
	var sockets []string
	for i, p := range ports {
		sock := filepath.Join(dir, "port"+strconv.Itoa(i)+".sock")
		if len(sock) >= maxSocketPath {
			closePorts(servers)
			return nil, nil, fmt.Errorf("socket path %s is longer than %d bytes (set TMPDIR to a shorter directory)", sock, maxSocketPath-1)
		}
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
		if err != nil {
			closePorts(servers)
			return nil, nil, fmt.Errorf("socket of port %s: %w", p.Name, err)
		}
		servers = append(servers, &portServer{port: p, ln: ln, done: make(chan struct{})})
		sockets = append(sockets, sock)
	}
	return servers, sockets, nil
}

// closePorts closes the listening sockets: an accept still waiting (qemu
// never connected) returns.
func closePorts(servers []*portServer) {
	for _, s := range servers {
		s.ln.Close()
	}
}

// serve accepts qemu's connection and runs the port to its end: In to the
// guest, the guest's bytes to Out until qemu closes the connection.
func (s *portServer) serve() {
	defer close(s.done)
	conn, err := s.ln.AcceptUnix()
	s.ln.Close() // one connection: qemu's
	if err != nil {
		s.err = fmt.Errorf("port %s: qemu did not connect: %w", s.port.Name, err)
		return
	}
	defer conn.Close()
	switch {
	case s.port.In != nil:
		go func() {
			// A read error of In ends the input as its end does: the
			// guest must not wait for bytes that will never come.
			io.Copy(conn, s.port.In)
			if !s.port.Console {
				conn.CloseWrite()
			}
		}()
	case s.port.Out == nil && !s.port.Console:
		conn.CloseWrite()
	}
	// Output: read to the end even when Out fails, so the guest never
	// blocks on a port nobody reads.
	buf := make([]byte, 64<<10)
	for {
		n, rerr := conn.Read(buf)
		if n > 0 && s.port.Out != nil && s.err == nil {
			if _, werr := s.port.Out.Write(buf[:n]); werr != nil {
				s.err = fmt.Errorf("port %s: %w", s.port.Name, werr)
			}
		}
		if rerr != nil {
			// ECONNRESET is qemu's close with input it never read (the
			// program did not read all of its stdin): an end like any
			// other. Linux reports it only once every byte qemu sent
			// has been read (unix_stream_read_generic), so no output is
			// lost.
			if !errors.Is(rerr, io.EOF) && !errors.Is(rerr, syscall.ECONNRESET) && s.err == nil {
				s.err = fmt.Errorf("port %s: %w", s.port.Name, rerr)
			}
			return
		}
	}
}

// drainPorts waits, after qemu exited, until every port's output is
// with its writer, at most portDrain in all, and returns the first error.
func drainPorts(servers []*portServer) error {
	closePorts(servers)
	t := time.NewTimer(portDrain)
	defer t.Stop()
	var first error
	for _, s := range servers {
		select {
		case <-s.done:
			if s.err != nil && first == nil {
				first = s.err
			}
		case <-t.C:
			return fmt.Errorf("port %s: its output did not end within %v of qemu's exit", s.port.Name, portDrain)
		}
	}
	return first
}
