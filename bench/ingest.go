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
	"go.temporal.io/sdk/temporal"

	"github.com/dangol/dangol/enrol"
	"github.com/dangol/dangol/programs"
)

// Ingest: POST /v1/purchases with an active happy call, IngestConcurrency
// requests in flight on loopback, against raw StartWorkflow calls (what the
// purchase path makes of a purchase) at the same concurrency, each with a
// worker process running what it starts. A third side starts the raw
// workflow with the three search attributes every enrolment carries
// (enrol.Start), to price them. Each side takes at most Purchases requests
// in PurchaseTime, in ingestRounds turns: raw, raw with search attributes,
// purchases, and again, so that a neighbour's load or the server's growing
// state weighs on every side alike (the side that went second used to
// meet a server already holding the first side's workflows). Goal: at
// least 80% of the raw rate.
var Ingest = Section{Name: "ingest", Run: runIngest}

// ingestRounds is how many turns each side of the ingest section takes.
const ingestRounds = 4

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
	bare, err := e.StartWorker(ctx, WorkerBare, rawQueue)
	if err != nil {
		return nil, err
	}
	defer bare.Stop()
	dangol, err := e.StartWorker(ctx, WorkerDangol, e.TaskQueue)
	if err != nil {
		return nil, err
	}
	defer dangol.Stop()
	time.Sleep(e.Settle) // polling before the first call

	rawStart := func(attrs bool) func(ctx context.Context, i int) error {
		return func(ctx context.Context, i int) error {
			o := client.StartWorkflowOptions{ID: fmt.Sprintf("bench-ingest-raw-%d-%t-%d", seq, attrs, i), TaskQueue: rawQueue}
			if attrs {
				// As enrol.Start sets them on every enrolment.
				o.TypedSearchAttributes = temporal.NewSearchAttributes(
					enrol.AttrProgramID.ValueSet(fmt.Sprint(seq)),
					enrol.AttrCustomerID.ValueSet(fmt.Sprint(i+1)),
					enrol.AttrProgramKind.ValueSet(programs.KindHappyCall),
				)
			}
			_, err := e.Temporal.ExecuteWorkflow(ctx, o, BareSleepWorkflow)
			return err
		}
	}
	sides := []struct {
		name string
		do   func(ctx context.Context, i int) error
		// w runs what the side starts, workflows of type wf.
		w   *WorkerProc
		wf  string
		got load
	}{
		{name: "raw StartWorkflow", do: rawStart(false), w: bare, wf: BareSleepWorkflow},
		{name: "raw StartWorkflow with search attributes", do: rawStart(true), w: bare, wf: BareSleepWorkflow},
		{name: "POST /v1/purchases", w: dangol, wf: enrol.WorkflowHappyCall, do: func(ctx context.Context, i int) error {
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
		}},
	}
	per, perTime := max(1, e.Purchases/ingestRounds), e.PurchaseTime/ingestRounds
	for round := range ingestRounds {
		for k := range sides {
			side := &sides[k]
			e.logf("ingest: round %d/%d, %s at concurrency %d", round+1, ingestRounds, side.name, e.IngestConcurrency)
			offset := round * per
			l, err := runLoad(ctx, e.IngestConcurrency, per, perTime, func(ctx context.Context, i int) error {
				return side.do(ctx, offset+i)
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", side.name, err)
			}
			side.got = side.got.add(l)
			// The next turn starts once what this one started is asleep,
			// so that it does not pay for this one's workflow tasks.
			want := 0
			for _, o := range sides {
				if o.wf == side.wf {
					want += o.got.n
				}
			}
			if err := waitAsleep(ctx, side.w, side.wf, want); err != nil {
				return nil, fmt.Errorf("%s: %w", side.name, err)
			}
		}
	}
	raw, attrs, got := sides[0].got, sides[1].got, sides[2].got
	e.logf("ingest: %d purchases at %.0f/s (p50 %s, p99 %s); raw %d starts at %.0f/s (p50 %s, p99 %s); with search attributes %d at %.0f/s",
		got.n, got.rate(), ms(got.p(50)), ms(got.p(99)), raw.n, raw.rate(), ms(raw.p(50)), ms(raw.p(99)), attrs.n, attrs.rate())
	note := fmt.Sprintf("%d purchases vs %d raw starts, concurrency %d, %d alternating turns a side", got.n, raw.n, e.IngestConcurrency, ingestRounds)
	return []Figure{
		{Name: "purchases taken", Value: got.rate(), Baseline: raw.rate(), Unit: "/s", Goal: Goal{AtLeast, 0.80}, Note: note},
		{Name: "purchase latency p50", Value: msf(got.p(50)), Baseline: msf(raw.p(50)), Unit: "ms"},
		{Name: "purchase latency p99", Value: msf(got.p(99)), Baseline: msf(raw.p(99)), Unit: "ms"},
		{Name: "raw starts with the 3 search attributes", Value: attrs.rate(), Baseline: raw.rate(), Unit: "/s",
			Note: fmt.Sprintf("%d bare workflows started with ProgramId, CustomerId and ProgramKind (as enrol.Start) vs %d without, alternating turns", attrs.n, raw.n)},
	}, nil
}

// waitAsleep waits until the worker has seen n workflows of the type go
// to sleep, or gives up when none has for a while.
func waitAsleep(ctx context.Context, w *WorkerProc, workflowType string, n int) error {
	const stallAfter = 30 * time.Second
	seen, since := -1, time.Now()
	for {
		got, _, err := w.Asleep(ctx, workflowType)
		if err != nil || got >= n {
			return err
		}
		if got != seen {
			seen, since = got, time.Now()
		} else if time.Since(since) > stallAfter {
			return fmt.Errorf("%d of %d %s workflows asleep, none more for %s", got, n, workflowType, stallAfter)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// load is what a closed-loop load run measured.
type load struct {
	n         int
	elapsed   time.Duration
	latencies []time.Duration // sorted
}

func (l load) rate() float64 { return float64(l.n) / l.elapsed.Seconds() }

// add is the load of l and m run one after the other.
func (l load) add(m load) load {
	lat := append(slices.Clone(l.latencies), m.latencies...)
	slices.Sort(lat)
	return load{n: l.n + m.n, elapsed: l.elapsed + m.elapsed, latencies: lat}
}

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
