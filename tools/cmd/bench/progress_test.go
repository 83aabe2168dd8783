package main

import "testing"

// TestInterruptedConfiguration: boots an interrupt left undone count for
// nothing: a configuration none of whose boots ran has no figures and no
// errors, and one whose floors ran keeps them.
func TestInterruptedConfiguration(t *testing.T) {
	p := &prepared{configuration: configuration{name: "c"}}
	boots := []*boot{
		{cfg: p, variant: ours},
		{cfg: p, variant: floor},
	}
	r := collectResult(p, boots, false)
	if len(r.Errors) != 0 || len(r.Program) != 0 {
		t.Errorf("no boot done: errors %q, figures %v; want none", r.Errors, r.Program)
	}
	boots = append(boots,
		&boot{cfg: p, variant: floor, done: true, program: 500},
		&boot{cfg: p, variant: padded, done: true, program: 504})
	r = collectResult(p, boots, false)
	if r.Program[floor].N != 1 || r.Program[padded].N != 1 || r.Program[ours].ok() {
		t.Errorf("figures %v, want one floor and one padded boot, no ours", r.Program)
	}
}

// TestCounter: the counter counts every phase's boots against the total.
func TestCounter(t *testing.T) {
	var c bootCounter
	c.plan(3)
	c.step("a")
	c.step("b")
	if c.done != 2 || c.total != 3 {
		t.Errorf("after two steps of three: done %d, total %d", c.done, c.total)
	}
}
