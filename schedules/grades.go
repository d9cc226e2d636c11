package schedules

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func gradesSpec(hour int, tz string) client.ScheduleSpec {
	return client.ScheduleSpec{
		Calendars:    []client.ScheduleCalendarSpec{{Hour: []client.ScheduleRange{{Start: hour}}, Comment: "nightly A/B/C grading"}},
		TimeZoneName: tz,
	}
}

func gradesAction(taskQueue string, rules store.GradeRules) *client.ScheduleWorkflowAction {
	return &client.ScheduleWorkflowAction{
		ID:                 workflows.GradesWorkflowID,
		Workflow:           "RecomputeGrades",
		Args:               []any{rules},
		TaskQueue:          workflows.ControlQueue(taskQueue),
		WorkflowRunTimeout: 24 * time.Hour,
	}
}

// EnsureGrades creates the schedule that regrades every customer daily at
// hour (0-23) in the IANA zone tz, or brings an existing one in line with
// these settings (time, task queue, rules). A run still going at the next
// time is not doubled (overlap SKIP). An operator's pause is kept. It is
// safe to call at every start-up.
func EnsureGrades(ctx context.Context, c client.Client, taskQueue string, hour int, tz string, rules store.GradeRules) error {
	if hour < 0 || hour > 23 {
		return fmt.Errorf("grades schedule: hour %d: must be 0-23", hour)
	}
	if _, err := time.LoadLocation(tz); err != nil || tz == "" {
		return fmt.Errorf("grades schedule: time zone %q: must be an IANA zone such as Asia/Seoul", tz)
	}
	rules = rules.WithDefaults()
	if err := rules.Validate(); err != nil {
		return fmt.Errorf("grades schedule: %w", err)
	}
	return ensure(ctx, c, "grades", client.ScheduleOptions{
		ID:      workflows.GradesScheduleID,
		Spec:    gradesSpec(hour, tz),
		Action:  gradesAction(taskQueue, rules),
		Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		Note:    "dangol: grade customers A/B/C",
	})
}

// TriggerGrades regrades now (operators, tests), unless a run is going.
func TriggerGrades(ctx context.Context, c client.Client) error {
	return c.ScheduleClient().GetHandle(ctx, workflows.GradesScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
}
