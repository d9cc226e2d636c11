package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

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
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            workflows.ReconcileScheduleID,
		Spec:          reconcileSpec(every),
		Action:        reconcileAction(taskQueue, req),
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: every,
		Note:          "dangol: reconcile message statuses with the provider",
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		if err != nil {
			return fmt.Errorf("reconcile schedule: %w", err)
		}
		return nil
	}
	h := c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		spec := reconcileSpec(every)
		s.Spec = &spec
		s.Action = reconcileAction(taskQueue, req)
		policy := client.SchedulePolicies{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP, CatchupWindow: every}
		if s.Policy != nil {
			policy.PauseOnFailure = s.Policy.PauseOnFailure
		}
		s.Policy = &policy
		if s.State == nil {
			s.State = &client.ScheduleState{}
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("reconcile schedule: update: %w", err)
	}
	return nil
}

// TriggerReconcile runs the reconcile job now (operators, tests), unless
// a run is going.
func TriggerReconcile(ctx context.Context, c client.Client) error {
	return c.ScheduleClient().GetHandle(ctx, workflows.ReconcileScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
}
