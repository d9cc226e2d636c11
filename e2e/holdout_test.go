package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/workflows"
)

// A welcome-back sweep over 300 lapsed customers holding out 10%
// records exactly the hash's choice as control enrolments, starts no
// workflow for them (Temporal counts the treated only), sends them
// nothing (the stand-in), and a second sweep enrols no one again.
func TestSweepHoldsOutControl(t *testing.T) {
	const n = 300
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	if _, err := s.st.Pool().Exec(ctx, `
		WITH c AS (
			INSERT INTO customers (external_id, name, phone, consent)
			SELECT 'hold-' || g, '고객' || g, '+8210' || lpad(g::text, 8, '0'),
			       '{"sms": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}}'
			FROM generate_series(1, $1) g
			RETURNING id)
		INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		SELECT id, 1, 50000, now() - interval '200 days', now() - interval '200 days' FROM c`, n); err != nil {
		t.Fatal(err)
	}
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "대조군", "kind": "welcome_back", "params": map[string]any{
		"lapsed_days": 90, "every": "1h", "holdout_percent": 10,
		"coupon": map[string]any{"kind": "amount", "value": "10000", "valid_for": "60s"}, "reminder_before": "25s",
	}}, &prog)

	sweep := func(runs int) workflows.SweepResult {
		t.Helper()
		s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil)
		var id string
		eventually(t, 20*time.Second, "sweep to start", func() bool {
			d, err := s.tc.ScheduleClient().GetHandle(ctx, schedules.SweepScheduleID(prog.ID)).Describe(ctx)
			if err == nil && len(d.Info.RecentActions) >= runs {
				id = d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult.WorkflowID
			}
			return id != ""
		})
		var res workflows.SweepResult
		if err := s.tc.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := sweep(1)

	// The control group is exactly the hash's choice.
	rows, err := s.st.Pool().Query(ctx, `SELECT e.customer_id, c.phone, e.control, e.status, coalesce(e.outcome, ''), e.started_at = e.created_at AND e.ended_at = e.created_at
		FROM enrolments e JOIN customers c ON c.id = e.customer_id WHERE e.program_id = $1`, prog.ID)
	if err != nil {
		t.Fatal(err)
	}
	controlPhones := map[string]bool{}
	enrolled := 0
	for rows.Next() {
		var id int64
		var phone, status, outcome string
		var control bool
		var atEnrolment *bool
		if err := rows.Scan(&id, &phone, &control, &status, &outcome, &atEnrolment); err != nil {
			t.Fatal(err)
		}
		enrolled++
		if want := enrol.HeldOut(prog.ID, id, 10); control != want {
			t.Fatalf("customer %d: control %v, the hash says %v", id, control, want)
		}
		if control {
			controlPhones[phone] = true
			if status != "ended" || outcome != enrol.OutcomeControl || atEnrolment == nil || !*atEnrolment {
				t.Fatalf("control customer %d: %s/%s, started and ended at enrolment %v", id, status, outcome, atEnrolment)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	control := len(controlPhones)
	if enrolled != n || control < 12 || control > 48 || res.Enrolled != n-control {
		t.Fatalf("%d enrolments, %d control, sweep started %d; want %d, about 30, %d", enrolled, control, res.Enrolled, n, n-control)
	}
	t.Logf("%d of %d held out", control, n)

	// Temporal runs the treated only.
	query := fmt.Sprintf("ProgramId = '%d' AND TaskQueue = '%s'", prog.ID, s.queue)
	var runs int64
	eventually(t, 30*time.Second, "visibility to count the runs", func() bool {
		r, err := s.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: query})
		if err == nil {
			runs = r.GetCount()
		}
		return runs == int64(n-control)
	})

	// The treated are greeted; the control group gets nothing.
	greeted := func() int {
		k := 0
		for _, m := range s.standin.Messages() {
			if strings.Contains(m.Body, "오랜만이에요") {
				k++
			}
		}
		return k
	}
	eventually(t, 240*time.Second, "greetings to the treated", func() bool { return greeted() >= n-control })
	for _, m := range s.standin.Messages() {
		if controlPhones[m.To] {
			t.Fatalf("control customer %s was sent %q", m.To, m.Body)
		}
	}

	// The next sweep, within the cooldown, enrols no one: control
	// customers stay out like treated ones.
	if again := sweep(2); again.Enrolled != 0 {
		t.Fatalf("second sweep started %d", again.Enrolled)
	}
	var after int
	if err := s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM enrolments WHERE program_id = $1`, prog.ID).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != n {
		t.Fatalf("%d enrolments after a second sweep, want %d", after, n)
	}
	var counts struct {
		Enrolments map[string]int `json:"enrolments"`
	}
	s.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", prog.ID), nil, &counts)
	if counts.Enrolments["ended:control"] != control {
		t.Fatalf("program counts %v, want ended:control %d", counts.Enrolments, control)
	}
}
