package schedules

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
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
