// Package binsize measures the /init binary against its size floors. It is
// the judgement `make size` makes (through tools/cmd/sizecheck) and the
// record it leaves for the benchmark, in one place.
package binsize

import (
	"debug/buildinfo"
	"debug/elf"
	"os"
)

// GoVersion is the Go release that built the binary at path (its build
// information survives -s -w).
func GoVersion(path string) (string, error) {
	bi, err := buildinfo.ReadFile(path)
	if err != nil {
		return "", err
	}
	return bi.GoVersion, nil
}

// Sizes are one ELF file's sizes.
type Sizes struct {
	File     int64  `json:"file"`     // bytes on disk
	Unpadded uint64 `json:"unpadded"` // sum of the PT_LOAD segments' file sizes
	Align    uint64 `json:"align"`    // the largest PT_LOAD alignment
}

// Measure reads the sizes of the ELF file at path.
func Measure(path string) (Sizes, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Sizes{}, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return Sizes{}, err
	}
	defer f.Close()
	s := Sizes{File: st.Size()}
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			s.Unpadded += p.Filesz
			s.Align = max(s.Align, p.Align)
		}
	}
	return s, nil
}

// Report is the verdict on one architecture's binary: what sizecheck
// prints, and writes as JSON with -json.
type Report struct {
	Arch      string `json:"arch"`
	GoVersion string `json:"go_version"` // the toolchain that built the binary
	Binary    Sizes  `json:"initrd"`
	Empty     Sizes  `json:"empty_main"` // an empty main
	Floor     Sizes  `json:"unix_floor"` // an empty main importing golang.org/x/sys/unix
	// FileRatio and UnpaddedRatio are the binary's sizes over the floor's.
	FileRatio     float64 `json:"file_ratio"`
	UnpaddedRatio float64 `json:"unpadded_ratio"`
	// Judged names the size the budget applies to: "file", or "unpadded"
	// where the linker aligns segments to more than a 4 KiB page (arm64's
	// 64 KiB steps are more than the whole budget).
	Judged string `json:"judged"`
	// Added is the judged size's bytes over the floor's: what our code
	// costs. Budget is the most it may be.
	Added  int64 `json:"added"`
	Budget int64 `json:"budget"`
	// Limit, when not zero, is the most the binary's file may be as a
	// whole (the release build's goal).
	Limit  int64 `json:"limit,omitempty"`
	Within bool  `json:"within"`
	// Room is the bytes to spare under the budget and the limit, negative
	// when over either.
	Room int64 `json:"room"`
}

// Judge compares binary with the floor under a budget of bytes over it,
// and the binary's file with limit when limit is not zero. The budget is
// bytes rather than a ratio because the floor itself differs by hundreds
// of kilobytes between Go releases (README.md, Size) while our code's
// share does not.
func Judge(arch string, binary, empty, floor Sizes, budget, limit int64) Report {
	r := Report{Arch: arch, Binary: binary, Empty: empty, Floor: floor, Budget: budget, Limit: limit,
		FileRatio:     float64(binary.File) / float64(floor.File),
		UnpaddedRatio: float64(binary.Unpadded) / float64(floor.Unpadded),
	}
	r.Judged, r.Added = "file", binary.File-floor.File
	if binary.Align > 4096 {
		r.Judged, r.Added = "unpadded", int64(binary.Unpadded)-int64(floor.Unpadded)
	}
	r.Room = budget - r.Added
	if limit > 0 {
		r.Room = min(r.Room, limit-binary.File)
	}
	r.Within = r.Room >= 0
	return r
}
