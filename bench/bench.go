// Package bench measures dangol against the engine underneath, on a local
// real stack (a throwaway PostgreSQL cluster and Temporal dev server from
// internal/testenv, the Twilio stand-in, dangol's API on loopback and its
// worker in a process of its own). Every figure is a ratio to a baseline
// taken in the same run on the same servers, because shared machines are
// noisy: a rate on its own says more about the neighbours than about
// dangol. The baselines (bare workflows, raw client calls) are code in this
// package, so they are read and reviewed like the rest.
//
// `make bench` runs cmd/bench, which runs a list of Sections and writes
// BENCHMARKS.md. A program that runs sections must call RunWorkerIfChild
// first thing (cmd/bench's main, this package's TestMain): the worker is the
// same binary started again.
package bench

import (
	"context"
	"fmt"
	"math"
)

// A Section measures one thing and returns its figures. It gets the
// running stack in env; what it creates there (customers, programs,
// workflows) stays for the sections after it, so a section must not count
// what it did not create (give customers, programs and task queues names
// of its own).
type Section struct {
	Name string
	Run  func(ctx context.Context, env *Env) ([]Figure, error)
}

// A Figure is one measured value and the baseline it is compared with.
type Figure struct {
	Section  string
	Name     string
	Value    float64
	Baseline float64
	Unit     string
	// Goal is what Value/Baseline must be; the zero Goal has none (the
	// figure explains another, such as a latency next to a rate).
	Goal Goal
	// Note says what the figure counts, in a few words.
	Note string
	// Detail is evidence behind the figure (a query plan), written whole
	// at the end of BENCHMARKS.md and not printed in the table.
	Detail string
}

// Ratio is Value/Baseline (NaN without a baseline).
func (f Figure) Ratio() float64 {
	if f.Baseline == 0 {
		return math.NaN()
	}
	return f.Value / f.Baseline
}

// Pass tells whether the ratio meets the goal; ok is false when the figure
// has no goal.
func (f Figure) Pass() (pass, ok bool) {
	if f.Goal.Op == "" {
		return false, false
	}
	r := f.Ratio()
	if math.IsNaN(r) {
		return false, true
	}
	switch f.Goal.Op {
	case AtLeast:
		return r >= f.Goal.Ratio, true
	case AtMost:
		return r <= f.Goal.Ratio, true
	}
	return false, true
}

// Goal bounds a figure's ratio to its baseline.
type Goal struct {
	Op    string // AtLeast or AtMost; empty: no goal
	Ratio float64
}

// Goal operators.
const (
	AtLeast = ">="
	AtMost  = "<="
)

func (g Goal) String() string {
	if g.Op == "" {
		return ""
	}
	return fmt.Sprintf("%s %s", g.Op, formatRatio(g.Ratio))
}

// formatRatio writes a ratio as a percentage below 10x (90%, 115%) and as
// a multiple above (12.5x).
func formatRatio(r float64) string {
	switch {
	case math.IsNaN(r):
		return "-"
	case r >= 10:
		return fmt.Sprintf("%.1fx", r)
	default:
		return fmt.Sprintf("%.0f%%", 100*r)
	}
}
