package bench

import (
	"context"
	"fmt"
)

// Memory: the worker process's memory with K sleeping enrolments against
// K bare sleeping workflows (each in a fresh worker process), and what it
// keeps after its sticky cache is purged. Goals: a sleeping enrolment
// costs the worker no more than a bare sleeping workflow on the SDK's
// defaults, and a purge gives back what the sleepers held (RSS within 25%
// of the idle worker's).
var Memory = Section{Name: "memory", Run: runMemory}

func runMemory(ctx context.Context, e *Env) ([]Figure, error) {
	bare, err := e.BareFleet(ctx, e.K)
	if err != nil {
		return nil, err
	}
	got, err := e.EnrolmentFleet(ctx, e.K)
	if err != nil {
		return nil, err
	}
	k := float64(e.K)
	perKB := func(f *Fleet) float64 { return float64(f.AsleepRSS-f.IdleRSS) / k / 1024 }
	heapKB := func(f *Fleet) float64 { return float64(f.AsleepHeap-f.IdleHeap) / k / 1024 }
	gor := func(f *Fleet) float64 { return float64(f.AsleepGoroutines-f.IdleGoroutines) / k }
	return []Figure{
		{Name: "worker RSS with K asleep", Value: mb(got.AsleepRSS), Baseline: mb(bare.AsleepRSS), Unit: "MB",
			Note: fmt.Sprintf("K=%d; idle worker %.0f MB (dangol), %.0f MB (bare)", e.K, mb(got.IdleRSS), mb(bare.IdleRSS))},
		{Name: "RSS per sleeping workflow", Value: perKB(got), Baseline: perKB(bare), Unit: "KB", Goal: Goal{AtMost, 1.0},
			Note: "(RSS asleep - RSS idle) / K; the SDK's sticky cache holds at most its size (default 10,000) of them"},
		{Name: "live heap per sleeping workflow", Value: heapKB(got), Baseline: heapKB(bare), Unit: "KB",
			Note: "heap after a GC, asleep - idle, / K"},
		{Name: "goroutines per sleeping workflow", Value: gor(got), Baseline: gor(bare), Unit: "",
			Note: "(goroutines asleep - idle) / K"},
		{Name: "RSS after cache purge (vs idle)", Value: mb(got.PurgedRSS), Baseline: mb(got.IdleRSS), Unit: "MB", Goal: Goal{AtMost, 1.25},
			Note: fmt.Sprintf("worker stopped, PurgeStickyWorkflowCache, FreeOSMemory; baseline: the same process idle. Bare: %.0f MB after, %.0f idle", mb(bare.PurgedRSS), mb(bare.IdleRSS))},
	}, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
