package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
)

// The report-rollups Temporal Schedule, and the id of the workflows it
// starts.
const (
	ReportRollupsScheduleID = "report-rollups"
	ReportRollupsWorkflowID = "dangol-report-rollups"
)

// reportRollupsBudget is one StoreReportDays call's own time; the
// activity's start-to-close leaves it room to finish its last day.
const reportRollupsBudget = 4 * time.Minute

// reportRollupsActivity: a call heartbeats after every batch of days, so
// a lost worker is noticed within a minute and the retry carries on
// (storing a day again is harmless).
var reportRollupsActivity = workflow.ActivityOptions{
	StartToCloseTimeout: reportRollupsBudget + 2*time.Minute,
	HeartbeatTimeout:    time.Minute,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    time.Minute,
	},
}

// maxReportRollupsCalls bounds the activity calls of one run, so its
// history stays short; a run with more to do continues as new.
const maxReportRollupsCalls = 20

// ReportRollupsInput is where a run starts: after program After (0 for
// the schedule), with what the runs before it stored.
type ReportRollupsInput struct {
	After int64                            `json:",omitempty"`
	Done  activities.StoreReportDaysResult `json:",omitzero"`
}

// ReportRollups stores the report days of every program (see
// activities.StoreReportDays): a report then counts live only the days
// that changed since and the edges of its range.
func ReportRollups(ctx workflow.Context, in ReportRollupsInput) (activities.StoreReportDaysResult, error) {
	done := in.Done
	actx := workflow.WithActivityOptions(ctx, reportRollupsActivity)
	for range maxReportRollupsCalls {
		var r activities.StoreReportDaysResult
		err := workflow.ExecuteActivity(actx, a.StoreReportDays, activities.StoreReportDaysRequest{After: in.After, Budget: reportRollupsBudget}).Get(ctx, &r)
		if err != nil {
			return done, err
		}
		done.Programs += r.Programs
		done.Days += r.Days
		done.Through, in.After = r.Through, r.Through
		if !r.More {
			done.More = false
			return done, nil
		}
	}
	in.Done = done
	return done, workflow.NewContinueAsNewError(ctx, ReportRollups, in)
}
