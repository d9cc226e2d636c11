package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/dangol/dangol/enrol"
)

// A Fleet is n workflows of one kind started and each run to its first
// timer, on a fresh worker process, with what that process held before,
// while they slept, and after its cache was purged. The enrolment and the
// worker memory sections share fleets of the same size: a run measures
// each once.
type Fleet struct {
	Kind string // "bare" or "enrolment"
	N    int
	// Elapsed is from the first start (the sweep's trigger) to the moment
	// the last workflow asked for its first timer.
	Elapsed time.Duration
	// The worker process's RSS, bytes: polling with nothing cached, with
	// the fleet asleep, and after PurgeStickyWorkflowCache and
	// debug.FreeOSMemory.
	IdleRSS, AsleepRSS, PurgedRSS int64
	// Goroutines and live heap (after a GC) idle and with the fleet asleep.
	IdleGoroutines, AsleepGoroutines int
	IdleHeap, AsleepHeap             int64
}

// Rate is workflows asleep per second.
func (f *Fleet) Rate() float64 { return float64(f.N) / f.Elapsed.Seconds() }

type fleetKey struct {
	kind string
	n    int
}

// BareFleet starts n bare workflows (BareSleep) at StartConcurrency from
// this process, with a bare worker process running them.
func (e *Env) BareFleet(ctx context.Context, n int) (*Fleet, error) {
	key := fleetKey{"bare", n}
	if f := e.fleets[key]; f != nil {
		return f, nil
	}
	seq := e.next()
	queue := fmt.Sprintf("bench-bare-%d", seq)
	e.logf("baseline: %d bare workflows to their first timer (client concurrency %d)", n, e.StartConcurrency)
	w, err := e.StartWorker(ctx, WorkerBare, queue)
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	f := &Fleet{Kind: "bare", N: n}
	if err := f.readIdle(ctx, w, e.Settle); err != nil {
		return nil, err
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("bench-bare-%d-%d", seq, i)
	}
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.StartConcurrency)
	for _, id := range ids {
		g.Go(func() error {
			_, err := e.Temporal.ExecuteWorkflow(gctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, BareSleepWorkflow)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("starting bare workflows: %w", err)
	}
	if err := f.waitAsleep(ctx, e, w, BareSleepWorkflow, start); err != nil {
		return nil, err
	}
	if err := e.checkAsleep(ctx, ids); err != nil {
		return nil, err
	}
	if err := f.readAsleepAndPurge(ctx, w, e.Settle); err != nil {
		return nil, err
	}
	e.fleets[key] = f
	e.logf("baseline: %d asleep in %s (%.0f/s)", n, f.Elapsed.Round(time.Millisecond), f.Rate())
	return f, nil
}

// EnrolmentFleet enrols n new customers in a new dormant_wakeup program
// through the real path: the program is created with POST /v1/programs,
// POST /v1/programs/{id}/sweep triggers its sweep, and a dangol worker
// process runs the sweep (enrolments recorded, workflows started from the
// activity) and the enrolments until each sleeps until its first step, a
// month away.
func (e *Env) EnrolmentFleet(ctx context.Context, n int) (*Fleet, error) {
	key := fleetKey{"enrolment", n}
	if f := e.fleets[key]; f != nil {
		return f, nil
	}
	seq := e.next()
	// The program's audience is this fleet's customers only: they alone
	// have this total spend.
	spend := strconv.Itoa(70_000 + seq)
	e.logf("enrolment: seeding %d lapsed customers", n)
	if _, err := e.Store.Pool().Exec(ctx, `
		WITH c AS (
			INSERT INTO customers (external_id, name, phone, consent)
			SELECT 'bench-f' || $2::int || '-' || g, '고객' || g, '+8210' || lpad(($2::int * 2000000 + g)::text, 8, '0'),
			       '{"sms": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}}'
			FROM generate_series(1, $1::int) g
			RETURNING id)
		INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
		SELECT id, 1, $3::numeric, now() - interval '200 days', now() - interval '200 days' FROM c`, n, seq, spend); err != nil {
		return nil, fmt.Errorf("seeding customers: %w", err)
	}
	if _, err := e.Store.Pool().Exec(ctx, `ANALYZE customers; ANALYZE customer_stats`); err != nil {
		return nil, err
	}
	var prog struct {
		ID int64 `json:"id"`
	}
	if err := e.API(ctx, http.StatusCreated, "POST", "/v1/programs", map[string]any{
		"name": fmt.Sprintf("bench wake-up %d", seq), "kind": "dormant_wakeup", "params": map[string]any{
			"holdout_percent": 0, // every customer is started: the figure is the enrolment rate
			"audience":        map[string]any{"min_total_spend": spend, "max_total_spend": spend},
			"steps":           []map[string]any{{"key": "d30", "offset": "30d", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님, 잘 지내시죠?"}}},
		},
	}, &prog); err != nil {
		return nil, err
	}
	w, err := e.StartWorker(ctx, WorkerDangol, e.TaskQueue)
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	f := &Fleet{Kind: "enrolment", N: n}
	if err := f.readIdle(ctx, w, e.Settle); err != nil {
		return nil, err
	}
	e.logf("enrolment: sweeping program %d (%d customers) to their first timer", prog.ID, n)
	start := time.Now()
	if err := e.API(ctx, http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil); err != nil {
		return nil, err
	}
	if err := f.waitAsleep(ctx, e, w, enrol.WorkflowDormantWakeup, start); err != nil {
		return nil, err
	}
	rows, err := e.Store.Pool().Query(ctx, `SELECT workflow_id FROM enrolments WHERE program_id = $1`, prog.ID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("program %d has %d enrolments, want %d", prog.ID, len(ids), n)
	}
	if err := e.checkAsleep(ctx, ids); err != nil {
		return nil, err
	}
	if err := f.readAsleepAndPurge(ctx, w, e.Settle); err != nil {
		return nil, err
	}
	e.fleets[key] = f
	e.logf("enrolment: %d asleep in %s (%.0f/s)", n, f.Elapsed.Round(time.Millisecond), f.Rate())
	return f, nil
}

func (f *Fleet) readIdle(ctx context.Context, w *WorkerProc, settle time.Duration) error {
	time.Sleep(settle)
	var err error
	if f.IdleGoroutines, f.IdleHeap, err = w.Stats(ctx); err != nil {
		return err
	}
	f.IdleRSS, err = w.RSS()
	return err
}

func (f *Fleet) readAsleepAndPurge(ctx context.Context, w *WorkerProc, settle time.Duration) error {
	time.Sleep(settle)
	var err error
	// RSS first: Stats collects garbage, and RSS is what the machine
	// pays for, garbage included.
	if f.AsleepRSS, err = w.RSS(); err != nil {
		return err
	}
	if f.AsleepGoroutines, f.AsleepHeap, err = w.Stats(ctx); err != nil {
		return err
	}
	if err := w.Purge(ctx); err != nil {
		return err
	}
	f.PurgedRSS, err = w.RSS()
	return err
}

// waitAsleep waits until n workflows of the type have asked the worker for
// their first timer, and records when the last one did. It gives up when
// none has gone to sleep for stallAfter: a busy machine only makes the
// run longer, a stuck one ends it.
func (f *Fleet) waitAsleep(ctx context.Context, e *Env, w *WorkerProc, workflowType string, start time.Time) error {
	lastLog, lastProgress, progress := time.Now(), time.Now(), -1
	for {
		n, last, err := w.Asleep(ctx, workflowType)
		if err != nil {
			return err
		}
		if n >= f.N {
			if n > f.N {
				return fmt.Errorf("%d %s workflows went to sleep, want %d", n, workflowType, f.N)
			}
			f.Elapsed = last.Sub(start)
			return nil
		}
		if n > progress {
			progress, lastProgress = n, time.Now()
		}
		if time.Since(lastProgress) > stallAfter {
			return fmt.Errorf("%w: %d of %d %s workflows asleep after %s, none more in the last %s",
				errTimeout, n, f.N, workflowType, time.Since(start).Round(time.Second), stallAfter)
		}
		if time.Since(lastLog) > 30*time.Second {
			e.logf("  %d of %d asleep after %s", n, f.N, time.Since(start).Round(time.Second))
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stallAfter is how long a fleet may make no progress before its run
// fails.
const stallAfter = 3 * time.Minute

// checkAsleep asks the server about a sample of the workflows (all of them
// up to 200): each must be running with no workflow task and no activity
// pending, which is asleep on a timer. The worker's count says they asked
// for one; this says the server holds them there.
func (e *Env) checkAsleep(ctx context.Context, ids []string) error {
	sample := ids
	if len(sample) > 200 {
		sample = make([]string, 200)
		for i, j := range rand.Perm(len(ids))[:200] {
			sample[i] = ids[j]
		}
	}
	for _, id := range sample {
		var err error
		for attempt := 0; attempt < 50; attempt++ {
			if err = e.asleepOnServer(ctx, id); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond) // its last task completing
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *Env) asleepOnServer(ctx context.Context, id string) error {
	d, err := e.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return fmt.Errorf("describe %s: %w", id, err)
	}
	switch {
	case d.GetWorkflowExecutionInfo().GetStatus() != enums.WORKFLOW_EXECUTION_STATUS_RUNNING:
		return fmt.Errorf("workflow %s is %s, want running (asleep)", id, d.GetWorkflowExecutionInfo().GetStatus())
	case d.GetPendingWorkflowTask() != nil:
		return fmt.Errorf("workflow %s has a workflow task pending, want asleep", id)
	case len(d.GetPendingActivities()) > 0:
		return fmt.Errorf("workflow %s has %d activities pending, want asleep", id, len(d.GetPendingActivities()))
	}
	return nil
}
