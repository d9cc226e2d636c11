package main

import (
	"context"
	"encoding/json"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/config"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/workflows"
)

// A stored program that no longer decodes is skipped at start-up: the
// other programs get their schedules and nothing counts as failed (before,
// serve refused to start).
func TestStartupSchedulesSkipABrokenProgram(t *testing.T) {
	ctx := context.Background()
	st, _ := testenv.Store(t)
	tc, err := client.Dial(client.Options{HostPort: testenv.Temporal(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	good, err := programs.Parse(programs.KindWelcomeBack, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(good)
	broken, err := st.CreateProgram(ctx, "broken", programs.KindWelcomeBack, raw)
	if err != nil {
		t.Fatal(err)
	}
	ok, err := st.CreateProgram(ctx, "ok", programs.KindWelcomeBack, raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE programs SET params = '{"coupon": {"valid_for": "200000y"}}' WHERE id = $1`, broken.ID); err != nil {
		t.Fatal(err)
	}
	cfg := config.Config{TaskQueue: "startup-test"}
	cfg.Grades.Hour, cfg.Grades.TimeZone = 3, "Asia/Seoul"
	if failed := ensureSchedulesOnce(ctx, cfg, st, tc); failed != 0 {
		t.Fatalf("%d schedules failed", failed)
	}
	defer func() { _ = schedules.DeleteSweep(ctx, tc, ok.ID) }()
	if _, err := tc.ScheduleClient().GetHandle(ctx, schedules.SweepScheduleID(ok.ID)).Describe(ctx); err != nil {
		t.Fatalf("the good program's schedule: %v", err)
	}
	// The job that stores the reports' days, whose stored days a report
	// over a million enrolments reads.
	d, err := tc.ScheduleClient().GetHandle(ctx, workflows.ReportRollupsScheduleID).Describe(ctx)
	if err != nil || len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != schedules.ReportRollupsEvery {
		t.Fatalf("report-rollups schedule: %v", err)
	}
}
