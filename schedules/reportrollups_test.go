package schedules_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/bench/dbbench"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/report"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/worker"
	"github.com/dangol/dangol/workflows"
)

// The report-rollups schedule, triggered, stores every settled day of a
// program's report; the report then reads them and says the same as
// before. A second run finds nothing to store, and a write to one day
// makes the next run store that day alone.
func TestReportRollupsScheduleStoresSettledDays(t *testing.T) {
	r := newScheduleRig(t, workflows.ReportRollupsScheduleID, "report-rollups-test")
	ctx, c, h, queue := r.ctx, r.c, r.handle, r.queue
	st, dsn := testenv.Store(t)
	prog, err := dbbench.SeedReport(ctx, dsn, 2000)
	if err != nil {
		t.Fatal(err)
	}
	q := dbbench.ReportQuery(prog)
	q.Now = time.Now()
	before, err := st.ProgramReport(ctx, q)
	if err != nil {
		t.Fatal(err)
	}

	if err := schedules.EnsureReportRollups(ctx, c, queue, 0); err == nil {
		t.Fatal("interval 0 accepted")
	}
	for range 2 {
		if err := schedules.EnsureReportRollups(ctx, c, queue, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	d := describe(t, h)
	a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || fmt.Sprint(a.Workflow) != "ReportRollups" || a.TaskQueue != workflows.ControlQueue(queue) ||
		len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != time.Hour ||
		d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("schedule %+v action %+v", d.Schedule.Spec, d.Schedule.Action)
	}
	w := worker.New(c, queue, &activities.Activities{Store: st})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	seen := map[string]bool{}
	run := func() activities.StoreReportDaysResult {
		t.Helper()
		if err := schedules.TriggerReportRollups(ctx, c); err != nil {
			t.Fatal(err)
		}
		var res activities.StoreReportDaysResult
		r.awaitTriggered(t, seen, &res)
		return res
	}
	// Both seeded programs: every day from the first enrolment to
	// yesterday.
	days := func(id int64) int {
		var n int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM report_days WHERE program_id = $1`, id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := run()
	settled := int(time.Now().UTC().Truncate(24*time.Hour).Sub(dbbench.ReportAt) / (24 * time.Hour))
	if first.Programs != 2 || days(prog) != settled || first.Days != 2*settled {
		t.Fatalf("first run %+v, %d days of the program stored; want 2 programs and %d days each", first, days(prog), settled)
	}
	after, err := st.ProgramReport(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if canonical(after) != canonical(before) {
		t.Fatalf("the report from stored days differs:\n%v\nwant\n%v", canonical(after), canonical(before))
	}
	if again := run(); again.Days != 0 {
		t.Fatalf("second run stored %d days, want none", again.Days)
	}
	if _, err := st.Pool().Exec(ctx, `UPDATE enrolments SET outcome = 'stopped', status = 'ended'
		WHERE program_id = $1 AND status = 'active' AND created_at >= $2 AND created_at < $3`,
		prog, dbbench.ReportAt.AddDate(0, 0, 9), dbbench.ReportAt.AddDate(0, 0, 10)); err != nil {
		t.Fatal(err)
	}
	if third := run(); third.Days != 1 {
		t.Fatalf("after a write to one day the run stored %d days, want 1", third.Days)
	}
}

// canonical is a report's figures as the API would show them.
func canonical(figs map[string]*store.ReportFigures) string {
	all, stores := report.Build(figs)
	b, err := json.Marshal([]any{all, stores})
	if err != nil {
		panic(err)
	}
	return string(b)
}
