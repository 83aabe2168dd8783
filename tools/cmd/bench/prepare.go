package main

import (
	"fmt"
	"os"
	"path/filepath"

	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// workspace is the benchmark's temporary directory: the stamp programs,
// the root shares, the other shares and the initrds.
type workspace struct {
	dir    string
	stamp  string            // the x86-64 stamp program on the host
	root   string            // the x86-64 root share: /stamp and the mount points /init moves
	stamps map[string]string // the stamp program of each GOARCH ("amd64": stamp)
	roots  map[string]string // the root share of each GOARCH ("amd64": root)
}

func newWorkspace() (*workspace, error) {
	dir, err := os.MkdirTemp("", "virtinit-bench-")
	if err != nil {
		return nil, err
	}
	w := &workspace{dir: dir, stamps: map[string]string{}, roots: map[string]string{}}
	for _, arch := range []string{"amd64", "arm64"} {
		name, root := "stamp", "root"
		if arch != "amd64" {
			name, root = "stamp-"+arch, "root-"+arch
		}
		w.stamps[arch], w.roots[arch] = filepath.Join(dir, name), filepath.Join(dir, root)
		prog, err := stampELFFor(arch)
		if err != nil {
			return w, err
		}
		if err := os.WriteFile(w.stamps[arch], prog, 0o755); err != nil {
			return w, err
		}
		// The directories switch root moves the API mounts onto; without
		// them /init unmounts instead and warns, which a real root never
		// makes it do.
		for _, d := range []string{"run", "dev", "proc", "sys", "tmp"} {
			if err := os.MkdirAll(filepath.Join(w.roots[arch], d), 0o755); err != nil {
				return w, err
			}
		}
		if err := os.WriteFile(filepath.Join(w.roots[arch], stampPath), prog, 0o755); err != nil {
			return w, err
		}
	}
	w.stamp, w.root = w.stamps["amd64"], w.roots["amd64"]
	return w, nil
}

// initSpec is the /init of one variant: a binary, and for the padded
// floor a file of pad bytes beside it.
type initSpec struct {
	variant variant
	init    string
	pad     int
}

// prepare builds the initrds of a configuration, one per variant, and its
// shares. The floors' /init is the stamp program itself. Every variant
// gets the same modules, so that what the kernel unpacks differs only in
// /init (and the padded floor's pad, as large as our /init).
func (w *workspace) prepare(c configuration, k kernel, inits []initSpec) (*prepared, error) {
	p := &prepared{configuration: c, kernel: k, initrds: map[variant]string{}, sizes: map[variant]int64{}}
	for _, is := range inits {
		v := is.variant
		var extra []initrd.File
		if is.pad > 0 {
			extra = append(extra, initrd.File{Name: "pad", Mode: 0o100644, Data: make([]byte, is.pad)})
		}
		out := filepath.Join(w.dir, c.name+"-"+string(v)+".img")
		rep, err := initrd.WriteFile(out, initrd.Options{
			Init:            is.init,
			ModulesDir:      k.modules,
			Transport:       c.transport,
			StripSignatures: c.strip,
			Modules:         c.modules,
			Extra:           extra,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: initrd for %s: %w", c.name, v, err)
		}
		st, err := os.Stat(out)
		if err != nil {
			return nil, err
		}
		p.initrds[v], p.sizes[v], p.modules = out, st.Size(), rep.Modules
	}
	for _, s := range c.shares {
		dir := w.roots[c.goarch()]
		if !s.root {
			dir = filepath.Join(w.dir, "share-"+s.tag)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
		}
		p.shares = append(p.shares, vm.Share{Tag: s.tag, Path: dir, ReadOnly: s.readOnly})
	}
	return p, nil
}
