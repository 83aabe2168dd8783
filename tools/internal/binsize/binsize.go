// Package binsize measures the /init binary against its size floors. It is
// the judgement `make size` makes (through tools/cmd/sizecheck) and the
// record it leaves for the benchmark, in one place.
package binsize

import (
	"debug/elf"
	"os"
)

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
	Arch   string `json:"arch"`
	Binary Sizes  `json:"initrd"`
	Empty  Sizes  `json:"empty_main"` // an empty main
	Floor  Sizes  `json:"unix_floor"` // an empty main importing golang.org/x/sys/unix
	// FileRatio and UnpaddedRatio are the binary's sizes over the floor's.
	FileRatio     float64 `json:"file_ratio"`
	UnpaddedRatio float64 `json:"unpadded_ratio"`
	// Judged names the size the budget applies to: "file", or "unpadded"
	// where the linker aligns segments to more than a 4 KiB page (arm64's
	// 64 KiB steps are more than the whole budget).
	Judged string  `json:"judged"`
	Ratio  float64 `json:"ratio"`  // the judged ratio
	Budget float64 `json:"budget"` // the largest ratio allowed
	Within bool    `json:"within"`
	// Room is the bytes to spare under the budget, negative when over.
	Room int64 `json:"room"`
}

// Judge compares binary with the floor under budget.
func Judge(arch string, binary, empty, floor Sizes, budget float64) Report {
	r := Report{Arch: arch, Binary: binary, Empty: empty, Floor: floor, Budget: budget,
		FileRatio:     float64(binary.File) / float64(floor.File),
		UnpaddedRatio: float64(binary.Unpadded) / float64(floor.Unpadded),
	}
	r.Judged, r.Ratio, r.Room = "file", r.FileRatio, int64(float64(floor.File)*budget)-binary.File
	if binary.Align > 4096 {
		r.Judged, r.Ratio = "unpadded", r.UnpaddedRatio
		r.Room = int64(float64(floor.Unpadded)*budget) - int64(binary.Unpadded)
	}
	r.Within = r.Ratio <= budget
	return r
}
