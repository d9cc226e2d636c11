package schedules_test

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/report"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/workflows"
)

// The report-mails schedule follows the settings: its next runs are 06:00
// on the first day of each quarter, month or week (Monday) in the
// settings' zone, and each reports the period that just ended. Ensuring
// again moves it; an operator's pause is kept.
func TestReportMailsScheduleFollowsTheSettings(t *testing.T) {
	r := newScheduleRig(t, workflows.ReportMailsScheduleID, "report-mails-test")
	ctx, c, h, queue := r.ctx, r.c, r.handle, r.queue
	set := compliance.Defaults()
	for _, tc := range []struct {
		every, zone string
		first       func(t time.Time) bool
	}{
		{"quarterly", "Asia/Seoul", func(t time.Time) bool { return t.Day() == 1 && (t.Month()-1)%3 == 0 }},
		{"monthly", "America/New_York", func(t time.Time) bool { return t.Day() == 1 }},
		{"weekly", "Europe/Berlin", func(t time.Time) bool { return t.Weekday() == time.Monday }},
	} {
		set.ReportEvery, set.DefaultTimeZone = tc.every, tc.zone
		for range 2 {
			if err := schedules.EnsureReportMails(ctx, c, queue, set); err != nil {
				t.Fatal(err)
			}
		}
		d := describe(t, h)
		a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		if !ok || fmt.Sprint(a.Workflow) != "ReportMails" || a.TaskQueue != workflows.ControlQueue(queue) || len(a.Args) != 1 ||
			d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
			t.Fatalf("%s: schedule %+v action %+v", tc.every, d.Schedule.Spec, d.Schedule.Action)
		}
		loc, _ := time.LoadLocation(tc.zone)
		if len(d.Info.NextActionTimes) < 3 {
			t.Fatalf("%s: next runs %v", tc.every, d.Info.NextActionTimes)
		}
		prevTo := time.Time{}
		for _, next := range d.Info.NextActionTimes[:3] {
			local := next.In(loc)
			if !tc.first(local) || local.Hour() != schedules.ReportMailsHour || local.Minute() != 0 || local.Second() != 0 {
				t.Fatalf("%s: next run %s, want 06:00 on the first day of a period in %s", tc.every, local, tc.zone)
			}
			from, to, err := report.PeriodBefore(tc.every, loc, next)
			if err != nil || !to.Equal(local.Add(-6*time.Hour)) || (!prevTo.IsZero() && !from.Equal(prevTo)) {
				t.Fatalf("%s: the run at %s reports [%s, %s) (%v); want the period ending that midnight, after the last", tc.every, local, from, to, err)
			}
			prevTo = to
		}
	}

	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "operator"}); err != nil {
		t.Fatal(err)
	}
	set.ReportEvery = compliance.ReportMonthly
	if err := schedules.EnsureReportMails(ctx, c, queue, set); err != nil {
		t.Fatal(err)
	}
	if d := describe(t, h); !d.Schedule.State.Paused || d.Schedule.Spec.Calendars[0].DayOfMonth[0].Start != 1 {
		t.Fatalf("after ensure: paused %v, spec %+v; want the pause kept and the spec moved", d.Schedule.State.Paused, d.Schedule.Spec)
	}

	for _, bad := range []compliance.Settings{
		func() compliance.Settings { s := set; s.ReportEvery = "yearly"; return s }(),
		func() compliance.Settings { s := set; s.DefaultTimeZone = "Mars/Base"; return s }(),
		func() compliance.Settings { s := set; s.DefaultTimeZone = ""; return s }(),
	} {
		if err := schedules.EnsureReportMails(ctx, c, queue, bad); err == nil {
			t.Fatalf("%q in %q accepted", bad.ReportEvery, bad.DefaultTimeZone)
		}
	}
}
