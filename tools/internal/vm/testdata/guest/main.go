// Command guest is the /init of the boot tests of package vm. Its
// arguments, given after "--" on the kernel command line, are steps done
// in order:
//
//	cat=TAG/FILE     mount virtiofs TAG (once) and print "GUEST read " and FILE's content
//	write=TAG/FILE   mount TAG and write "written by the guest" to FILE
//	exit=N           exit with status N (the kernel then panics, printing it)
//	poweroff         power the machine off
//	hang             print "GUEST hanging" and wait forever
//	copy=IN,OUT      copy the virtio-serial port named IN to the port OUT
//	                 until IN's end of file, and print "GUEST copied N bytes"
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var mounted = map[string]bool{}

// mount mounts a virtiofs tag at /mnt/TAG and returns the path of file
// in it.
func mount(arg string) string {
	tag, file, _ := strings.Cut(arg, "/")
	dir := "/mnt/" + tag
	if !mounted[tag] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fail(err)
		}
		if err := syscall.Mount(tag, dir, "virtiofs", 0, ""); err != nil {
			fail(fmt.Errorf("mount %s: %w", tag, err))
		}
		mounted[tag] = true
	}
	return dir + "/" + file
}

// port returns the node of the virtio-serial port called name, waiting up
// to 10 s for the device to be probed.
func port(name string) string {
	if _, err := os.Stat("/dev/null"); err != nil {
		os.MkdirAll("/dev", 0o755)
		if err := syscall.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); err != nil {
			fail(fmt.Errorf("mount devtmpfs: %w", err))
		}
	}
	for range 1000 {
		dirs, _ := os.ReadDir("/sys/class/virtio-ports")
		for _, d := range dirs {
			n, _ := os.ReadFile("/sys/class/virtio-ports/" + d.Name() + "/name")
			if strings.TrimSpace(string(n)) == name {
				return "/dev/" + d.Name()
			}
		}
		if _, err := os.Stat("/sys/class"); err != nil {
			os.MkdirAll("/sys", 0o755)
			if err := syscall.Mount("sysfs", "/sys", "sysfs", 0, ""); err != nil {
				fail(fmt.Errorf("mount sysfs: %w", err))
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	fail(fmt.Errorf("no virtio-serial port %s", name))
	return ""
}

func fail(err error) {
	fmt.Println("GUEST error:", err)
	os.Exit(99)
}

func main() {
	fmt.Println("GUEST started", os.Args[1:])
	for _, a := range os.Args[1:] {
		key, value, _ := strings.Cut(a, "=")
		switch key {
		case "cat":
			data, err := os.ReadFile(mount(value))
			if err != nil {
				fail(err)
			}
			fmt.Printf("GUEST read %s\n", data)
		case "write":
			if err := os.WriteFile(mount(value), []byte("written by the guest"), 0o644); err != nil {
				fail(err)
			}
		case "exit":
			n, err := strconv.Atoi(value)
			if err != nil {
				fail(err)
			}
			syscall.Sync()
			os.Exit(n)
		case "poweroff":
			syscall.Sync()
			fail(syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF))
		case "copy":
			in, out, _ := strings.Cut(value, ",")
			r, err := os.Open(port(in))
			if err != nil {
				fail(err)
			}
			w, err := os.OpenFile(port(out), os.O_WRONLY, 0)
			if err != nil {
				fail(err)
			}
			n, err := io.Copy(w, r)
			if err != nil {
				fail(err)
			}
			fmt.Printf("GUEST copied %d bytes\n", n)
		case "hang":
			fmt.Println("GUEST hanging")
			select {}
		default:
			fail(fmt.Errorf("unknown step %q", a))
		}
	}
	fail(fmt.Errorf("no exit step"))
}
