package main

import (
	"context"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/workflows"
)

// Start-up brings the report-mails schedule in line with the stored
// settings; settings that cannot be read leave it as it was, and count as
// no failure.
func TestStartupReportMailsScheduleFollowsTheSettings(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	h := tc.ScheduleClient().GetHandle(ctx, workflows.ReportMailsScheduleID)
	defer func() { _ = h.Delete(context.Background()) }()
	set := compliance.Defaults()
	set.ReportEvery, set.DefaultTimeZone = compliance.ReportWeekly, "Europe/Berlin"
	testenv.PutSettings(t, st, set)
	cfg := config.Config{TaskQueue: "startup-report-test"}
	cfg.Grades.Hour, cfg.Grades.TimeZone = 3, "Asia/Seoul"
	if failed := ensureSchedulesOnce(ctx, cfg, st, tc); failed != 0 {
		t.Fatalf("%d schedules failed", failed)
	}
	weekly := func() bool {
		d, err := h.Describe(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cal := d.Schedule.Spec.Calendars
		return len(cal) == 1 && d.Schedule.Spec.TimeZoneName == "Europe/Berlin" && len(cal[0].DayOfWeek) == 1 && cal[0].DayOfWeek[0].Start == 1 && cal[0].DayOfWeek[0].End == 1
	}
	if !weekly() {
		t.Fatal("start-up did not make the schedule weekly in Europe/Berlin")
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE settings SET doc = '{"report_every": "hourly"}'`); err != nil {
		t.Fatal(err)
	}
	if failed := ensureSchedulesOnce(ctx, cfg, st, tc); failed != 0 {
		t.Fatalf("%d schedules failed with broken settings", failed)
	}
	if !weekly() {
		t.Fatal("broken settings moved the schedule")
	}
}
