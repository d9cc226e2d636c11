package schedules

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/workflows"
)

// ReportMailsHour is the local hour the report mails go out on the first
// day of a period: the period before is over, and the mail is there when
// the office opens.
const ReportMailsHour = 6

// reportMailsSpec is 06:00 in the zone on the first day of each calendar
// quarter, month or week (Monday).
func reportMailsSpec(every, timeZone string) (client.ScheduleSpec, error) {
	at := client.ScheduleCalendarSpec{
		Second: []client.ScheduleRange{{Start: 0}},
		Minute: []client.ScheduleRange{{Start: 0}},
		Hour:   []client.ScheduleRange{{Start: ReportMailsHour}},
	}
	switch every {
	case compliance.ReportQuarterly, "":
		at.DayOfMonth = []client.ScheduleRange{{Start: 1}}
		at.Month = []client.ScheduleRange{{Start: 1, End: 12, Step: 3}}
	case compliance.ReportMonthly:
		at.DayOfMonth = []client.ScheduleRange{{Start: 1}}
	case compliance.ReportWeekly:
		at.DayOfWeek = []client.ScheduleRange{{Start: 1}}
	default:
		return client.ScheduleSpec{}, fmt.Errorf("report-mails schedule: every %q: want quarterly, monthly or weekly", every)
	}
	if _, err := time.LoadLocation(timeZone); err != nil || timeZone == "" || timeZone == "Local" {
		return client.ScheduleSpec{}, fmt.Errorf("report-mails schedule: time zone %q: want an IANA zone", timeZone)
	}
	return client.ScheduleSpec{Calendars: []client.ScheduleCalendarSpec{at}, TimeZoneName: timeZone}, nil
}

// EnsureReportMails creates the schedule that mails every program's
// report after each period (workflows.ReportMails, on the control queue),
// or brings an existing one in line with the settings: dangol's start-up
// and PUT /v1/settings call it. The run reports the period that ended
// last at its scheduled time. Runs never overlap, and a run missed while
// Temporal was down is caught up within a week (a rerun of a period sends
// nothing twice anyway). An operator's pause is kept.
func EnsureReportMails(ctx context.Context, c client.Client, taskQueue string, s compliance.Settings) error {
	s = s.Normalized()
	spec, err := reportMailsSpec(s.ReportEvery, s.DefaultTimeZone)
	if err != nil {
		return err
	}
	return ensure(ctx, c, "report-mails", client.ScheduleOptions{
		ID:   workflows.ReportMailsScheduleID,
		Spec: spec,
		Action: &client.ScheduleWorkflowAction{
			ID:        workflows.ReportMailsWorkflowID,
			Workflow:  "ReportMails",
			Args:      []any{workflows.ReportMailsInput{Every: s.ReportEvery, TimeZone: s.DefaultTimeZone}},
			TaskQueue: workflows.ControlQueue(taskQueue),
			// A page's mails may retry through a relay outage for a day.
			WorkflowRunTimeout: 7 * 24 * time.Hour,
		},
		Overlap:       enums.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: 7 * 24 * time.Hour,
		Note:          "dangol: each program's report by mail, CSV attached",
	})
}

// TriggerReportMails runs the report mails now (operators, tests): the
// period that ended last before now. Unless a run is going.
func TriggerReportMails(ctx context.Context, c client.Client) error {
	return c.ScheduleClient().GetHandle(ctx, workflows.ReportMailsScheduleID).Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP})
}
