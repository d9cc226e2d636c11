package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
)

// The message reconcile job's Temporal Schedule, and the id of the
// workflows it starts.
const (
	ReconcileScheduleID = "dangol-reconcile-messages"
	ReconcileWorkflowID = "dangol-reconcile-messages"
)

// reconcileActivity: one bounded batch, well inside the schedule's
// interval; a failed run is retried a little, then the next run takes over.
var reconcileActivity = workflow.ActivityOptions{
	StartToCloseTimeout: 4 * time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    5 * time.Second,
		BackoffCoefficient: 2,
		MaximumAttempts:    3,
	},
}

// stuckAfter is when a message still pending or sending can no longer be
// settled by its own send: the send's whole retry budget, and an hour for
// an attempt the server abandoned but a worker still ran.
var stuckAfter = max(smsActivity.ScheduleToCloseTimeout, mailActivity.ScheduleToCloseTimeout) + time.Hour

// ReconcileMessages asks the provider about SMS whose delivery reports
// were lost and settles messages whose sending stopped without an answer
// (see activities.ReconcileMessages). Zero fields of req take defaults.
func ReconcileMessages(ctx workflow.Context, req activities.ReconcileRequest) (activities.ReconcileResult, error) {
	if req.StuckAfter <= 0 {
		req.StuckAfter = stuckAfter
	}
	var res activities.ReconcileResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, reconcileActivity), a.ReconcileMessages, req).Get(ctx, &res)
	return res, err
}
