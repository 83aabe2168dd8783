package main

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// Colours of the timeline.
const (
	colourUnpack = "#b0b0b0" // the kernel unpacking /init's bytes
	colourKernel = "#3b6ea5" // inside finit_module/mount calls
	colourOwn    = "#e8912d" // our own work
)

// timelineSVG draws the phase breakdown of every phase boot: one row per
// configuration and variant, from the null init's start to the final
// program's, each row on its own scale (6.1 with signed modules takes
// twenty times as long as 6.12).
func timelineSVG(r *report) string {
	type row struct {
		label string
		ph    *phases
	}
	var rows []row
	for _, c := range r.Configurations {
		for _, v := range []variant{ours, base} {
			if ph := c.Phases[v]; ph != nil {
				rows = append(rows, row{c.Name + " (" + string(v) + ")", ph})
			}
		}
	}
	const (
		left, width, rowH, barH, top = 250.0, 900.0, 62.0, 22.0, 58.0
	)
	height := top + rowH*float64(len(rows)) + 20
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", left+width+30, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="18" font-size="14">virtinit /init: from the null init's start to the final program's (guest ms, one rd.debug boot, %s, %s)</text>`+"\n", html.EscapeString(r.Revision), r.Date)
	legend := []struct{ colour, text string }{
		{colourUnpack, "unpacking /init (kernel, before exec)"},
		{colourKernel, "inside finit_module / mount calls"},
		{colourOwn, "our own work (Go runtime start, logic, exec)"},
	}
	for i, l := range legend {
		x := 10 + float64(i)*300
		fmt.Fprintf(&b, `<rect x="%.0f" y="30" width="12" height="12" fill="%s"/><text x="%.0f" y="40">%s</text>`+"\n", x, l.colour, x+16, l.text)
	}
	for i, rw := range rows {
		y := top + rowH*float64(i)
		ph := rw.ph
		// The floors jitter on some kernels: /init's exec (the padded
		// floor) may come out before the null init's start.
		origin := math.Min(ph.Floor, ph.Exec)
		total := ph.Program - origin
		if total <= 0 {
			continue
		}
		scale := width / total
		fmt.Fprintf(&b, `<text x="10" y="%.1f">%s</text>`+"\n", y+barH/2, html.EscapeString(rw.label))
		fmt.Fprintf(&b, `<text x="10" y="%.1f" font-size="10" fill="#555">%.1f ms: unpack %.1f, calls %.1f, own %.1f</text>`+"\n", y+barH/2+14, total, ph.Unpack, ph.Kernel, ph.Own)
		for _, s := range ph.Segments {
			x0 := left + (s.From-origin)*scale
			w := (s.To - s.From) * scale
			if w <= 0 {
				continue
			}
			colour := colourOwn
			if s.Unpack {
				colour = colourUnpack
			}
			tip := fmt.Sprintf("%s: %.3f ms (%.3f–%.3f)", s.Name, s.To-s.From, s.From, s.To)
			if s.Kernel > 0 {
				tip += fmt.Sprintf(", %.3f in the call", s.Kernel)
			}
			fmt.Fprintf(&b, `<g><title>%s</title><rect x="%.2f" y="%.1f" width="%.2f" height="%.0f" fill="%s" stroke="white" stroke-width="0.5"/>`, html.EscapeString(tip), x0, y, w, barH, colour)
			if s.Kernel > 0 {
				kw := math.Min(s.Kernel*scale, w)
				fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%.0f" fill="%s"/>`, x0+w-kw, y, kw, barH, colourKernel)
			}
			b.WriteString("</g>\n")
			if w >= 75 {
				fmt.Fprintf(&b, `<text x="%.2f" y="%.1f" font-size="9" fill="#222">%s %.1f</text>`+"\n", x0+2, y+barH+10, html.EscapeString(short(s.Name)), s.To-s.From)
			}
		}
		// A scale: ticks at round numbers of milliseconds.
		step := tickStep(total)
		for t := 0.0; t <= total+1e-9; t += step {
			x := left + t*scale
			fmt.Fprintf(&b, `<line x1="%.2f" y1="%.1f" x2="%.2f" y2="%.1f" stroke="#888"/><text x="%.2f" y="%.1f" font-size="8" fill="#888" text-anchor="middle">%g</text>`+"\n", x, y-2, x, y-6, x, y-8, t)
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// short shortens a segment name to fit its label.
func short(name string) string {
	name = strings.TrimPrefix(name, "module ")
	if len(name) > 14 {
		name = name[:13] + "…"
	}
	return name
}

// tickStep is a round tick interval giving 5 to 12 ticks over total.
func tickStep(total float64) float64 {
	for _, s := range []float64{0.5, 1, 2, 5, 10, 20, 25, 50, 100, 200, 500} {
		if total/s <= 12 {
			return s
		}
	}
	return 1000
}
