package initrd

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"virtinit/tools/internal/contract"
)

// moduleSuffixes are the file names a module tree may hold a module
// under: those /init loads (a tree's module is decompressed into the
// initrd all the same).
var moduleSuffixes = contract.ModuleSuffixes

// tree is one kernel's module tree: where each module's file is, which
// modules are built in, and the dependencies modules.dep lists.
type tree struct {
	dir     string
	release string              // the base name of dir with links resolved: the kernel's release
	files   map[string]string   // module name -> path relative to dir
	order   string              // modules.order's text when the tree is read from it; see file
	builtin map[string]bool     // module names in modules.builtin
	deps    map[string][]string // from modules.dep; nil when there is none
	data    map[string][]byte   // decompressed contents read so far
}

// moduleName turns a file name or path into a module name: the base name
// without its suffix, '-' spelled '_' as the kernel does.
func moduleName(file string) string {
	base := path.Base(filepath.ToSlash(file))
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(base, s) {
			base = strings.TrimSuffix(base, s)
			break
		}
	}
	return strings.ReplaceAll(base, "-", "_")
}

// isModuleFile tells whether a file name has one of the module suffixes.
func isModuleFile(name string) bool {
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(name, s) && len(name) > len(s) {
			return true
		}
	}
	return false
}

// openTree indexes the module tree at dir without walking it where its
// index files suffice, as modprobe does (a Debian kernel's tree has some
// 950 directories, and the walk took 15-30 ms of every chrootvm run):
//   - modules.dep, which depmod writes, names every module and its path;
//   - without one (a tree unpacked from a Debian package: dpkg -x runs no
//     depmod), modules.order, which the kernel's build writes, names every
//     module it built, by its path with .ko where the package may have
//     compressed it; file learns the suffix when a module is asked for.
//     Dependencies then come from each module's .modinfo section;
//   - with neither, or a modules.dep with a path outside the tree, the
//     tree is walked.
//
// modules.builtin is optional too.
func openTree(dir string) (*tree, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("modules directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("modules directory %s: not a directory", dir)
	}
	t := &tree{dir: dir, release: KernelRelease(dir), files: map[string]string{}, builtin: map[string]bool{}, data: map[string][]byte{}}
	if err := t.readBuiltin(); err != nil {
		return nil, err
	}
	paths, complete, err := t.readDep()
	if err != nil {
		return nil, err
	}
	switch {
	case complete:
	case t.deps == nil:
		var ok bool
		if t.order, ok, err = t.readOrder(); err == nil && !ok {
			err = t.walk()
		}
	default:
		err = t.walk()
	}
	if err != nil {
		return nil, err
	}
	for name, rel := range paths {
		t.files[name] = rel
	}
	return t, nil
}

// readOrder reads modules.order: one path a line, relative to the tree,
// ending in .ko. It is kept as text, searched by file, and turned into
// names only for notFound's suggestions: a map of its 4,000 lines cost a
// fresh chrootvm 4-6 ms, most of it in page faults of the new heap.
func (t *tree) readOrder() (order string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(t.dir, "modules.order"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return string(b), err == nil, err
}

// orderLines calls f with each module path of modules.order and its
// module name's spelling in the file (base name without .ko), until f
// returns false.
func (t *tree) orderLines(f func(rel, base string) bool) {
	for rest := t.order; rest != ""; {
		line := rest
		if i := strings.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		rel := t.relative(strings.TrimSpace(line))
		base := rel[strings.LastIndexByte(rel, '/')+1:]
		if len(base) > len(".ko") && strings.HasSuffix(base, ".ko") && !f(rel, base[:len(base)-len(".ko")]) {
			return
		}
	}
}

// sameModule tells whether a file's base name spells a module name, '-'
// and '_' being the same to the kernel.
func sameModule(base, name string) bool {
	if len(base) != len(name) {
		return false
	}
	for i := 0; i < len(base); i++ {
		if b, n := base[i], name[i]; b != n && !(b == '-' && n == '_') {
			return false
		}
	}
	return true
}

// file returns the path of a module's file relative to the tree. A module
// that modules.order names is looked for under each suffix a module file
// may have, the first time it is asked for.
func (t *tree) file(name string) (string, bool) {
	if rel, ok := t.files[name]; ok {
		return rel, true
	}
	var base string
	t.orderLines(func(rel, b string) bool {
		if sameModule(b, name) {
			base = strings.TrimSuffix(rel, ".ko")
			return false
		}
		return true
	})
	if base == "" {
		return "", false
	}
	for _, s := range moduleSuffixes {
		if fi, err := os.Stat(filepath.Join(t.dir, filepath.FromSlash(base+s))); err == nil && fi.Mode().IsRegular() {
			t.files[name] = base + s
			return base + s, true
		}
	}
	return "", false
}

// walk finds every module file under dir. When a name occurs twice, the
// copy under updates/ wins (as depmod's default search order has it),
// otherwise the first in lexical order.
func (t *tree) walk() error {
	// WalkDir does not follow a symbolic link at the root, and the cache's
	// kernels/V/modules is one.
	root, err := filepath.EvalSymlinks(t.dir)
	if err != nil {
		return err
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isModuleFile(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		name := moduleName(rel)
		if old, ok := t.files[name]; ok && !(strings.HasPrefix(rel, "updates/") && !strings.HasPrefix(old, "updates/")) {
			return nil
		}
		t.files[name] = rel
		return nil
	})
}

// readBuiltin reads modules.builtin: one path a line of a module that the
// kernel has built in.
func (t *tree) readBuiltin() error {
	f, err := os.Open(filepath.Join(t.dir, "modules.builtin"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			t.builtin[moduleName(line)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return nil
}

// readDep reads modules.dep: "path: dep-path dep-path ..." a line, paths
// relative to the tree. Its dependency lists are complete (depmod writes
// the transitive closure), which the ordering below does not need but
// tolerates. It returns each module's path, which overrides a walk's, and
// whether the file names them all: it exists and every path in it could
// be made relative to the tree.
func (t *tree) readDep() (paths map[string]string, complete bool, err error) {
	f, err := os.Open(filepath.Join(t.dir, "modules.dep"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	t.deps = map[string][]string{}
	paths = map[string]string{}
	complete = true
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		mod, deps, ok := strings.Cut(line, ":")
		if !ok {
			return nil, false, fmt.Errorf("%s:%d: no colon in %q", f.Name(), n, line)
		}
		name := moduleName(mod)
		if rel := t.relative(mod); rel != "" {
			paths[name] = rel
		} else {
			complete = false
		}
		list := []string{}
		for _, d := range strings.Fields(deps) {
			list = append(list, moduleName(d))
		}
		t.deps[name] = list
	}
	if err := sc.Err(); err != nil {
		return nil, false, fmt.Errorf("%s: %w", f.Name(), err)
	}
	return paths, complete, nil
}

// relative makes a path from modules.dep or modules.order relative to
// the tree, or returns "" for a path outside it (one that climbs out with
// ".."). Old depmod versions wrote absolute paths
// (/lib/modules/KVER/kernel/...); those are cut after the kernel's
// release, the tree's own name with links resolved (the cache's
// kernels/V/modules is a link to lib/modules/KVER).
func (t *tree) relative(p string) string {
	if path.IsAbs(p) {
		marker := "/" + t.release + "/"
		i := strings.Index(p, marker)
		if i < 0 {
			return ""
		}
		p = p[i+len(marker):]
	}
	p = path.Clean(p)
	if p == "." || p == ".." || strings.HasPrefix(p, "../") {
		return ""
	}
	return p
}

// dependencies returns a module's direct dependencies, sorted: from
// modules.dep when it lists the module, otherwise from its .modinfo.
func (t *tree) dependencies(name string) ([]string, error) {
	var deps []string
	if d, ok := t.deps[name]; ok {
		deps = append(deps, d...)
	} else {
		data, err := t.read(name)
		if err != nil {
			return nil, err
		}
		deps, err = modinfoDepends(data)
		if err != nil {
			return nil, badModule{fmt.Errorf("module %s (%s): %w", name, t.files[name], err)}
		}
	}
	sort.Strings(deps)
	return deps, nil
}

// resolve returns the modules to load for want, each after everything it
// depends on, and the wanted or needed modules the kernel has built in.
// The order is a depth-first post-order: the wanted modules in the order
// given, each one's dependencies in name order, so the same tree and the
// same request always give the same order.
func (t *tree) resolve(want []string) (order, builtin []string, err error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	seenBuiltin := map[string]bool{}
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return badModule{fmt.Errorf("modules depend on each other in a cycle: %s", strings.Join(append(chain, name), " -> "))}
		}
		if t.builtin[name] {
			if !seenBuiltin[name] {
				seenBuiltin[name] = true
				builtin = append(builtin, name)
			}
			state[name] = done
			return nil
		}
		if _, ok := t.file(name); !ok {
			return t.notFound(name, chain)
		}
		state[name] = visiting
		deps, err := t.dependencies(name)
		if err != nil {
			return err
		}
		// The full slice expression makes append copy, so that siblings
		// never share a chain.
		next := append(chain[:len(chain):len(chain)], name)
		for _, d := range deps {
			if err := visit(d, next); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, name)
		return nil
	}
	for _, w := range want {
		if err := visit(strings.ReplaceAll(w, "-", "_"), nil); err != nil {
			return nil, nil, err
		}
	}
	return order, builtin, nil
}

// ErrNoModule is wrapped by the errors of a module that the initrd needs
// and the module tree does not have (or that there is no tree to take it
// from), so that a caller can tell a missing part from a broken one.
var ErrNoModule = errors.New("module missing")

// ErrBadModule is wrapped by the errors of a module that the initrd needs
// and that the module tree holds broken: a file that cannot be read or
// decompressed, is no ELF file or has no readable .modinfo, or modules
// that depend on each other in a cycle.
var ErrBadModule = errors.New("module broken")

// badModule is a broken module's error; it is ErrBadModule, and whatever
// err is.
type badModule struct{ err error }

func (e badModule) Error() string      { return e.err.Error() }
func (e badModule) Unwrap() error      { return e.err }
func (badModule) Is(target error) bool { return target == ErrBadModule }

// missingModule is the message of a missing module; it is ErrNoModule.
type missingModule string

func (e missingModule) Error() string      { return string(e) }
func (missingModule) Is(target error) bool { return target == ErrNoModule }

// notFound describes a module that is neither a file of the tree nor built
// in, with the names that come closest.
func (t *tree) notFound(name string, chain []string) error {
	msg := fmt.Sprintf("module %s not found in %s (neither a module file nor in modules.builtin)", name, t.dir)
	if len(chain) > 0 {
		msg += ", needed by " + strings.Join(chain, " <- ")
	}
	var all []string
	for n := range t.files {
		all = append(all, n)
	}
	seen := map[string]bool{}
	t.orderLines(func(_, base string) bool {
		if n := moduleName(base); !seen[n] {
			seen[n] = true
			if _, ok := t.files[n]; !ok {
				all = append(all, n)
			}
		}
		return true
	})
	for n := range t.builtin {
		if _, ok := t.files[n]; !ok && !seen[n] {
			all = append(all, n)
		}
	}
	all = slices.DeleteFunc(all, func(n string) bool { return n == name }) // listed, but its file is gone
	if near := nearNames(name, all, 5); len(near) > 0 {
		msg += "; did you mean " + strings.Join(near, ", ") + "?"
	}
	return missingModule(msg)
}

// read returns the contents of a module's file, decompressed.
func (t *tree) read(name string) ([]byte, error) {
	if data, ok := t.data[name]; ok {
		return data, nil
	}
	rel, ok := t.file(name)
	if !ok {
		return nil, missingModule(fmt.Sprintf("module %s: no such file in %s", name, t.dir))
	}
	p := filepath.Join(t.dir, filepath.FromSlash(rel))
	switch fi, err := os.Stat(p); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, missingModule(fmt.Sprintf("module %s: %s is listed in the tree's index files but is not there (%v)", name, p, err))
	case err == nil && !fi.Mode().IsRegular():
		// A FIFO would block the read until someone writes to it.
		return nil, badModule{fmt.Errorf("module %s: %s is not a regular file (%v)", name, p, fi.Mode().Type())}
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		return nil, badModule{fmt.Errorf("module %s: %w", name, err)}
	}
	data, err := decompress(rel, raw)
	if err != nil {
		return nil, badModule{fmt.Errorf("module %s (%s): %w", name, p, err)}
	}
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		return nil, badModule{fmt.Errorf("module %s (%s): not an ELF file", name, p)}
	}
	t.data[name] = data
	return data, nil
}

// modinfoDepends reads the depends= entry of a module's .modinfo section,
// which holds NUL-terminated key=value strings (MODULE_INFO in
// include/linux/moduleparam.h; modpost adds depends=).
func modinfoDepends(data []byte) ([]string, error) {
	v, err := modinfoValue(data, "depends")
	if err != nil {
		return nil, err
	}
	var deps []string
	for _, d := range strings.Split(v, ",") {
		if d != "" {
			deps = append(deps, strings.ReplaceAll(d, "-", "_"))
		}
	}
	return deps, nil
}

// modinfoValue returns the value of key in a module's .modinfo section,
// "" when it has none.
func modinfoValue(data []byte, key string) (string, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return "", errors.New("no .modinfo section")
	}
	info, err := sec.Data()
	if err != nil {
		return "", fmt.Errorf(".modinfo: %w", err)
	}
	for _, kv := range bytes.Split(info, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(key+"=")); ok {
			return string(v), nil
		}
	}
	return "", nil
}

// sameKernel checks that a module was built for the kernel release: the
// first word of its vermagic (include/linux/vermagic.h, UTS_RELEASE
// first), which the kernel refuses to load otherwise.
func sameKernel(data []byte, release, name, rel string) error {
	v, err := modinfoValue(data, "vermagic")
	if err != nil {
		return fmt.Errorf("module %s (%s): %w", name, rel, err)
	}
	if f := strings.Fields(v); len(f) > 0 && f[0] != release {
		return fmt.Errorf("module %s (%s) is built for kernel %s, but the kernel is %s: the module tree is another kernel's", name, rel, f[0], release)
	}
	return nil
}

// Tree is one kernel's module tree, read once: a caller that asks
// about its modules and then builds an initrd from it (Options.Tree)
// reads its index files once.
type Tree struct{ t *tree }

// ReadTree reads the module tree at dir (.../lib/modules/KVER).
func ReadTree(dir string) (*Tree, error) {
	t, err := openTree(dir)
	if err != nil {
		return nil, err
	}
	return &Tree{t}, nil
}

// Dir is the tree's directory.
func (t *Tree) Dir() string { return t.t.dir }

// Available tells whether the tree's kernel has a module built in, or
// has it as a file in the tree.
func (t *Tree) Available(name string) (builtin, loadable bool) {
	name = strings.ReplaceAll(name, "-", "_")
	_, loadable = t.t.file(name)
	return t.t.builtin[name], loadable && !t.t.builtin[name]
}

// ModuleAvailable tells whether the kernel of a module tree has a module
// built in, or has it as a file in the tree.
func ModuleAvailable(modulesDir, name string) (builtin, loadable bool, err error) {
	t, err := ReadTree(modulesDir)
	if err != nil {
		return false, false, err
	}
	builtin, loadable = t.Available(name)
	return builtin, loadable, nil
}

// KernelRelease returns the kernel release a module tree belongs to: the
// base name of .../lib/modules/KVER, after following symbolic links (the
// cache's kernels/V/modules is one).
func KernelRelease(modulesDir string) string {
	if real, err := filepath.EvalSymlinks(modulesDir); err == nil {
		modulesDir = real
	}
	return filepath.Base(filepath.Clean(modulesDir))
}

// nearNames returns up to max names close to name: those that contain it or
// that it contains, and those within a small edit distance, closest first.
func nearNames(name string, all []string, max int) []string {
	type cand struct {
		name string
		dist int
	}
	var cands []cand
	limit := min(len(name)/4+1, 3)
	for _, n := range all {
		d := editDistance(name, n)
		if d <= limit || (len(name) >= 3 && (strings.Contains(n, name) || strings.Contains(name, n) && len(n) >= 3)) {
			cands = append(cands, cand{n, d})
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].dist != cands[j].dist {
			return cands[i].dist < cands[j].dist
		}
		return cands[i].name < cands[j].name
	})
	var out []string
	for i := 0; i < len(cands) && i < max; i++ {
		out = append(out, cands[i].name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
