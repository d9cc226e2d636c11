package schedules_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/audience"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/worker"
	"github.com/dangol/dangol/workflows"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestEnsureGrades(t *testing.T) {
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	c, err := client.Dial(client.Options{HostPort: testenv.Temporal(t), Logger: tlog.NewStructuredLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	h := c.ScheduleClient().GetHandle(ctx, workflows.GradesScheduleID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	queue := fmt.Sprintf("grades-test-%d", rand.IntN(1e9))
	rules := store.GradeRules{WindowDays: 365, ATopShare: 0.2, BMinPurchases: 2}

	// Bad settings never reach Temporal.
	for _, bad := range []struct {
		hour int
		tz   string
	}{{24, "Asia/Seoul"}, {-1, "Asia/Seoul"}, {3, "Mars/Olympus"}, {3, ""}} {
		if err := schedules.EnsureGrades(ctx, c, queue, bad.hour, bad.tz, rules); err == nil {
			t.Fatalf("hour %d tz %q accepted", bad.hour, bad.tz)
		}
	}
	if err := schedules.EnsureGrades(ctx, c, queue, 3, "Asia/Seoul", store.GradeRules{ATopShare: 2}); err == nil {
		t.Fatal("a_top_share 2 accepted")
	}

	// Created, then ensured again with the same settings: one schedule.
	for range 2 {
		if err := schedules.EnsureGrades(ctx, c, queue, 3, "Asia/Seoul", rules); err != nil {
			t.Fatal(err)
		}
	}
	d := describe(t, h)
	checkSpec(t, d, 3, "Asia/Seoul", workflows.ControlQueue(queue))
	if d.Schedule.Policy.Overlap != enums.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Fatalf("overlap %v, want SKIP", d.Schedule.Policy.Overlap)
	}
	// The next run is 03:00 in Seoul.
	seoul, _ := time.LoadLocation("Asia/Seoul")
	if len(d.Info.NextActionTimes) == 0 {
		t.Fatal("no next action time")
	}
	if next := d.Info.NextActionTimes[0].In(seoul); next.Hour() != 3 || next.Minute() != 0 {
		t.Fatalf("next run %s, want 03:00 Asia/Seoul", next)
	}
	if n := countSchedules(t, c); n != 1 {
		t.Fatalf("%d grade schedules, want 1", n)
	}

	// New settings update the schedule in place; an operator's pause stays.
	if err := h.Pause(ctx, client.SchedulePauseOptions{Note: "maintenance"}); err != nil {
		t.Fatal(err)
	}
	if err := schedules.EnsureGrades(ctx, c, queue, 4, "UTC", rules); err != nil {
		t.Fatal(err)
	}
	d = describe(t, h)
	checkSpec(t, d, 4, "UTC", workflows.ControlQueue(queue))
	if !d.Schedule.State.Paused {
		t.Fatal("EnsureGrades unpaused the schedule")
	}
	if err := h.Unpause(ctx, client.ScheduleUnpauseOptions{}); err != nil {
		t.Fatal(err)
	}

	// Triggered with a worker on a real database, it writes the grades.
	st, _ := testenv.Store(t)
	ids := seedTen(t, st)
	w := worker.New(c, queue, &activities.Activities{Store: st})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	if err := schedules.TriggerGrades(ctx, c); err != nil {
		t.Fatal(err)
	}
	var run *client.ScheduleWorkflowExecution
	deadline := time.Now().Add(30 * time.Second)
	for run == nil {
		if time.Now().After(deadline) {
			t.Fatal("the trigger started no workflow")
		}
		for _, a := range describe(t, h).Info.RecentActions {
			if a.StartWorkflowResult != nil {
				run = a.StartWorkflowResult
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	var counts store.GradeCounts
	runCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := c.GetWorkflow(runCtx, run.WorkflowID, run.FirstExecutionRunID).Get(runCtx, &counts); err != nil {
		t.Fatalf("workflow %s: %v", run.WorkflowID, err)
	}
	if counts != (store.GradeCounts{A: 2, B: 3, C: 5}) {
		t.Fatalf("counts %+v, want A 2 B 3 C 5", counts)
	}
	// The database agrees: the two biggest spenders are A.
	for i, id := range ids {
		want := "C"
		switch {
		case i < 2:
			want = "A"
		case i < 5:
			want = "B"
		}
		got, err := gradeOf(ctx, st, id)
		if err != nil || got != want {
			t.Errorf("customer %d (spend rank %d): grade %q %v, want %s", id, i+1, got, err, want)
		}
	}
}

func describe(t *testing.T, h client.ScheduleHandle) *client.ScheduleDescription {
	t.Helper()
	d, err := h.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func checkSpec(t *testing.T, d *client.ScheduleDescription, hour int, tz, queue string) {
	t.Helper()
	spec := d.Schedule.Spec
	if spec == nil || len(spec.Calendars) != 1 || len(spec.Calendars[0].Hour) != 1 || spec.Calendars[0].Hour[0].Start != hour {
		t.Fatalf("spec %+v, want one calendar at hour %d", spec, hour)
	}
	if cal := spec.Calendars[0]; len(cal.Minute) != 1 || cal.Minute[0].Start != 0 || len(cal.Second) != 1 || cal.Second[0].Start != 0 {
		t.Fatalf("calendar %+v, want on the hour", cal)
	}
	if spec.TimeZoneName != tz {
		t.Fatalf("time zone %q, want %q", spec.TimeZoneName, tz)
	}
	a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok {
		t.Fatalf("action %T", d.Schedule.Action)
	}
	if fmt.Sprint(a.Workflow) != "RecomputeGrades" || a.ID != workflows.GradesWorkflowID || a.TaskQueue != queue || len(a.Args) != 1 {
		t.Fatalf("action %+v", a)
	}
}

func countSchedules(t *testing.T, c client.Client) int {
	t.Helper()
	// Listing is eventually consistent on the dev server: wait for it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		it, err := c.ScheduleClient().List(context.Background(), client.ScheduleListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for it.HasNext() {
			s, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if s.ID == workflows.GradesScheduleID {
				n++
			}
		}
		if n > 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// seedTen creates ten customers who each bought once in the last month,
// the first spending most; the first five bought a second time. Returned
// in spend order.
func seedTen(t *testing.T, st *store.Store) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	for i := range 10 {
		c, _, err := st.UpsertCustomer(ctx, store.Customer{ExternalID: fmt.Sprintf("g%02d", i), Name: "고객", TimeZone: "Asia/Seoul", Locale: "ko-KR", Consent: map[string]store.Consent{}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
		n := 1
		if i < 5 {
			n = 2
		}
		for k := range n {
			_, _, _, err := st.RecordPurchase(ctx, store.Purchase{
				ExternalID: fmt.Sprintf("g%02d-%d", i, k), CustomerID: c.ID, Amount: fmt.Sprint((10 - i) * 100000), Currency: "KRW",
				Store: "강남점", Category: "가전", PurchasedAt: time.Now().Add(-time.Duration(24*(i+k+1)) * time.Hour),
			}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil })
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// gradeOf reads a customer's grade through the audience filter (the
// store has no grade reader): which of A, B, C selects them.
func gradeOf(ctx context.Context, st *store.Store, id int64) (string, error) {
	for _, g := range []string{"A", "B", "C"} {
		if in, err := selects(ctx, st, g, id); err != nil || in {
			return g, err
		}
	}
	return "", errors.New("no grade")
}

func selects(ctx context.Context, st *store.Store, grade string, id int64) (bool, error) {
	got, err := st.EligibleCustomers(ctx, store.EligibleQuery{
		Filter: audience.Filter{Grades: []string{grade}}, Now: time.Now(), AfterCustomerID: id - 1, Limit: 1,
	})
	return len(got) == 1 && got[0] == id, err
}
