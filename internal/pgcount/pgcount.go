// Package pgcount counts database round trips: a pgx tracer that adds
// each statement, batch and COPY of a connection to the Counter carried
// by the call's context. A batch is one round trip whatever it holds; a
// transaction's BEGIN and COMMIT are statements of their own, so they
// count too. Calls whose context carries no Counter are not counted, so
// one pool can serve counted and uncounted work at once (a webhook
// handler's queries do not land on a send being measured).
//
// Not counted: the pool's liveness ping of a connection idle for over a
// second, and the Describe a statement costs the first time a connection
// sees it (the statement cache); both are per connection, not per call.
package pgcount

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Tracer is the pgx tracer to set as ConnConfig.Tracer of a pool whose
// round trips are to be counted.
type Tracer struct{}

var (
	_ pgx.QueryTracer    = Tracer{}
	_ pgx.BatchTracer    = Tracer{}
	_ pgx.CopyFromTracer = Tracer{}
)

// TraceQueryStart counts a Query, QueryRow or Exec.
func (Tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	if c := from(ctx); c != nil {
		c.queries.Add(1)
		c.note(data.SQL)
	}
	return ctx
}

// TraceQueryEnd does nothing: a statement counts when it starts.
func (Tracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TraceBatchStart counts a batch as one round trip.
func (Tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	if c := from(ctx); c != nil {
		c.batches.Add(1)
		var sqls []string
		if data.Batch != nil {
			for _, q := range data.Batch.QueuedQueries {
				sqls = append(sqls, firstLine(q.SQL))
			}
		}
		c.note("batch[" + strings.Join(sqls, "; ") + "]")
	}
	return ctx
}

// TraceBatchQuery does nothing: the batch's statements share its round trip.
func (Tracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

// TraceBatchEnd does nothing.
func (Tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// TraceCopyFromStart counts a COPY.
func (Tracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceCopyFromStartData) context.Context {
	if c := from(ctx); c != nil {
		c.copies.Add(1)
		c.note("COPY " + data.TableName.Sanitize())
	}
	return ctx
}

// TraceCopyFromEnd does nothing.
func (Tracer) TraceCopyFromEnd(context.Context, *pgx.Conn, pgx.TraceCopyFromEndData) {}

// Counter accumulates the round trips of the calls made with its context.
// It is safe for concurrent use.
type Counter struct {
	queries, batches, copies atomic.Int64

	mu  sync.Mutex
	log []string
}

// maxLog bounds the statements a Counter remembers for Statements.
const maxLog = 100

func (c *Counter) note(sql string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.log) < maxLog {
		c.log = append(c.log, firstLine(sql))
	}
}

// Counts is what a Counter has seen.
type Counts struct {
	Queries, Batches, Copies int64
}

// RoundTrips is the number of times the client waited for the server.
func (n Counts) RoundTrips() int64 { return n.Queries + n.Batches + n.Copies }

// Counts returns the counts so far.
func (c *Counter) Counts() Counts {
	return Counts{Queries: c.queries.Load(), Batches: c.batches.Load(), Copies: c.copies.Load()}
}

// Statements returns the first line of each counted statement (a batch
// as one entry listing its statements), in order, up to the first 100:
// what to look at when a count is higher than it should be.
func (c *Counter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

type key struct{}

// NewContext returns ctx whose database calls count into c.
func NewContext(ctx context.Context, c *Counter) context.Context {
	return context.WithValue(ctx, key{}, c)
}

func from(ctx context.Context) *Counter {
	c, _ := ctx.Value(key{}).(*Counter)
	return c
}

// Measure runs fn with a fresh Counter in its context and returns the
// Counter, and fn's error.
func Measure(ctx context.Context, fn func(context.Context) error) (*Counter, error) {
	c := &Counter{}
	return c, fn(NewContext(ctx, c))
}

func firstLine(sql string) string {
	sql = strings.TrimSpace(sql)
	if i := strings.IndexByte(sql, '\n'); i >= 0 {
		sql = sql[:i] + " …"
	}
	const max = 120
	if len(sql) > max {
		sql = sql[:max] + " …"
	}
	return sql
}
