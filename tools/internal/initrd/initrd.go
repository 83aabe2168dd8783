// Package initrd builds the initramfs that boots virtinit: the /init binary,
// a /dev/console node and the kernel modules virtiofs needs on one kernel,
// as a reproducible newc cpio archive, optionally compressed.
//
// Modules go to /usr/lib/modules/NNN-name.ko, numbered so that byte order
// is load order (dependencies first); /init loads them in that order.
// Modules built into the kernel (modules.builtin) are skipped, so on a
// kernel with virtiofs built in the archive holds only /init and
// /dev/console.
package initrd

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/cpuarch"
)

// File is one extra entry of the archive. Mode carries the type bits as
// well as the permissions (0o100644 a regular file, 0o40755 a directory,
// 0o120777 a symbolic link whose target is Data).
type File struct {
	Name string
	Mode uint32
	Data []byte
}

// Options describes one initrd.
type Options struct {
	Init            string   // path of the /init binary on the host
	ModulesDir      string   // one kernel's module tree (.../lib/modules/KVER); "" = no modules
	Tree            *Tree    // that tree as ReadTree read it, instead of ModulesDir
	Modules         []string // extra modules to include (besides virtiofs + transport)
	Transport       string   // "pci" (default when ""), "mmio", "both"
	Compress        string   // "none" (default when ""), "gzip", "zstd"
	StripSignatures bool
	// KernelRelease is the release of the kernel that boots the initrd
	// (6.12.95+deb12-amd64), when known: each module must be built for
	// it (sameKernel). "" = not checked.
	KernelRelease string
	Extra         []File // extra files (tests add padding this way)
	// Argv is written to /init.argv: the program /init runs and its
	// arguments, each ended by a NUL. /init reads it before the switch
	// root, in place of init= and the words after "--" on the kernel
	// command line, so they may hold any byte but NUL, at any length
	// execve takes. nil: no file, the kernel command line decides.
	Argv  []string
	Epoch int64 // mtime for every entry (SOURCE_DATE_EPOCH or 0)
}

// Report tells what Build put into the archive.
type Report struct {
	Modules  []string // NNN-name.ko written, in load order
	Builtin  []string // skipped as built in
	Stripped []string // NNN-name.ko whose appended signature was removed
	// Sources are the module files read from the tree, in the order of
	// Modules: what a cache of the archive must find unchanged.
	Sources []string
}

// ModulesPath and ArgvPath are contract.ModulesDir and contract.ArgvPath
// in the archive, whose names have no leading slash.
var (
	ModulesPath = strings.TrimPrefix(contract.ModulesDir, "/")
	ArgvPath    = strings.TrimPrefix(contract.ArgvPath, "/")
)

// OverlayModule is the overlay filesystem's module (fs/overlayfs,
// CONFIG_OVERLAY_FS), which /init's rd.overlay needs.
const OverlayModule = "overlay"

// NetModule is the virtio network device's driver
// (drivers/net/virtio_net.c, CONFIG_VIRTIO_NET), which the guest's network
// needs; Debian builds it as a module needing net_failover and failover.
const NetModule = "virtio_net"

// Transports maps --transport values to the virtio transport modules.
var Transports = map[string][]string{
	"pci":  {"virtio_pci"},
	"mmio": {"virtio_mmio"},
	"both": {"virtio_pci", "virtio_mmio"},
}

// TransportNames are the keys of Transports, in the order --help gives
// them.
func TransportNames() []string { return []string{"pci", "mmio", "both"} }

// Compressions are the accepted values of Options.Compress.
var Compressions = []string{"none", "gzip", "zstd"}

// Build writes the initrd described by o to w.
func Build(w io.Writer, o Options) (*Report, error) {
	entries, rep, err := collect(o)
	if err != nil {
		return nil, err
	}
	// Sized once: growing it by doubling allocated 2.8 MB more for
	// chrootvm's initrd (9.7 against 6.9 MB a build, of which the xz
	// decoder's dictionaries take 5.4), which a fresh process pays for in
	// page faults.
	size := 512
	for _, e := range entries {
		size += 110 + len(e.name) + 4 + len(e.data) + 4 // newc header, name, data, padding
	}
	var archive bytes.Buffer
	archive.Grow(size)
	if err := writeCpio(&archive, entries, o.Epoch); err != nil {
		return nil, err
	}
	if err := compress(w, archive.Bytes(), o.Compress); err != nil {
		return nil, err
	}
	return rep, nil
}

// WriteFile builds the initrd into path atomically: it writes a temporary
// file in the same directory and renames it over path, so path is either
// the complete new archive or untouched, never a partial one. Its errors
// name path, never the temporary file.
func WriteFile(name string, o Options) (rep *Report, err error) {
	// The rename below would replace whatever name is: a device node
	// (/dev/full, /dev/stdout's pipe or terminal) would be gone from the
	// host, a regular file in its place.
	if st, err := os.Stat(name); err == nil && st.IsDir() {
		return nil, &os.PathError{Op: "write", Path: name, Err: syscall.EISDIR}
	} else if err == nil && !st.Mode().IsRegular() {
		return nil, fmt.Errorf("write %s: not a regular file (%s): refusing to replace it", name, fileKind(st.Mode()))
	} else if err == nil {
		// Nor may it replace one of its own inputs: the /init binary
		// would be lost, the archive holding what was read of it.
		if in, ierr := os.Stat(o.Init); ierr == nil && os.SameFile(st, in) {
			return nil, fmt.Errorf("write %s: it is the init binary %s itself: refusing to replace it", name, o.Init)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return nil, outputError(name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if rep, err = Build(&tempWriter{f, name}, o); err != nil {
		return nil, err
	}
	if err = f.Chmod(0o644); err != nil {
		return nil, outputError(name, err)
	}
	if err = f.Sync(); err != nil {
		return nil, outputError(name, err)
	}
	if err = f.Close(); err != nil {
		return nil, outputError(name, err)
	}
	if err = os.Rename(f.Name(), name); err != nil {
		return nil, outputError(name, err)
	}
	return rep, nil
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.String()
}

// tempWriter writes the temporary file of WriteFile; its errors name the
// file the caller asked for.
type tempWriter struct {
	f    *os.File
	name string
}

func (w *tempWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil {
		err = outputError(w.name, err)
	}
	return n, err
}

// outputError restates an error of WriteFile's temporary file as one of
// the output file name: the caller never heard of the temporary file.
func outputError(name string, err error) error {
	var pe *os.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		op := pe.Op
		if op == "createtemp" || op == "open" {
			op = "create"
		}
		return &os.PathError{Op: op, Path: name, Err: pe.Err}
	case errors.As(err, &le):
		return &os.PathError{Op: "write", Path: name, Err: le.Err}
	}
	return fmt.Errorf("write %s: %w", name, err)
}

// collect gathers every entry of the archive, unsorted.
func collect(o Options) ([]entry, *Report, error) {
	if err := checkCompress(o.Compress); err != nil {
		return nil, nil, err
	}
	if o.Init == "" {
		return nil, nil, errors.New("no init binary given")
	}
	init, err := os.ReadFile(o.Init)
	if err != nil {
		return nil, nil, fmt.Errorf("init binary: %w", err)
	}
	entries := []entry{
		{name: "dev", mode: modeDir | 0o755},
		// The kernel opens /dev/console for init's stdio before /init runs;
		// without a built-in initramfs nothing else would provide it.
		{name: "dev/console", mode: modeChar | 0o600, rdevMajor: 5, rdevMinor: 1},
		{name: "init", mode: modeFile | 0o755, data: init},
	}

	rep := &Report{}
	if o.ModulesDir == "" && o.Tree == nil {
		if len(o.Modules) > 0 {
			return nil, nil, missingModule(fmt.Sprintf("modules %s requested but no modules directory given", strings.Join(o.Modules, ", ")))
		}
	} else {
		transport := o.Transport
		if transport == "" {
			transport = "pci"
		}
		tmods, ok := Transports[transport]
		if !ok {
			return nil, nil, fmt.Errorf("unknown transport %q (want %s)", o.Transport, strings.Join(TransportNames(), ", "))
		}
		want := append([]string{"virtiofs"}, tmods...)
		want = append(want, o.Modules...)
		tree, err := o.tree()
		if err != nil {
			return nil, nil, err
		}
		order, builtin, err := tree.resolve(want)
		if err != nil {
			return nil, nil, err
		}
		rep.Builtin = builtin
		if len(order) > 0 {
			entries = append(entries,
				entry{name: "usr", mode: modeDir | 0o755},
				entry{name: "usr/lib", mode: modeDir | 0o755},
				entry{name: ModulesPath, mode: modeDir | 0o755})
		}
		for i, m := range order {
			data, err := tree.read(m)
			if err != nil {
				return nil, nil, err
			}
			if err := sameMachine(init, o.Init, data, m, tree.files[m]); err != nil {
				return nil, nil, badModule{err}
			}
			if o.KernelRelease != "" {
				if err := sameKernel(data, o.KernelRelease, m, tree.files[m]); err != nil {
					return nil, nil, badModule{err}
				}
			}
			file := contract.ModuleFile(i+1, len(order), m)
			if o.StripSignatures {
				var stripped bool
				data, stripped, err = stripSignature(data)
				if err != nil {
					return nil, nil, badModule{fmt.Errorf("module %s (%s): %w", m, tree.files[m], err)}
				}
				if stripped {
					rep.Stripped = append(rep.Stripped, file)
				}
			}
			rep.Modules = append(rep.Modules, file)
			rep.Sources = append(rep.Sources, filepath.Join(tree.dir, filepath.FromSlash(tree.files[m])))
			entries = append(entries, entry{name: ModulesPath + "/" + file, mode: modeFile | 0o644, data: data})
		}
	}

	if o.Argv != nil {
		data, err := contract.ArgvFile(o.Argv)
		if err != nil {
			return nil, nil, err
		}
		entries = append(entries, entry{name: ArgvPath, mode: modeFile | 0o644, data: data})
	}

	entries, err = addExtra(entries, o.Extra)
	if err != nil {
		return nil, nil, err
	}
	return entries, rep, nil
}

// tree is the module tree of o: Tree, or ModulesDir read now.
func (o Options) tree() (*tree, error) {
	if o.Tree != nil {
		return o.Tree.t, nil
	}
	return openTree(o.ModulesDir)
}

// sameMachine refuses a module built for another architecture than the
// init binary: such an initrd cannot boot (the kernel that runs /init
// rejects the module with ENOEXEC). An init binary that is not ELF (the
// caller checked what it wanted) is not compared.
func sameMachine(init []byte, initPath string, module []byte, name, rel string) error {
	im, ok := elfMachine(init)
	if !ok {
		return nil
	}
	mm, ok := elfMachine(module)
	if ok && mm != im {
		return fmt.Errorf("module %s (%s) is built for %s, but the init binary %s for %s: the modules directory is another architecture's",
			name, rel, machineName(mm), initPath, machineName(im))
	}
	return nil
}

func elfMachine(data []byte) (elf.Machine, bool) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, false
	}
	return f.Machine, true
}

func machineName(m elf.Machine) string {
	if a, ok := cpuarch.OfELF(m); ok {
		return a.Name
	}
	return m.String()
}

// addExtra adds the caller's files and the directories they need that
// nobody named.
func addExtra(entries []entry, extra []File) ([]entry, error) {
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.name] = true
	}
	for _, f := range extra {
		name := strings.TrimPrefix(path.Clean("/"+f.Name), "/")
		if name == "" {
			return nil, fmt.Errorf("extra file %q: empty name", f.Name)
		}
		switch f.Mode & modeType {
		case modeFile, modeDir, modeSymlink:
		default:
			return nil, fmt.Errorf("extra file %q: unsupported mode %#o", f.Name, f.Mode)
		}
		if seen[name] {
			return nil, fmt.Errorf("extra file %q: %s is already in the archive", f.Name, name)
		}
		seen[name] = true
		entries = append(entries, entry{name: name, mode: f.Mode, data: f.Data})
	}
	for _, e := range entries {
		for dir := path.Dir(e.name); dir != "."; dir = path.Dir(dir) {
			if !seen[dir] {
				seen[dir] = true
				entries = append(entries, entry{name: dir, mode: modeDir | 0o755})
			}
		}
	}
	return entries, nil
}

func checkCompress(c string) error {
	if c == "" {
		return nil
	}
	for _, ok := range Compressions {
		if c == ok {
			return nil
		}
	}
	return fmt.Errorf("unknown compression %q (want %s)", c, strings.Join(Compressions, ", "))
}
