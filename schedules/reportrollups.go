package schedules

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/workflows"
)

// ReportRollupsEvery is how often the report-rollups job runs. A report
// counts live what changed since the last run, so this bounds how much of
// a busy program's report is counted live (the days of the last hour or
// so; days before are stored again within the hour).
const ReportRollupsEvery = 15 * time.Minute

// EnsureReportRollups creates the schedule that runs
// workflows.ReportRollups every interval on the control queue, or brings
// an existing one in line. Runs never overlap, and runs missed while
// Temporal was down are not caught up: the next one does all that is
// stale. An operator's pause is kept. Safe at every start-up.
func EnsureReportRollups(ctx context.Context, c client.Client, taskQueue string, every time.Duration) error {
	return ensureEvery(ctx, c, taskQueue, every, job{
		what: "report-rollups", scheduleID: workflows.ReportRollupsScheduleID, workflowID: workflows.ReportRollupsWorkflowID,
		workflow: "ReportRollups", input: workflows.ReportRollupsInput{}, runTimeout: 6 * time.Hour,
		note: "dangol: each program's report figures stored per day, so reports answer fast",
	})
}

// TriggerReportRollups runs the job now (operators, tests), unless a run
// is going.
func TriggerReportRollups(ctx context.Context, c client.Client) error {
	return trigger(ctx, c, workflows.ReportRollupsScheduleID)
}
