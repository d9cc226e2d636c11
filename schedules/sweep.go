package schedules

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/workflows"
)

// SweepScheduleID names a program's enrolment schedule.
func SweepScheduleID(programID int64) string { return fmt.Sprintf("program-%d-sweep", programID) }

func sweepSpec(sw programs.Sweep) client.ScheduleSpec {
	if every := sw.EveryDuration(); every > 0 {
		return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every}}}
	}
	return client.ScheduleSpec{
		Calendars:    []client.ScheduleCalendarSpec{{Hour: []client.ScheduleRange{{Start: sw.Hour}}}},
		TimeZoneName: sw.TimeZone,
	}
}

// EnsureSweep creates the schedule that enrols a segment program's
// audience, or brings an existing one in line with the program (spec and
// paused state). It is safe to call again at every start-up.
func EnsureSweep(ctx context.Context, c client.Client, taskQueue string, programID int64, sw programs.Sweep, paused bool) error {
	id := SweepScheduleID(programID)
	action := &client.ScheduleWorkflowAction{
		ID:                 workflows.SweepWorkflowID(programID),
		Workflow:           "Sweep",
		Args:               []any{workflows.SweepInput{ProgramID: programID}},
		TaskQueue:          workflows.ControlQueue(taskQueue),
		WorkflowRunTimeout: 24 * time.Hour,
	}
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:      id,
		Spec:    sweepSpec(sw),
		Action:  action,
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Paused:  paused,
		Note:    "dangol: enrol the program's audience",
	})
	if !errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return err
	}
	h := c.ScheduleClient().GetHandle(ctx, id)
	err = h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
		s := in.Description.Schedule
		spec := sweepSpec(sw)
		s.Spec = &spec
		s.Action = action
		return &client.ScheduleUpdate{Schedule: &s}, nil
	}})
	if err != nil {
		return err
	}
	return SetSweepPaused(ctx, c, programID, paused)
}

// SetSweepPaused pauses or resumes a program's enrolment schedule.
func SetSweepPaused(ctx context.Context, c client.Client, programID int64, paused bool) error {
	h := c.ScheduleClient().GetHandle(ctx, SweepScheduleID(programID))
	if paused {
		return h.Pause(ctx, client.SchedulePauseOptions{Note: "program paused"})
	}
	return h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: "program resumed"})
}

// DeleteSweep removes a stopped program's schedule; a missing schedule is
// already what we want.
func DeleteSweep(ctx context.Context, c client.Client, programID int64) error {
	err := c.ScheduleClient().GetHandle(ctx, SweepScheduleID(programID)).Delete(ctx)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil
	}
	return err
}

// TriggerSweep runs a program's sweep now (for "enrol now" and tests).
func TriggerSweep(ctx context.Context, c client.Client, programID int64) error {
	return c.ScheduleClient().GetHandle(ctx, SweepScheduleID(programID)).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
}
