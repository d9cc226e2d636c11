package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/workflows"
)

var sweepCustomers = flag.Int("sweep-customers", 2000, "audience size of TestSweepScale (100000 for the figure in the README)")

// TestSweepScale enrols a large lapsed audience through the program's
// sweep on the real stack and reports enrolments per second; every
// eligible customer must be enrolled exactly once. CI runs it with 2,000
// customers; the README's figure is -sweep-customers=100000.
func TestSweepScale(t *testing.T) {
	n := *sweepCustomers
	s := newStack(t)
	s.startWorker()
	ctx := context.Background()
	seedStart := time.Now()
	_, err := s.st.Pool().Exec(ctx, `
		WITH c AS (
			INSERT INTO customers (external_id, name, phone, consent)
			SELECT 'scale-' || g, '고객' || g, '+8210' || lpad(g::text, 8, '0'),
			       '{"sms": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}}'
			FROM generate_series(1, $1) g
			RETURNING id)
		INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		SELECT id, 1, 50000, now() - interval '200 days', now() - interval '200 days' FROM c`, n)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d lapsed customers in %s", n, time.Since(seedStart).Round(time.Millisecond))

	raw := rawStartRate(t, s, min(n, 2000))

	// Wake-up whose first contact is a month away: enrolments start and
	// then sleep, so the figure is the sweep's, not the SMS provider's.
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "scale", "kind": "dormant_wakeup", "params": map[string]any{
		"holdout_percent": 0, // every customer is started: the figure is the start rate
		"steps":           []map[string]any{{"key": "d30", "offset": "30d", "channel": "sms", "message": map[string]any{"text": "안녕하세요"}}},
	}}, &prog)
	start := time.Now()
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil)
	var sweepID string
	eventually(t, 10*time.Second, "sweep to start", func() bool {
		d, err := s.tc.ScheduleClient().GetHandle(ctx, schedules.SweepScheduleID(prog.ID)).Describe(ctx)
		if err == nil && len(d.Info.RecentActions) > 0 {
			sweepID = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
		}
		return sweepID != ""
	})
	var res workflows.SweepResult
	if err := s.tc.GetWorkflow(ctx, sweepID, "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	swept := time.Since(start)
	eventually(t, 30*time.Minute, "every enrolment to run", func() bool {
		var pending int
		_ = s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM enrolments WHERE program_id = $1 AND status = 'pending'`, prog.ID).Scan(&pending)
		return pending == 0
	})
	running := time.Since(start)

	var rows, customers, workflowIDs int
	if err := s.st.Pool().QueryRow(ctx, `SELECT count(*), count(DISTINCT customer_id), count(DISTINCT workflow_id) FROM enrolments WHERE program_id = $1`, prog.ID).
		Scan(&rows, &customers, &workflowIDs); err != nil {
		t.Fatal(err)
	}
	if res.Enrolled != n || rows != n || customers != n || workflowIDs != n {
		t.Fatalf("sweep enrolled %d; %d enrolments for %d customers under %d workflow ids; want %d each", res.Enrolled, rows, customers, workflowIDs, n)
	}
	// A second sweep right after finds nobody new.
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil)
	time.Sleep(3 * time.Second)
	var after int
	_ = s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM enrolments WHERE program_id = $1`, prog.ID).Scan(&after)
	if after != n {
		t.Fatalf("a second sweep made %d enrolments, want still %d", after, n)
	}
	t.Logf("sweep of %d customers: %d pages, enrolled and started in %s (%.0f enrolments/s); all %d workflows running after %s (%.0f/s); raw Temporal start rate on this server %.0f/s",
		n, res.Pages, swept.Round(time.Millisecond), float64(n)/swept.Seconds(), n, running.Round(time.Millisecond), float64(n)/running.Seconds(), raw)
}

// rawStartRate is the yardstick: bare workflow starts per second on the
// same server (same concurrency as a sweep page, no worker, no database).
func rawStartRate(t *testing.T, s *stack, n int) float64 {
	t.Helper()
	ctx := context.Background()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	start := time.Now()
	for i := range n {
		g.Go(func() error {
			_, err := s.tc.ExecuteWorkflow(gctx, client.StartWorkflowOptions{ID: fmt.Sprintf("raw-%s-%d", s.queue, i), TaskQueue: s.queue + "-raw"}, "Raw")
			return err
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}
