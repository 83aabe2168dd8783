package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"virtinit/tools/internal/contract"
	"virtinit/tools/internal/initrd"
	"virtinit/tools/internal/vm"
)

// consoleKeep is how much of the kernel's console a run keeps to explain
// a boot that failed.
const consoleKeep = 64 << 10

// execution is one run of a plan, with what it reads and writes.
type execution struct {
	*app
	p      *plan
	o      *options
	cancel context.CancelCauseFunc
	stdin  io.Reader
	stdout io.Writer
	times  vm.Times // the VM's, once it ran ($VIRTINIT_TIMES)
}

// execute carries out the plan: it builds the initrd in a temporary
// directory of its own, boots the VM with the program's channels and
// tells how the run ended. Everything it made is gone when it returns.
func (e *execution) execute(ctx context.Context) outcome {
	dir, err := makeTempDir(os.TempDir())
	if err != nil {
		return outcome{err: fmt.Errorf("temporary directory in %s (TMPDIR): %w", os.TempDir(), err)}
	}
	defer dir.remove()
	initrdPath := filepath.Join(dir.path, "initrd")
	if err := e.writeInitrd(initrdPath); err != nil {
		return outcome{err: err}
	}
	if ctx.Err() != nil {
		return outcome{stop: context.Cause(ctx)}
	}
	var status limitedBuffer
	ports, err := e.ports(&status)
	if err != nil {
		return outcome{err: err}
	}
	var console io.Writer
	if e.o.debug {
		console = e.stderr
	}
	var before []int64
	if !e.p.virtiofsd.Rust {
		before, _ = e.freeSpace()
	}
	res, err := vm.Run(ctx, e.vmConfig(initrdPath, dir.path, ports, console))
	if res != nil {
		e.times = res.Times
		for _, ie := range res.InputErrors {
			e.errorf("warning: the program's input ended at a read error: %s", ie)
		}
	}
	if ctx.Err() != nil {
		return outcome{stop: context.Cause(ctx)}
	}
	var out outcome
	out.record, out.recorded = contract.ParseRecord(status.Bytes())
	switch {
	case res != nil && res.TimedOut:
		out.timedOut = true
	case out.record.Started && !out.recorded:
		// Not a failed boot, whatever qemu's exit: the program ran.
		out.died = diedHow(res, err)
		if err != nil {
			e.debugf("%v", err)
		}
	case err != nil:
		return outcome{err: err}
	}
	if out.recorded && !e.p.virtiofsd.Rust {
		out.full = e.fullShares(before)
	}
	var output []byte
	if res != nil {
		output = res.Output
	}
	e.report(out, status.Bytes(), output)
	return out
}

// A filesystem counts as full for fullShares when it has less than
// fullRoom free beyond its reserve: what ext4 keeps even from root, 2% of
// its blocks and at most 16 MiB (fs/ext4/super.c,
// ext4_calculate_resv_clusters; it counts as free in statfs), less on
// other filesystems, which fullShares takes as the same. statfs's count
// of blocks leaves ext4's metadata out, some 13% of a 20 MB filesystem,
// so 2.5% of that count stands for the kernel's 2% of all.
const (
	fullRoom    = 64 << 10
	fullReserve = 16 << 20
)

// fullLimit is the free space under which a filesystem of blocks blocks
// of size bytes (statfs's f_blocks and f_bsize) counts as full.
func fullLimit(blocks, size int64) int64 {
	return min(blocks*size/40, fullReserve) + fullRoom
}

// fullShare is a share whose filesystem a run filled.
type fullShare struct {
	where string // sharePath's
	free  int64  // bytes free at the end
}

// freeSpace is the free space of each read-write share's filesystem,
// counting the blocks root may use, as the C virtiofsd runs as root; -1
// where there is none to tell: a read-only share, a failed statfs, or a
// filesystem without a size (ramfs, which never fills).
func (e *execution) freeSpace() (free, limit []int64) {
	free, limit = make([]int64, len(e.p.shares)), make([]int64, len(e.p.shares))
	for i, s := range e.p.shares {
		var st syscall.Statfs_t
		if s.ReadOnly || syscall.Statfs(s.Path, &st) != nil || st.Blocks == 0 {
			free[i] = -1
			continue
		}
		free[i] = int64(st.Bfree) * int64(st.Bsize)
		limit[i] = fullLimit(int64(st.Blocks), int64(st.Bsize))
	}
	return free, limit
}

// fullShares makes up, for the C virtiofsd, for what the guest cannot
// see: it answers a write its disk could not hold with a short count,
// which the guest's FUSE write-back takes for success
// (fs/fuse/file.c, fuse_writepage_end reads only the error), so data a
// program wrote through a shared mapping is lost without an error for
// /init's syncfs to report. It returns the read-write shares whose
// filesystems the run filled: under the limit of freeSpace at the end,
// and with less room than at the start (before, freeSpace's then). Such
// a share may have lost data; one as full before the run and no fuller
// was not written to.
func (e *execution) fullShares(before []int64) []fullShare {
	var full []fullShare
	free, limit := e.freeSpace()
	for i, f := range free {
		if f < 0 || f >= limit[i] || i < len(before) && f >= before[i] {
			continue
		}
		full = append(full, fullShare{sharePath(e.p.shares[i].Tag, e.p.shares), f})
	}
	return full
}

// writeInitrd builds the initrd: a file of the run's own directory, read
// once by qemu and removed, so it is neither synced nor renamed into
// place as initrd.WriteFile would.
func (e *execution) writeInitrd(path string) error {
	if done, err := e.cachedInitrd(path); done || err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	rep, err := initrd.Build(f, e.p.initrd)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return &prefixError{"build the initrd: ", err}
	}
	e.debugf("initrd with /init %s, modules %s, built in %s", e.p.initrd.Init, joinOrNone(rep.Modules), joinOrNone(rep.Builtin))
	return nil
}

// prefixError is err with more context in front of its message, keeping
// its kind.
type prefixError struct {
	prefix string
	err    error
}

func (e *prefixError) Error() string { return e.prefix + e.err.Error() }
func (e *prefixError) Unwrap() error { return e.err }

// ports are the virtio-serial ports of the plan's mode (contract.Ports):
// the status port, and the program's stdio as plain ports, or on a
// terminal the guest's terminal, with the host's terminal raw until the
// run ends (the app restores it, on a second signal too).
func (e *execution) ports(status io.Writer) ([]vm.Port, error) {
	ports := []vm.Port{{Name: contract.PortStatus, Out: status}}
	if e.p.mode != contract.ModeTTY {
		return append(ports,
			vm.Port{Name: contract.PortStdin, In: e.stdin},
			vm.Port{Name: contract.PortStdout, Out: pipeWriter{e.stdout, e.cancel}},
			vm.Port{Name: contract.PortStderr, Out: pipeWriter{e.stderr, e.cancel}}), nil
	}
	in := e.stdin.(*os.File)
	if err := e.makeRaw(in); err != nil {
		return nil, err
	}
	e.debugf("interactive: the escape key %s kills the VM", escapeName)
	keys := &escapeReader{r: in, escaped: func() { e.cancel(errEscape) }}
	return append(ports, vm.Port{Name: contract.PortTTY, Console: true, In: keys, Out: e.stdout}), nil
}

// vmConfig is the plan as vm runs it.
func (e *execution) vmConfig(initrdPath, tempDir string, ports []vm.Port, console io.Writer) vm.Config {
	p, o := e.p, e.o
	return vm.Config{
		Arch:         p.arch.Name,
		Machine:      p.machine,
		Transport:    p.transport,
		Kernel:       p.kernel.image,
		Initrd:       initrdPath,
		Append:       p.line,
		Shares:       p.shares,
		Qemu:         p.qemu,
		Virtiofsd:    p.virtiofsd,
		Memory:       o.memory,
		Tune:         !o.noTune,
		PanicDevice:  p.panicDevice,
		Icount:       o.icount,
		CPUs:         o.cpus,
		NoReboot:     true,
		Net:          o.net,
		Ports:        ports,
		Ending:       vm.QemuExit{},
		Console:      console,
		ConsoleLimit: consoleKeep,
		TempDir:      tempDir,
		Timeout:      o.timeout,
		Debug:        o.debug,
		Log:          e.stderr,
	}
}

// report says how the VM ended. The end comes from the status port
// alone: the guest's record, or none when the guest did not boot to the
// program. The console is only shown, to explain a failed boot.
func (e *execution) report(out outcome, statusPort, console []byte) {
	rec := out.record
	if rec.OOMKills > 0 {
		e.errorf("the guest's kernel ran out of memory and killed %d process(es) while the program ran (--memory gives it more)", rec.OOMKills)
	}
	for _, l := range rec.Lost {
		tag, why, _ := strings.Cut(l, ": ")
		e.errorf("data the program wrote to %s was lost: the guest could not write it back (%s)", sharePath(tag, e.p.shares), why)
	}
	for _, f := range out.full {
		e.errorf("data the program wrote to %s may have been lost: the run filled its filesystem (%d bytes left), and the C virtiofsd (%s) does not report the writes it could not complete; the Rust virtiofsd does (--virtiofsd)", f.where, f.free, e.p.virtiofsd.Path)
	}
	switch {
	case out.timedOut:
		e.errorf("timed out after %v", e.o.timeout)
	case out.died != "":
		e.errorf("the guest died while the program ran: %s", out.died)
	case !out.recorded:
		e.errorf("the guest did not boot to the program (it ended without a status record)")
		if len(statusPort) > 0 {
			e.errorf("the status port carried %q, which is no record", statusPort)
		}
		for _, l := range bootLines(console) {
			e.errorf("console: %s", l)
		}
		if !e.o.debug {
			e.errorf("--debug shows the whole console")
		}
	case rec.Kind == contract.RecordShutdown:
		e.debugf("the program asked the guest to %s", rec.Text)
	case rec.Kind == contract.RecordExit:
		e.debugf("the program exited with status %d", rec.N)
	case rec.Kind == contract.RecordSignal:
		e.debugf("the program was killed by signal %d (%v)", rec.N, syscall.Signal(rec.N))
	case rec.Kind == contract.RecordExec:
		e.errorf("%s", rec.Text)
	case rec.Kind == contract.RecordFatal:
		e.errorf("the guest did not boot to the program: %s", rec.Text)
	}
}

// limitedBuffer keeps what the status port carries: one short line, so
// anything past 4 KiB is not a record, and is not kept.
type limitedBuffer struct {
	mu   sync.Mutex
	b    []byte
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.b)+len(p) > 4096 {
		l.over = true
	} else {
		l.b = append(l.b, p...)
	}
	return len(p), nil
}

// Bytes is what was written, or nil when it was too much to be a record.
func (l *limitedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.over {
		return nil
	}
	return append([]byte(nil), l.b...)
}

// errEscape is the cause of a run stopped by the escape key.
var errEscape = errors.New("the escape key " + escapeName + " killed the VM")
