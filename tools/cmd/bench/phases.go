package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// step is one line of /init's debug output (README.md of the repository):
//
//	initrd: debug T K STEP WHAT [DETAIL]
//
// T is CLOCK_BOOTTIME in milliseconds when the step ended, K the
// milliseconds spent in the step's system calls (finit_module, mount,
// mkdir), or "-".
type step struct {
	End    float64 `json:"end_ms"`               // T
	Kernel float64 `json:"kernel_ms"`            // K, 0 for "-"
	HasK   bool    `json:"has_kernel_ms"`        // K was a number
	Step   string  `json:"step"`                 // start, mount, module, net, virtiofs, move, delete, switchroot, exec
	What   string  `json:"what"`                 // the object
	Detail string  `json:"detail,omitempty"`     // the rest of the line
	Start  float64 `json:"started_ms,omitempty"` // for "start": when /init's main began
}

var (
	debugLine = regexp.MustCompile(`(?m)^initrd: debug ([0-9.]+) (-|[0-9.]+) (\S+) ?(\S*) ?(.*?)\r?$`)
	startedAt = regexp.MustCompile(`started at ([0-9.]+) ms`)
)

// parseSteps reads the debug lines of a console output, in order.
func parseSteps(out []byte) ([]step, error) {
	var steps []step
	for _, m := range debugLine.FindAllSubmatch(out, -1) {
		s := step{Step: string(m[3]), What: string(m[4]), Detail: strings.TrimSpace(string(m[5]))}
		var err error
		if s.End, err = strconv.ParseFloat(string(m[1]), 64); err != nil {
			return nil, fmt.Errorf("debug line %q: %w", m[0], err)
		}
		if string(m[2]) != "-" {
			if s.Kernel, err = strconv.ParseFloat(string(m[2]), 64); err != nil {
				return nil, fmt.Errorf("debug line %q: %w", m[0], err)
			}
			s.HasK = true
		}
		if s.Step == "start" {
			sm := startedAt.FindStringSubmatch(s.Detail)
			if sm == nil {
				return nil, fmt.Errorf("debug line %q: no \"started at X ms\"", m[0])
			}
			if s.Start, err = strconv.ParseFloat(sm[1], 64); err != nil {
				return nil, fmt.Errorf("debug line %q: %w", m[0], err)
			}
		}
		steps = append(steps, s)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("no \"initrd: debug\" lines in the console output")
	}
	return steps, nil
}

// segment is one piece of the time from the floor (the null init's
// start) to the final program's start.
type segment struct {
	Name   string  `json:"name"`      // "go runtime start", "module fuse", "exec → program"
	From   float64 `json:"from_ms"`   // guest ms, CLOCK_BOOTTIME
	To     float64 `json:"to_ms"`     //
	Kernel float64 `json:"kernel_ms"` // of which inside the step's finit_module/mount/mkdir calls
	Unpack bool    `json:"unpack,omitempty"`
	// Waited is the part of the segment's own time flagged as a wait on
	// something outside the guest (see flagOutliers); 0 for the others.
	Waited float64 `json:"waited_ms,omitempty"`
	kind   string  // the debug line's step ("move", "mount"), for flagOutliers
}

// Own is the segment's time outside those calls.
func (s segment) Own() float64 { return s.To - s.From - s.Kernel }

// phases is the breakdown of one rd.debug boot.
type phases struct {
	Floor    float64   `json:"floor_ms"`     // the null init's start (floor median)
	Exec     float64   `json:"init_exec_ms"` // /init's exec: the padded floor's median
	Program  float64   `json:"program_ms"`   // the final program's first instructions, in this boot
	Segments []segment `json:"segments"`     // from Floor to Program, in order
	Unpack   float64   `json:"unpack_ms"`    // Exec - Floor: unpacking /init's bytes
	Kernel   float64   `json:"kernel_ms"`    // time inside finit_module/mount/mkdir calls
	Own      float64   `json:"own_ms"`       // the rest from Exec to Program, but for Waited
	Waited   float64   `json:"waited_ms"`    // flagged waits on the host (flagOutliers)
	Steps    []step    `json:"steps"`        // the debug lines
}

// kernelSteps are the steps whose K is the kernel's work in a mount or
// finit_module call (with its mkdir), or in the socket and ioctls that
// bring an interface up (net: lo on every boot), not ours.
var kernelSteps = map[string]bool{"mount": true, "module": true, "virtiofs": true, "move": true, "net": true}

// breakdown cuts the time from floor (when the kernel starts a null init)
// to program (the final program's stamp) into segments: the unpacking of
// our larger /init (up to exec, the padded floor), the Go runtime's start
// up to main, one segment per debug line ending at that line's T, and the
// exec of the final program.
func breakdown(steps []step, floor, exec, program float64) phases {
	p := phases{Floor: floor, Exec: exec, Program: program, Steps: steps}
	at := floor
	add := func(name string, to, kernel float64) {
		p.Segments = append(p.Segments, segment{Name: name, From: at, To: to, Kernel: kernel})
		at = to
	}
	add("unpack /init", exec, 0)
	p.Segments[0].Unpack = true
	for _, s := range steps {
		if s.Step == "start" {
			add("go runtime start", s.Start, 0)
		}
		name := s.Step
		switch s.Step {
		case "start", "exec", "switchroot", "delete":
		default:
			name += " " + s.What
		}
		k := 0.0
		if kernelSteps[s.Step] && s.HasK {
			k = s.Kernel
		}
		add(name, s.End, k)
		p.Segments[len(p.Segments)-1].kind = s.Step
	}
	add("exec → program", program, 0)
	p.Unpack = exec - floor
	flagOutliers(p.Segments[1:])
	for _, s := range p.Segments[1:] {
		p.Kernel += s.Kernel
		p.Own += s.Own() - s.Waited
		p.Waited += s.Waited
	}
	return p
}

// Bounds of flagOutliers, in guest ms.
const (
	outlierFloor    = 1.0   // a step's own time below this is never flagged
	outlierFactor   = 5.0   // times the median of the steps of its kind
	outlierAbsolute = 100.0 // no step of /init's own takes this long
)

// flagOutliers marks the segments whose own time (outside their system
// calls) is a wait on something outside the guest rather than /init's
// work. Under -icount with sleep=off, a vCPU with nothing to run while
// it waits for a host process (a virtiofsd's reply) has its clock moved
// to its next timer, a tick (4 ms) or more, so such a wait shows as a
// step that took many times what its siblings took: one of five moves
// at 4.3 ms where the others take 0.1. A segment is flagged when its own
// time is at least outlierFloor and over outlierFactor times the median
// of the segments of its kind (where there are three or more of them),
// or over outlierAbsolute; what it took over that median (or, alone of
// its kind, all of it) is its Waited.
func flagOutliers(segs []segment) {
	byKind := map[string][]float64{}
	for _, s := range segs {
		if s.kind != "" {
			byKind[s.kind] = append(byKind[s.kind], s.Own())
		}
	}
	for i := range segs {
		s := &segs[i]
		own := s.Own()
		if own < outlierFloor {
			continue
		}
		typical := 0.0
		if same := byKind[s.kind]; s.kind != "" && len(same) >= 3 {
			typical = summarize(same).Median
			if own > outlierFactor*typical {
				s.Waited = own - typical
				continue
			}
		}
		if own > outlierAbsolute {
			s.Waited = own - typical
		}
	}
}
