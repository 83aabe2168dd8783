package main

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

var progressStart = time.Now()

// progress prints a line on standard error with the time since the start.
func progress(msg string) {
	d := time.Since(progressStart).Round(time.Second)
	fmt.Fprintf(os.Stderr, "bench %6s  %s\n", d, strings.TrimRight(msg, "\n"))
}

// bootCounter counts the boots of every phase of a run (the
// configurations' boots, chrootvm's own, the wall-time boots) against
// the total planned at the start, and estimates the time left from the
// boots so far.
type bootCounter struct {
	mu          sync.Mutex
	done, total int
	start       time.Time
}

// counter is the run's: main sets its total once every phase is planned.
var counter bootCounter

// plan sets the number of boots the run will do.
func (c *bootCounter) plan(total int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total, c.done, c.start = total, 0, time.Now()
}

// step counts one boot and prints msg after "[done/total]", and the time
// left at the pace so far.
func (c *bootCounter) step(msg string) {
	c.mu.Lock()
	c.done++
	line := fmt.Sprintf("[%d/%d] %s", c.done, c.total, msg)
	if left := c.total - c.done; left > 0 && c.done > 0 {
		per := time.Since(c.start) / time.Duration(c.done)
		line += fmt.Sprintf("  (about %s left)", (per * time.Duration(left)).Round(time.Minute))
	}
	c.mu.Unlock()
	progress(line)
}

// estimate describes a run of total boots at a typical pace, for the
// first line of a run.
func estimate(total, jobs int) string {
	// Measured here: an icount boot takes 15-20 s of wall time with two
	// at a time on two loaded cores, 8-10 s alone.
	per := 9 * time.Second
	if jobs > 1 {
		per = 18 * time.Second / time.Duration(jobs)
	}
	return fmt.Sprintf("%d boots, about %s at %s a boot", total, (per * time.Duration(total)).Round(time.Minute), per)
}
