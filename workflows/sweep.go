package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/store"
)

// SweepInput is where a sweep of a program's audience stands. A sweep
// continues as new after every page, so its history stays one page long
// whatever the audience's size.
type SweepInput struct {
	ProgramID       int64
	AfterCustomerID int64
	// Enrolled and Pages count what the runs before this one did.
	Enrolled int
	Pages    int
	// PageSize defaults to 500.
	PageSize int
}

// SweepResult is what a finished sweep reports.
type SweepResult struct {
	Enrolled int
	Pages    int
	Skipped  string `json:",omitempty"` // why nothing was done (paused, stopped)
}

// SweepWorkflowID is the id of a program's sweep. Its schedule appends the
// time of each run; the schedule's overlap policy (skip) is what keeps two
// sweeps of one program from running at once.
func SweepWorkflowID(programID int64) string { return fmt.Sprintf("sweep/%d", programID) }

// Sweep enrols a segment program's eligible audience page by page (keyset
// on customer id): each page is one activity that records the enrolments
// and starts one workflow per customer under the customer's fixed
// workflow id. The enrolments are not children: they outlive the sweep
// for months, and starting them from an activity runs many starts at
// once instead of one workflow task per child.
func Sweep(ctx workflow.Context, in SweepInput) (SweepResult, error) {
	if in.PageSize <= 0 {
		in.PageSize = 500
	}
	dbCtx := workflow.WithActivityOptions(ctx, sweepActivity)
	var prog activities.ProgramSnapshot
	if err := workflow.ExecuteActivity(dbCtx, a.LoadProgram, in.ProgramID).Get(ctx, &prog); err != nil {
		return SweepResult{}, err
	}
	if prog.Status != store.ProgramActive {
		return SweepResult{Enrolled: in.Enrolled, Pages: in.Pages, Skipped: "program is " + prog.Status}, nil
	}
	var page activities.EnrolPageResult
	err := workflow.ExecuteActivity(dbCtx, a.EnrolPage, activities.EnrolPageRequest{
		ProgramID: prog.ID, AfterCustomerID: in.AfterCustomerID, Limit: in.PageSize,
	}).Get(ctx, &page)
	if err != nil {
		return SweepResult{}, err
	}
	in.Enrolled += page.Enrolled
	in.Pages++
	if page.Done {
		return SweepResult{Enrolled: in.Enrolled, Pages: in.Pages}, nil
	}
	in.AfterCustomerID = page.NextAfter
	return SweepResult{}, workflow.NewContinueAsNewError(ctx, Sweep, in)
}

// sweepActivity: a page is a query, an insert and a few hundred workflow
// starts; it heartbeats once at the end, so the timeout bounds one page.
var sweepActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 5 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
