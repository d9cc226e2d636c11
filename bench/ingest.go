package bench

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
)

// Ingest: POST /v1/purchases with an active happy call, IngestConcurrency
// requests in flight on loopback, against raw StartWorkflow calls (what the
// purchase path makes of a purchase) at the same concurrency, each with a
// worker process running what it starts. Each side stops at Purchases
// requests or PurchaseTime, whichever comes first. Goal: at least 80% of
// the raw rate.
var Ingest = Section{Name: "ingest", Run: runIngest}

func runIngest(ctx context.Context, e *Env) ([]Figure, error) {
	seq := e.next()
	e.logf("ingest: seeding %d customers and a happy call", e.Purchases)
	if _, err := e.Store.Pool().Exec(ctx, `
		INSERT INTO customers (external_id, name, phone, consent)
		SELECT 'bench-i' || $2::int || '-' || g, '고객' || g, '+8210' || lpad(($2::int * 2000000 + g)::text, 8, '0'),
		       '{"sms": {"granted": true, "at": "2026-01-01T00:00:00Z", "source": "seed"}}'
		FROM generate_series(1, $1::int) g`, e.Purchases, seq); err != nil {
		return nil, fmt.Errorf("seeding customers: %w", err)
	}
	if _, err := e.Store.Pool().Exec(ctx, `ANALYZE customers`); err != nil {
		return nil, err
	}
	// The first touch is a week away: the figure is the intake, not the
	// SMS provider.
	if err := e.API(ctx, http.StatusCreated, "POST", "/v1/programs", map[string]any{
		"name": fmt.Sprintf("bench happy call %d", seq), "kind": "happy_call", "params": map[string]any{
			"touches": []map[string]any{{"key": "7d", "offset": "7d", "sms": "{{.Name}}님, {{.Product}} 잘 쓰고 계신가요?"}},
		},
	}, nil); err != nil {
		return nil, err
	}

	rawQueue := fmt.Sprintf("bench-ingest-raw-%d", seq)
	e.logf("ingest: baseline, raw StartWorkflow at concurrency %d", e.IngestConcurrency)
	raw, err := e.withWorker(ctx, WorkerBare, rawQueue, func() (load, error) {
		return runLoad(ctx, e.IngestConcurrency, e.Purchases, e.PurchaseTime, func(ctx context.Context, i int) error {
			_, err := e.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
				ID: fmt.Sprintf("bench-ingest-raw-%d-%d", seq, i), TaskQueue: rawQueue,
			}, BareSleepWorkflow)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	e.logf("ingest: POST /v1/purchases at concurrency %d", e.IngestConcurrency)
	got, err := e.withWorker(ctx, WorkerDangol, e.TaskQueue, func() (load, error) {
		return runLoad(ctx, e.IngestConcurrency, e.Purchases, e.PurchaseTime, func(ctx context.Context, i int) error {
			var out struct {
				Enrolments []struct{ ID int64 } `json:"enrolments"`
			}
			err := e.API(ctx, http.StatusCreated, "POST", "/v1/purchases", map[string]any{
				"external_id": fmt.Sprintf("bench-o%d-%d", seq, i), "customer_id": fmt.Sprintf("bench-i%d-%d", seq, i+1),
				"amount": "1290000", "currency": "KRW", "category": "가전", "product": "비스포크 냉장고", "store": "강남점",
				"purchased_at": time.Now().Format(time.RFC3339Nano),
			}, &out)
			if err == nil && len(out.Enrolments) != 1 {
				err = fmt.Errorf("purchase %d enrolled %d times, want once (the happy call)", i, len(out.Enrolments))
			}
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	e.logf("ingest: %d purchases at %.0f/s (p50 %s, p99 %s); raw %d starts at %.0f/s (p50 %s, p99 %s)",
		got.n, got.rate(), ms(got.p(50)), ms(got.p(99)), raw.n, raw.rate(), ms(raw.p(50)), ms(raw.p(99)))
	note := fmt.Sprintf("%d purchases vs %d raw starts, concurrency %d", got.n, raw.n, e.IngestConcurrency)
	return []Figure{
		{Name: "purchases taken", Value: got.rate(), Baseline: raw.rate(), Unit: "/s", Goal: Goal{AtLeast, 0.80}, Note: note},
		{Name: "purchase latency p50", Value: msf(got.p(50)), Baseline: msf(raw.p(50)), Unit: "ms"},
		{Name: "purchase latency p99", Value: msf(got.p(99)), Baseline: msf(raw.p(99)), Unit: "ms"},
	}, nil
}

// withWorker runs fn with a worker process of the mode polling queue.
func (e *Env) withWorker(ctx context.Context, mode, queue string, fn func() (load, error)) (load, error) {
	w, err := e.StartWorker(ctx, mode, queue)
	if err != nil {
		return load{}, err
	}
	defer w.Stop()
	time.Sleep(e.Settle) // polling before the first call
	return fn()
}

// load is what a closed-loop load run measured.
type load struct {
	n         int
	elapsed   time.Duration
	latencies []time.Duration // sorted
}

func (l load) rate() float64 { return float64(l.n) / l.elapsed.Seconds() }

// p is the q-th percentile latency (nearest rank).
func (l load) p(q float64) time.Duration {
	if len(l.latencies) == 0 {
		return 0
	}
	i := int(math.Ceil(q/100*float64(len(l.latencies)))) - 1
	return l.latencies[max(0, min(i, len(l.latencies)-1))]
}

// runLoad calls do(0), do(1), ... with concurrency calls in flight until
// max calls or until limit has passed, and waits for those in flight. The
// first error ends the run.
func runLoad(ctx context.Context, concurrency, maxCalls int, limit time.Duration, do func(ctx context.Context, i int) error) (load, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	lat := make([]time.Duration, maxCalls)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	stopAt := start.Add(limit)
	for range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(stopAt) {
				i := int(next.Add(1) - 1)
				if i >= maxCalls {
					return
				}
				t := time.Now()
				if err := do(ctx, i); err != nil {
					cancel(err)
					return
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := context.Cause(ctx); err != nil {
		return load{}, err
	}
	n := min(int(next.Load()), maxCalls)
	lat = lat[:n]
	slices.Sort(lat)
	return load{n: n, elapsed: elapsed, latencies: lat}, nil
}

func ms(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
