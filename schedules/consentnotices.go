package schedules

import (
	"context"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/workflows"
)

// ConsentNoticesEvery is how often the consent-notices job runs: a change
// made on a customer's behalf is told within minutes, and a
// reconfirmation notice goes out the day it falls due.
const ConsentNoticesEvery = 5 * time.Minute

// consentNoticesRunTimeout covers a page whose sends retry through a
// provider outage (a send's budget is a day).
const consentNoticesRunTimeout = 25 * time.Hour

// EnsureConsentNotices creates the schedule that runs
// workflows.ConsentNotices every interval on the control queue, or brings
// an existing one in line. Runs never overlap (one run sends a notice at
// most once anyway: its message key is unique), and runs missed while
// Temporal was down are not caught up: the next one finds everything
// still due. An operator's pause is kept. Safe at every start-up.
func EnsureConsentNotices(ctx context.Context, c client.Client, taskQueue string, every time.Duration) error {
	return ensureEvery(ctx, c, taskQueue, every, job{
		what: "consent-notices", scheduleID: workflows.ConsentNoticesScheduleID, workflowID: workflows.ConsentNoticesWorkflowID,
		workflow: "ConsentNotices", input: workflows.ConsentNoticesInput{}, runTimeout: consentNoticesRunTimeout,
		note: "dangol: consent reconfirmation and change notices (정보통신망법 §50)",
	})
}

// TriggerConsentNotices runs the job now (operators, tests), unless a run
// is going.
func TriggerConsentNotices(ctx context.Context, c client.Client) error {
	return trigger(ctx, c, workflows.ConsentNoticesScheduleID)
}
