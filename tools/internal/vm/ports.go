package vm

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
	"unsafe"
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
// virtio-serial controller, sized for them, then per port a socket
// chardev and the port.
// A virtconsole comes first: qemu gives a console port number 0 if it is
// free, as the legacy single-console layout expects.
func portArgs(ports []Port, sockets []string, controller string) []string {
	if len(ports) == 0 {
		return nil
	}
	order := make([]int, 0, len(ports))
	for i, p := range ports {
		if p.Console {
			order = append(order, i)
		}
	}
	a := []string{"-device", controller + ",id=vser0,max_ports=" + strconv.Itoa(deviceMaxPorts(ports, len(order) > 0))}
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

// deviceMaxPorts is the max_ports the virtio-serial device gets: as many
// as there are ports, and port number 0 too when no virtconsole takes it
// (qemu numbers a virtserialport from 1: virtio-serial-bus.c,
// find_free_port_id). The guest's driver sets up two virtqueues per
// port the device may have (drivers/char/virtio_console.c, init_vqs),
// 64 for qemu's default of 31: with 5, 12. Measured on microvm 6.12
// under -icount: virtio_mmio's load, which probes the device, took 24.1
// instead of 28.1 ms of guest time (tools/cmd/bench/README.md).
func deviceMaxPorts(ports []Port, console bool) int {
	if console {
		return len(ports)
	}
	return len(ports) + 1
}

// portServer is the host's end of one port.
type portServer struct {
	port Port
	ln   *os.File      // listening, nonblocking (listenUnix)
	sock string        // its path
	done chan struct{} // closed when Out has everything or the connection failed
	err  error         // set before done is closed
	// stop is the read end of a pipe whose write end stopIn closes: the
	// copy of In waits on it beside In's descriptor (see copyIn).
	stop, stopW *os.File
	inDone      chan struct{} // closed when the copy of In has ended
	inErr       error         // In's read error that ended it, set before inDone is closed
	served      bool          // serve was started: it closes inDone
}

// listenPorts binds one socket per port in dir, before qemu starts. On an
// error the sockets already bound are closed.
func listenPorts(ports []Port, dir string) ([]*portServer, []string, error) {
	var servers []*portServer
	var sockets []string
	for i, p := range ports {
		sock := filepath.Join(dir, "port"+strconv.Itoa(i)+".sock")
		ln, err := listenUnix(sock, true)
		if err != nil {
			closePorts(servers)
			return nil, nil, fmt.Errorf("socket of port %s: %w", p.Name, err)
		}
		srv := &portServer{port: p, ln: ln, sock: sock, done: make(chan struct{}), inDone: make(chan struct{})}
		if srv.stop, srv.stopW, err = os.Pipe(); err != nil {
			srv.closeListener()
			closePorts(servers)
			return nil, nil, err
		}
		servers = append(servers, srv)
		sockets = append(sockets, sock)
	}
	return servers, sockets, nil
}

// closePorts closes the listening sockets: an accept still waiting (qemu
// never connected) returns. It stops the copies of In, waits for them,
// at most portDrain, and closes their pipes.
func closePorts(servers []*portServer) {
	t := time.NewTimer(portDrain)
	defer t.Stop()
	for _, s := range servers {
		s.closeListener()
		s.stopW.Close()
		if s.served {
			select {
			case <-s.inDone:
			case <-t.C: // an In without a descriptor blocked in Read
			}
		}
		s.stop.Close()
	}
}

// closeListener closes the listening socket and removes its file; twice
// does no harm.
func (s *portServer) closeListener() {
	s.ln.Close()
	os.Remove(s.sock)
}

// start serves the port in a goroutine of its own.
func (s *portServer) start() {
	s.served = true
	go s.serve()
}

// serve accepts qemu's connection and runs the port to its end: In to the
// guest, the guest's bytes to Out until qemu closes the connection.
func (s *portServer) serve() {
	defer close(s.done)
	conn, err := acceptUnix(s.ln)
	s.closeListener() // one connection: qemu's
	if err != nil || s.port.In == nil {
		close(s.inDone)
	}
	if err != nil {
		s.err = fmt.Errorf("port %s: qemu did not connect: %w", s.port.Name, err)
		return
	}
	defer conn.Close()
	switch {
	case s.port.In != nil:
		go func() {
			defer close(s.inDone)
			// A read error of In ends the input as its end does: the
			// guest must not wait for bytes that will never come.
			var ended bool
			if ended, s.inErr = copyIn(conn, s.port.In, s.stop); ended && !s.port.Console {
				shutdownWrite(conn)
			}
		}()
	case s.port.Out == nil && !s.port.Console:
		shutdownWrite(conn)
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

// fdReader is an In with a descriptor: an *os.File, or a filter that
// reads one and tells which (chrootvm's escape key reader), ^0 for none.
type fdReader interface{ Fd() uintptr }

// copyIn copies in to conn until in ends (true, with the read error that
// ended it, other than io.EOF) or the copy is stopped (false): the
// connection failed, or stop became readable, as it does when its pipe's
// write end is closed. An in with a descriptor, the
// caller's stdin, is read only once poll(2) says it has data or its end,
// waiting on stop too: no read of it starts after Run returns, which
// could take bytes from the caller's next reader (a read(2) once blocked
// cannot be taken back). Other readers are read as they are.
func copyIn(conn io.Writer, in io.Reader, stop *os.File) (bool, error) {
	f, hasFD := in.(fdReader)
	hasFD = hasFD && f.Fd() != ^uintptr(0) // a filter of no file
	buf := make([]byte, 32<<10)
	for {
		if hasFD && !readable(f.Fd(), stop.Fd()) {
			return false, nil
		}
		n, err := in.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return false, nil
			}
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return true, err
		}
	}
}

// inputErrors are the read errors that ended the ports' input, each named
// by its port; only those of copies that have ended.
func inputErrors(servers []*portServer) []string {
	var errs []string
	for _, s := range servers {
		select {
		case <-s.inDone:
			if s.inErr != nil {
				errs = append(errs, "port "+s.port.Name+": "+s.inErr.Error())
			}
		default:
		}
	}
	return errs
}

// pollFd is struct pollfd (poll(2)).
type pollFd struct {
	fd             int32
	events, revent int16
}

// readable waits until fd has data or its end (POLLIN, POLLHUP, POLLERR)
// or stop is readable, and tells whether fd is and stop is not.
func readable(fd, stop uintptr) bool {
	fds := [2]pollFd{{fd: int32(fd), events: pollIn}, {fd: int32(stop), events: pollIn}}
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_PPOLL, uintptr(unsafe.Pointer(&fds[0])), 2, 0, 0, 0, 0)
		if errno == syscall.EINTR {
			continue
		}
		return errno == 0 && fds[1].revent == 0 && fds[0].revent != 0
	}
}

// pollIn is POLLIN (asm-generic/poll.h).
const pollIn = 0x1

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
