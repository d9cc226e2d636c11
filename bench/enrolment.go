package bench

import (
	"context"
	"fmt"
)

// Enrolment: a segment program (dormant_wakeup) enrolling N customers
// through its sweep until every enrolment sleeps at its first timer, against
// N bare workflows started at the sweep's client concurrency and each run
// to its first timer. Goal: at least 90% of the raw rate.
var Enrolment = Section{Name: "enrolment", Run: runEnrolment}

func runEnrolment(ctx context.Context, e *Env) ([]Figure, error) {
	raw, err := e.BareFleet(ctx, e.N)
	if err != nil {
		return nil, err
	}
	got, err := e.EnrolmentFleet(ctx, e.N)
	if err != nil {
		return nil, err
	}
	return []Figure{{
		Name: "enrolments asleep at their first timer", Value: got.Rate(), Baseline: raw.Rate(), Unit: "/s",
		Goal: Goal{AtLeast, 0.90},
		Note: fmt.Sprintf("%d customers swept (POST /v1/programs/{id}/sweep) vs %d bare workflows started at concurrency %d; %s vs %s",
			e.N, e.N, e.StartConcurrency, seconds(got.Elapsed), seconds(raw.Elapsed)),
	}}, nil
}
