package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/workflows"
)

// ensure creates the schedule opts describes or, when it exists, brings
// its spec, action and overlap policy in line with opts. What an operator
// chose stays: a pause, pause-on-failure, and the catch-up window when
// opts sets none. It is what makes every Ensure* safe at each start-up.
func ensure(ctx context.Context, c client.Client, what string, opts client.ScheduleOptions) error {
	_, err := c.ScheduleClient().Create(ctx, opts)
	if err == nil {
		return nil
	}
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return fmt.Errorf("%s schedule: %w", what, err)
	}
	h := c.ScheduleClient().GetHandle(ctx, opts.ID)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		spec := opts.Spec
		s.Spec = &spec
		s.Action = opts.Action
		policy := client.SchedulePolicies{Overlap: opts.Overlap, CatchupWindow: opts.CatchupWindow}
		if s.Policy != nil {
			policy.PauseOnFailure = s.Policy.PauseOnFailure
			if policy.CatchupWindow == 0 {
				policy.CatchupWindow = s.Policy.CatchupWindow
			}
		}
		s.Policy = &policy
		if s.State == nil {
			s.State = &client.ScheduleState{}
		}
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return fmt.Errorf("%s schedule: update: %w", what, err)
	}
	return nil
}

// job is a control-queue job that runs every interval: runs never
// overlap, and runs missed while Temporal was down are not caught up
// (the next one does all that is left).
type job struct {
	what, scheduleID, workflowID, workflow string
	input                                  any
	runTimeout                             time.Duration
	note                                   string
}

// ensureEvery creates or brings in line the schedule that runs j every
// interval on taskQueue's control queue.
func ensureEvery(ctx context.Context, c client.Client, taskQueue string, every time.Duration, j job) error {
	if every < time.Second || every > 24*time.Hour {
		return fmt.Errorf("%s schedule: every %s: must be 1s to 24h", j.what, every)
	}
	return ensure(ctx, c, j.what, client.ScheduleOptions{
		ID:   j.scheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}},
		Action: &client.ScheduleWorkflowAction{
			ID:                 j.workflowID,
			Workflow:           j.workflow,
			Args:               []any{j.input},
			TaskQueue:          workflows.ControlQueue(taskQueue),
			WorkflowRunTimeout: j.runTimeout,
		},
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: every,
		Note:          j.note,
	})
}

// trigger runs a schedule's job now (operators, tests), unless a run is
// going.
func trigger(ctx context.Context, c client.Client, scheduleID string) error {
	return c.ScheduleClient().GetHandle(ctx, scheduleID).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
}
