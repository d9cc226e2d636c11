package schedules

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/workflows"
)

// ReconcileEvery is how often the message reconcile job runs.
const ReconcileEvery = 5 * time.Minute

func reconcileSpec(every time.Duration) client.ScheduleSpec {
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
}

func reconcileAction(taskQueue string, req activities.ReconcileRequest) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:                 workflows.ReconcileWorkflowID,
		Workflow:           "ReconcileMessages",
		Args:               []any{req},
		TaskQueue:          workflows.ControlQueue(taskQueue),
		WorkflowRunTimeout: 15 * time.Minute,
	}
}

// EnsureReconcile creates the schedule that reconciles messages with the
// provider every interval (see workflows.ReconcileMessages), on the control
// queue, or brings an existing one in line. Runs never overlap, and runs
// missed while Temporal was down are not caught up (the next one covers
// them). An operator's pause is kept. Safe at every start-up.
func EnsureReconcile(ctx context.Context, c client.Client, taskQueue string, every time.Duration, req activities.ReconcileRequest) error {
	if every < time.Second || every > 24*time.Hour {
		return fmt.Errorf("reconcile schedule: every %s: must be 1s to 24h", every)
	}
	return ensure(ctx, c, "reconcile", client.ScheduleOptions{
		ID:            workflows.ReconcileScheduleID,
		Spec:          reconcileSpec(every),
		Action:        reconcileAction(taskQueue, req),
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: every,
		Note:          "dangol: reconcile message statuses with the provider",
	})
}

// TriggerReconcile runs the reconcile job now (operators, tests), unless
// a run is going.
func TriggerReconcile(ctx context.Context, c client.Client) error {
	return c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
}
