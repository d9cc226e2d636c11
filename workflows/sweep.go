package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/programs"
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

// Sweep enrols a segment program's eligible audience: page by page
// (keyset on customer id), it records the enrolments and starts one child
// workflow per customer under the customer's fixed workflow id. Children
// are abandoned, not owned: they outlive the sweep for months.
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
	params, err := programs.Decode(prog.Kind, prog.Params) //workflowcheck:ignore decoding JSON is deterministic
	if err != nil {
		return SweepResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadParams", err)
	}
	var page activities.EnrolBatchResult
	err = workflow.ExecuteActivity(dbCtx, a.EnrolBatch, activities.EnrolBatchRequest{
		ProgramID: prog.ID, Kind: prog.Kind, Version: prog.Version, AfterCustomerID: in.AfterCustomerID, Limit: in.PageSize,
	}).Get(ctx, &page)
	if err != nil {
		return SweepResult{}, err
	}
	if err := startEnrolments(ctx, prog, params, page.Enrolled); err != nil {
		return SweepResult{}, err
	}
	in.Enrolled += len(page.Enrolled)
	in.Pages++
	if page.Done {
		return SweepResult{Enrolled: in.Enrolled, Pages: in.Pages}, nil
	}
	in.AfterCustomerID = page.NextAfter
	return SweepResult{}, workflow.NewContinueAsNewError(ctx, Sweep, in)
}

// startEnrolments starts the page's children and waits until each runs
// (not until it ends). A child already running under its id is the same
// enrolment started by an earlier attempt: that is success.
func startEnrolments(ctx workflow.Context, prog activities.ProgramSnapshot, params programs.Params, page []activities.Enrolled) error {
	futures := make([]workflow.ChildWorkflowFuture, len(page))
	for i, e := range page {
		name, input, err := enrolmentInput(prog, params, e)
		if err != nil {
			return err
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            programs.EnrolmentWorkflowID(prog.Kind, prog.ID, e.CustomerID),
			ParentClosePolicy:     enums.PARENT_CLOSE_POLICY_ABANDON,
			WorkflowIDReusePolicy: enums.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			TypedSearchAttributes: temporal.NewSearchAttributes(
				temporal.NewSearchAttributeKeyKeyword(SearchAttrProgramID).ValueSet(fmt.Sprint(prog.ID)),
				temporal.NewSearchAttributeKeyKeyword(SearchAttrCustomerID).ValueSet(fmt.Sprint(e.CustomerID)),
				temporal.NewSearchAttributeKeyKeyword(SearchAttrProgramKind).ValueSet(prog.Kind),
			),
		})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, name, input)
	}
	for _, f := range futures {
		if err := f.GetChildWorkflowExecution().Get(ctx, nil); err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return err
		}
	}
	return nil
}

// enrolmentInput builds the child workflow's name and input for a kind.
func enrolmentInput(prog activities.ProgramSnapshot, params programs.Params, e activities.Enrolled) (string, any, error) {
	en := Enrolment{ProgramID: prog.ID, ProgramVersion: prog.Version, EnrolmentID: e.EnrolmentID, CustomerID: e.CustomerID, TimeZone: e.TimeZone}
	switch p := params.(type) {
	case *programs.WelcomeBack:
		return "WelcomeBack", WelcomeBackInput{Enrolment: en, Params: *p}, nil
	case *programs.DormantWakeup:
		return "DormantWakeup", DormantWakeupInput{Enrolment: en, Params: *p}, nil
	case *programs.Birthday:
		return "Birthday", BirthdayInput{Enrolment: en, Params: *p, Month: e.BirthMonth, Day: e.BirthDay}, nil
	}
	return "", nil, temporal.NewNonRetryableApplicationError("program kind "+prog.Kind+" has no audience", "BadParams", nil)
}

// sweepActivity: pages of a large audience take a while; heartbeats are
// not needed because each page is one statement.
var sweepActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 5 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}
