// Command checker runs as PID 1 inside a test VM, started by virtinit's
// /init through init=. It inspects the guest from inside, prints one line
// per check on the console and powers the machine off.
//
// What to check is read from the file "plan" beside the executable (the
// checker's own read-only share, so every boot can have its own plan). Each
// plan line is tab-separated: an identifier, a kind and the kind's
// arguments. Empty lines and lines starting with '#' are skipped. For each
// plan line the checker prints
//
//	CHECK ID ok DETAIL
//	CHECK ID fail DETAIL
//
// and after the last one `CHECK-END OK FAILED`. The host side (package
// vmtest) expects a line for every identifier it planned: a missing line is
// a failure there.
//
// The kinds:
//
//	pid1                                  getpid() is 1
//	cwd DIR                               the working directory is DIR
//	fds                                   fds 0, 1 and 2 are open
//	argv ARG0 ARG1...                     os.Args is exactly that
//	env KEY=VALUE                         the environment holds KEY=VALUE
//	envset KEY                            the environment sets KEY non-empty
//	mount DIR TYPE HAVE NOT [SOURCE]      DIR is a mount point (the top one
//	                                      in /proc/self/mountinfo) of TYPE
//	                                      whose per-mount options include
//	                                      every one of HAVE and none of NOT
//	                                      (comma lists, "-" for none), with
//	                                      mount source SOURCE when given
//	notmounted DIR                        no mount has DIR as mount point
//	absent PATH                           lstat(PATH) fails with ENOENT
//	chardev PATH MAJOR MINOR              PATH is that character device
//	symlink PATH TARGET                   readlink(PATH) is TARGET and
//	                                      PATH resolves
//	open PATH                             PATH opens read-write
//	writable DIR                          a file can be created in DIR
//	write PATH CONTENT                    creates PATH holding CONTENT
//	erofs PATH                            creating PATH fails with EROFS
//	file PATH CONTENT                     PATH holds CONTENT (trailing
//	                                      newlines ignored)
//	meminfo-max FIELD KB                  /proc/meminfo's FIELD is below KB
//	virtiofs-tags TAG...                  /sys/fs/virtiofs/*/tag is exactly
//	                                      this set
//	meminfo-min FIELD KB                  /proc/meminfo's FIELD is at least KB
//	mountfs TYPE SOURCE DIR               mounts SOURCE read-write at DIR
//	                                      (osbuild mounts further virtiofs
//	                                      tags so; run as the initramfs's
//	                                      init, the checker needs /proc)
//	run PROG ARG...                       PROG runs and exits with status 0
//	enospc PATH                           writing PATH in 1 MiB pieces ends
//	                                      in ENOSPC (within 1 GiB); PATH is
//	                                      removed again
//	remount-rw DIR                        remounts the mount at DIR
//	                                      read-write (mount -o remount,rw)
//	reread PATH BEFORE ASK DONE AFTER     PATH, kept open, holds BEFORE;
//	                                      then the checker creates ASK,
//	                                      waits for the host to create
//	                                      DONE (polled every 20 ms, for at
//	                                      most 60 s) and reads PATH again
//	                                      from its start on the same
//	                                      descriptor: it must hold AFTER
//
// Run as `checker mmap-write FILE BYTES` it is a plain program instead: it
// makes FILE BYTES long, fills it through a shared mapping with
// MmapPattern's bytes and exits at once, without msync or munmap, so
// that only the kernel's writeback (a sync) brings the data to FILE. Run
// as `checker argv-write FILE ARGS...` it writes its ARGS to FILE, each
// ended by a NUL.
package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// How the await kind polls.
const (
	awaitInterval = 20 * time.Millisecond
	awaitPolls    = 3000
)

func main() {
	if len(os.Args) == 4 && os.Args[1] == "mmap-write" {
		mmapWrite(os.Args[2], os.Args[3])
		return
	}
	if len(os.Args) >= 3 && os.Args[1] == "argv-write" {
		var b []byte
		for _, a := range os.Args[3:] {
			b = append(append(b, a...), 0)
		}
		if err := os.WriteFile(os.Args[2], b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "checker argv-write:", err)
			os.Exit(1)
		}
		return
	}
	// A panic must not kill PID 1: the kernel would panic without the
	// end line the host waits for.
	defer func() {
		if r := recover(); r != nil {
			say(fmt.Sprintf("CHECK checker-panic fail %v", r))
			end(0, 1)
		}
	}()
	// Kernel messages on the same serial line could split a CHECK line;
	// keep only the most severe ones from here on.
	os.WriteFile("/proc/sys/kernel/printk", []byte("1"), 0)

	plan, err := readPlan()
	if err != nil {
		say("CHECK plan fail " + oneLine(err.Error()))
		end(0, 1)
	}
	ok, failed := 0, 0
	for _, c := range plan {
		detail, err := run(c)
		if err != nil {
			failed++
			say("CHECK " + c.id + " fail " + oneLine(err.Error()))
			continue
		}
		ok++
		say("CHECK " + c.id + " ok " + oneLine(detail))
	}
	end(ok, failed)
}

// check is one plan line.
type check struct {
	id, kind string
	args     []string
}

func readPlan() ([]check, error) {
	exe, err := os.Executable()
	if err != nil && filepath.IsAbs(os.Args[0]) {
		// Without /proc (as the initramfs's own init) argv[0] is the
		// path the kernel ran.
		exe, err = os.Args[0], nil
	}
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(exe), "plan"))
	if err != nil {
		return nil, err
	}
	var plan []check
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, fmt.Errorf("plan line %q: want ID<TAB>KIND[<TAB>ARG...]", line)
		}
		plan = append(plan, check{id: f[0], kind: f[1], args: f[2:]})
	}
	return plan, nil
}

// say writes one line with a single write, so that it reaches the serial
// line in one piece.
func say(line string) {
	os.Stdout.Write([]byte(line + "\n"))
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// end prints the end line, flushes the writable shares and powers off.
// PID 1 must never return.
func end(ok, failed int) {
	say(fmt.Sprintf("CHECK-END %d %d", ok, failed))
	syscall.Sync()
	for {
		err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
		say("checker: reboot: " + fmt.Sprint(err))
		time.Sleep(time.Second)
	}
}

// run performs one check and returns a detail for the log.
func run(c check) (string, error) {
	want := func(n int) error {
		if len(c.args) != n {
			return fmt.Errorf("%s wants %d arguments, plan gives %d", c.kind, n, len(c.args))
		}
		return nil
	}
	switch c.kind {
	case "pid1":
		if pid := os.Getpid(); pid != 1 {
			return "", fmt.Errorf("pid %d", pid)
		}
		return "pid 1", nil
	case "cwd":
		if err := want(1); err != nil {
			return "", err
		}
		wd, err := os.Getwd()
		if err != nil {
			return "", err
		}
		if wd != c.args[0] {
			return "", fmt.Errorf("cwd %q, want %q", wd, c.args[0])
		}
		return wd, nil
	case "fds":
		var open []string
		for fd := 0; fd <= 2; fd++ {
			target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
			if err != nil {
				return "", fmt.Errorf("fd %d: %w", fd, err)
			}
			// The kernel opened them on the initramfs's console; /init
			// moves them to the new root's, which is not deleted.
			if target != "/dev/console" {
				return "", fmt.Errorf("fd %d is %q, want /dev/console", fd, target)
			}
			open = append(open, fmt.Sprintf("%d=%s", fd, target))
		}
		return strings.Join(open, " "), nil
	case "argv":
		if !slices.Equal(os.Args, c.args) {
			return "", fmt.Errorf("argv %q, want %q", os.Args, c.args)
		}
		return fmt.Sprintf("%q", os.Args), nil
	case "env":
		if err := want(1); err != nil {
			return "", err
		}
		if !slices.Contains(os.Environ(), c.args[0]) {
			return "", fmt.Errorf("%q not in environment %q", c.args[0], os.Environ())
		}
		return c.args[0], nil
	case "envset":
		if err := want(1); err != nil {
			return "", err
		}
		v := os.Getenv(c.args[0])
		if v == "" {
			return "", fmt.Errorf("%s not set in environment %q", c.args[0], os.Environ())
		}
		return c.args[0] + "=" + v, nil
	case "mount":
		if len(c.args) != 4 && len(c.args) != 5 {
			return "", fmt.Errorf("mount wants 4 or 5 arguments, plan gives %d", len(c.args))
		}
		return checkMount(c.args)
	case "notmounted":
		if err := want(1); err != nil {
			return "", err
		}
		m, err := findMount(c.args[0])
		if err != nil {
			return "", err
		}
		if m != nil {
			return "", fmt.Errorf("%s is mounted: %s", c.args[0], m.line)
		}
		return "not a mount point", nil
	case "absent":
		if err := want(1); err != nil {
			return "", err
		}
		_, err := os.Lstat(c.args[0])
		if !errors.Is(err, syscall.ENOENT) {
			return "", fmt.Errorf("lstat %s: %v, want ENOENT", c.args[0], err)
		}
		return "absent", nil
	case "chardev":
		if err := want(4); err != nil {
			return "", err
		}
		return checkCharDev(c.args[0], c.args[1], c.args[2], c.args[3])
	case "symlink":
		if err := want(2); err != nil {
			return "", err
		}
		target, err := os.Readlink(c.args[0])
		if err != nil {
			return "", err
		}
		if target != c.args[1] {
			return "", fmt.Errorf("readlink %s = %q, want %q", c.args[0], target, c.args[1])
		}
		if _, err := os.Stat(c.args[0]); err != nil {
			return "", fmt.Errorf("%s -> %s does not resolve: %w", c.args[0], target, err)
		}
		return c.args[0] + " -> " + target, nil
	case "open":
		if err := want(1); err != nil {
			return "", err
		}
		f, err := os.OpenFile(c.args[0], os.O_RDWR, 0)
		if err != nil {
			return "", err
		}
		f.Close()
		return "opened", nil
	case "writable":
		if err := want(1); err != nil {
			return "", err
		}
		p := filepath.Join(c.args[0], ".checker-probe")
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			return "", err
		}
		if err := os.Remove(p); err != nil {
			return "", err
		}
		return "created and removed " + p, nil
	case "write":
		if err := want(2); err != nil {
			return "", err
		}
		if err := os.WriteFile(c.args[0], []byte(c.args[1]), 0o644); err != nil {
			return "", err
		}
		return "wrote " + c.args[0], nil
	case "erofs":
		if err := want(1); err != nil {
			return "", err
		}
		err := os.WriteFile(c.args[0], []byte("x"), 0o644)
		if !errors.Is(err, syscall.EROFS) {
			return "", fmt.Errorf("create %s: %v, want EROFS", c.args[0], err)
		}
		return "EROFS", nil
	case "remount-rw":
		if err := want(1); err != nil {
			return "", err
		}
		// MS_REMOUNT without MS_RDONLY: what mount -o remount,rw does.
		if err := syscall.Mount("", c.args[0], "", syscall.MS_REMOUNT, ""); err != nil {
			return "", fmt.Errorf("remount %s read-write: %w", c.args[0], err)
		}
		return "remounted read-write", nil
	case "reread":
		if err := want(5); err != nil {
			return "", err
		}
		return reread(c.args[0], c.args[1], c.args[2], c.args[3], c.args[4])
	case "file":
		if err := want(2); err != nil {
			return "", err
		}
		data, err := os.ReadFile(c.args[0])
		if err != nil {
			return "", err
		}
		got := strings.TrimRight(string(data), "\n")
		if got != c.args[1] {
			return "", fmt.Errorf("%s holds %q, want %q", c.args[0], got, c.args[1])
		}
		return got, nil
	case "meminfo-max", "meminfo-min":
		if err := want(2); err != nil {
			return "", err
		}
		return checkMeminfo(c.args[0], c.args[1], c.kind == "meminfo-max")
	case "virtiofs-tags":
		return checkTags(c.args)
	case "mountfs":
		if err := want(3); err != nil {
			return "", err
		}
		fstype, source, dir := c.args[0], c.args[1], c.args[2]
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		if err := syscall.Mount(source, dir, fstype, 0, ""); err != nil {
			return "", fmt.Errorf("mount %s %s on %s: %w", fstype, source, dir, err)
		}
		return "mounted", nil
	case "enospc":
		if err := want(1); err != nil {
			return "", err
		}
		return fillUp(c.args[0])
	case "run":
		if len(c.args) == 0 {
			return "", errors.New("run wants a program")
		}
		out, err := exec.Command(c.args[0], c.args[1:]...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("%q: %v: %s", c.args, err, out)
		}
		return string(out), nil
	}
	return "", fmt.Errorf("unknown check kind %q", c.kind)
}

// mountInfo is one line of /proc/self/mountinfo (see proc(5)).
type mountInfo struct {
	line, dir, fstype, source string
	opts                      []string // per-mount options
}

func findMount(dir string) (*mountInfo, error) {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	var found *mountInfo
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 6 || sep < 6 || len(f) < sep+3 {
			continue
		}
		if unescape(f[4]) != dir {
			continue
		}
		// A later line for the same directory is mounted over the
		// earlier one: the last is what a path lookup sees.
		found = &mountInfo{line: line, dir: dir, fstype: f[sep+1],
			source: unescape(f[sep+2]), opts: strings.Split(f[5], ",")}
	}
	return found, nil
}

// unescape undoes the octal escapes (\040 for a space) of mountinfo.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func checkMount(a []string) (string, error) {
	dir, fstype := a[0], a[1]
	m, err := findMount(dir)
	if err != nil {
		return "", err
	}
	if m == nil {
		return "", fmt.Errorf("%s is not a mount point", dir)
	}
	var bad []string
	if m.fstype != fstype {
		bad = append(bad, fmt.Sprintf("type %s, want %s", m.fstype, fstype))
	}
	for _, o := range list(a[2]) {
		if !slices.Contains(m.opts, o) {
			bad = append(bad, "lacks "+o)
		}
	}
	for _, o := range list(a[3]) {
		if slices.Contains(m.opts, o) {
			bad = append(bad, "has "+o)
		}
	}
	if len(a) == 5 && m.source != a[4] {
		bad = append(bad, fmt.Sprintf("source %s, want %s", m.source, a[4]))
	}
	if len(bad) > 0 {
		return "", fmt.Errorf("%s: %s (mountinfo: %s)", dir, strings.Join(bad, ", "), m.line)
	}
	return m.fstype + " " + m.source + " " + strings.Join(m.opts, ","), nil
}

func list(s string) []string {
	if s == "-" || s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func checkCharDev(path, major, minor, mode string) (string, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(path, &st); err != nil {
		return "", fmt.Errorf("lstat %s: %w", path, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR {
		return "", fmt.Errorf("%s: mode %o, not a character device", path, st.Mode)
	}
	// The encoding of dev_t, as in glibc's gnu_dev_major/minor.
	maj := (st.Rdev>>8)&0xfff | (st.Rdev>>32)&0xfffff000
	min := st.Rdev&0xff | (st.Rdev>>12)&0xffffff00
	got := fmt.Sprintf("%d:%d", maj, min)
	if got != major+":"+minor {
		return "", fmt.Errorf("%s is %s, want %s:%s", path, got, major, minor)
	}
	if m := fmt.Sprintf("%o", st.Mode&0o7777); m != mode {
		return "", fmt.Errorf("%s has mode %s, want %s", path, m, mode)
	}
	return fmt.Sprintf("%s c %s mode %o", path, got, st.Mode&0o7777), nil
}

// checkMeminfo compares a field of /proc/meminfo with a bound in kB: an
// upper bound (exclusive) when max, else a lower one.
func checkMeminfo(field, bound string, max bool) (string, error) {
	limit, err := strconv.ParseUint(bound, 10, 64)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != field+":" {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return "", fmt.Errorf("/proc/meminfo: %q: %w", line, err)
		}
		if max && v >= limit {
			return "", fmt.Errorf("%s %d kB, want below %d kB", field, v, limit)
		}
		if !max && v < limit {
			return "", fmt.Errorf("%s %d kB, want at least %d kB", field, v, limit)
		}
		return fmt.Sprintf("%s %d kB", field, v), nil
	}
	return "", fmt.Errorf("/proc/meminfo has no %s", field)
}

func checkTags(want []string) (string, error) {
	dirs, err := filepath.Glob("/sys/fs/virtiofs/*/tag")
	if err != nil {
		return "", err
	}
	var got []string
	for _, d := range dirs {
		data, err := os.ReadFile(d)
		if err != nil {
			return "", err
		}
		got = append(got, string(bytes.TrimRight(data, "\n")))
	}
	sort.Strings(got)
	want = slices.Clone(want)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		return "", fmt.Errorf("tags %q, want %q", got, want)
	}
	return strings.Join(got, " "), nil
}

// fillUp writes path until its filesystem is full and wants ENOSPC, not
// a hang or another error; then it removes path.
func fillUp(path string) (string, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", err
	}
	buf := bytes.Repeat([]byte{0x5a}, 1<<20)
	var n int64
	for n < 1<<30 {
		var w int
		w, err = f.Write(buf)
		n += int64(w)
		if err != nil {
			break
		}
	}
	f.Close()
	if rerr := os.Remove(path); rerr != nil && err == nil {
		err = rerr
	}
	if !errors.Is(err, syscall.ENOSPC) {
		return "", fmt.Errorf("wrote %d bytes to %s: %v, want ENOSPC", n, path, err)
	}
	return fmt.Sprintf("ENOSPC after %d bytes", n), nil
}

// reread is the reread kind: a file the guest holds open while the host
// changes it must show the host's change.
func reread(path, before, ask, done, after string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n, err := f.ReadAt(buf, 0)
	if got := string(buf[:n]); got != before {
		return "", fmt.Errorf("%s holds %q (%v), want %q", path, got, err, before)
	}
	if err := os.WriteFile(ask, nil, 0o644); err != nil {
		return "", err
	}
	polls := 0
	for ; ; polls++ {
		if _, err := os.Lstat(done); err == nil {
			break
		}
		if polls == awaitPolls {
			return "", fmt.Errorf("%s did not appear within %v", done, awaitPolls*awaitInterval)
		}
		time.Sleep(awaitInterval)
	}
	n, err = f.ReadAt(buf, 0)
	if got := string(buf[:n]); got != after {
		return "", fmt.Errorf("after the host's change, %s holds %q (%v), want %q", path, got, err, after)
	}
	return fmt.Sprintf("%q, then %q after %d polls", before, after, polls), nil
}

// mmapWrite is the mmap-write mode (see the package comment).
func mmapWrite(path, size string) {
	n, err := strconv.Atoi(size)
	if err == nil && n%8 != 0 {
		err = errors.New("size is not a multiple of 8")
	}
	var f *os.File
	if err == nil {
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	}
	if err == nil {
		err = f.Truncate(int64(n))
	}
	var m []byte
	if err == nil {
		m, err = syscall.Mmap(int(f.Fd()), 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "checker mmap-write:", err)
		os.Exit(1)
	}
	for off := 0; off < n; off += 8 {
		v := uint64(off) * 0x9e3779b97f4a7c15
		for i := range 8 {
			m[off+i] = byte(v >> (8 * i))
		}
	}
	os.Exit(0)
}
