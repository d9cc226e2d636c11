package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/bench/dbbench"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// canonical is a report's figures with every list sorted, so two ways of
// counting can be compared whatever order their groups came out in.
func canonical(figs map[string]*store.ReportFigures) map[string]string {
	out := map[string]string{}
	for st, f := range figs {
		var lines []string
		add := func(section string, v any) { lines = append(lines, fmt.Sprintf("%s %+v", section, v)) }
		for _, v := range f.Enrolments {
			add("enrolments", v)
		}
		for _, v := range f.Conversions {
			add("conversions", v)
		}
		for _, v := range f.Revenue {
			add("revenue", v)
		}
		for _, v := range f.Messages {
			add("messages", v)
		}
		for _, v := range f.CallTasks {
			add("calls", v)
		}
		add("coupons", f.Coupons)
		for _, v := range f.Redemptions {
			add("redemptions", v)
		}
		for _, v := range f.Steps {
			v.First = v.First.UTC()
			add("steps", v)
		}
		slices.Sort(lines)
		out[st] = fmt.Sprint(lines)
	}
	return out
}

type rollupRig struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Store
	sql  *pgxpool.Pool
	prog int64
	w    store.ReportWindow
}

func newRollupRig(t *testing.T, n int) *rollupRig {
	ctx := context.Background()
	st, dsn := testenv.Store(t)
	prog, err := dbbench.SeedReport(ctx, dsn, n)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	q := dbbench.ReportQuery(prog)
	return &rollupRig{t: t, ctx: ctx, st: st, sql: pool, prog: prog,
		w: store.ReportWindow{Months: q.WindowMonths, Days: q.WindowDays, Seconds: q.WindowSeconds}}
}

func (r *rollupRig) exec(q string, args ...any) {
	r.t.Helper()
	if _, err := r.sql.Exec(r.ctx, q, args...); err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
}

// write runs a write the test needs to change something.
func (r *rollupRig) write(q string, args ...any) {
	r.t.Helper()
	tag, err := r.sql.Exec(r.ctx, q, args...)
	if err != nil {
		r.t.Fatalf("%s: %v", q, err)
	}
	if tag.RowsAffected() == 0 {
		r.t.Fatalf("wrote nothing: %s", q)
	}
}

func (r *rollupRig) report(q store.ReportQuery) map[string]string {
	r.t.Helper()
	figs, err := r.st.ProgramReport(r.ctx, q)
	if err != nil {
		r.t.Fatal(err)
	}
	return canonical(figs)
}

// refresh stores every stale day up to the query's time.
func (r *rollupRig) refresh(until time.Time) int {
	r.t.Helper()
	total := 0
	for {
		n, more, err := r.st.RefreshReportDays(r.ctx, r.prog, r.w, until, 40)
		if err != nil {
			r.t.Fatal(err)
		}
		total += n
		if !more {
			return total
		}
	}
}

// live is the report counted from the tables alone, the stored days set
// aside in a transaction that is rolled back.
func (r *rollupRig) live(q store.ReportQuery) map[string]string {
	r.t.Helper()
	r.exec(`CREATE TABLE IF NOT EXISTS report_days_aside AS SELECT * FROM report_days WITH NO DATA`)
	r.exec(`CREATE TABLE IF NOT EXISTS report_rollups_aside AS SELECT * FROM report_rollups WITH NO DATA`)
	r.exec(`INSERT INTO report_days_aside SELECT * FROM report_days`)
	r.exec(`INSERT INTO report_rollups_aside SELECT * FROM report_rollups`)
	r.exec(`DELETE FROM report_days`)
	defer func() {
		r.exec(`INSERT INTO report_days SELECT * FROM report_days_aside`)
		r.exec(`INSERT INTO report_rollups SELECT * FROM report_rollups_aside`)
		r.exec(`TRUNCATE report_days_aside, report_rollups_aside`)
	}()
	return r.report(q)
}

func (r *rollupRig) same(what string, got, want map[string]string) {
	r.t.Helper()
	if len(got) != len(want) {
		r.t.Fatalf("%s: %d stores, want %d", what, len(got), len(want))
	}
	for st, w := range want {
		if got[st] != w {
			r.t.Fatalf("%s: store %q:\n got %s\nwant %s", what, st, got[st], w)
		}
	}
}

// The report from stored days is the report from the tables, figure for
// figure: whole, over ranges that cut days in two, for one store, and
// after every kind of write the report counts has touched stored days
// (each makes its day live again until the next refresh).
func TestReportRollupsAgreeWithTables(t *testing.T) {
	r := newRollupRig(t, 4000)
	whole := dbbench.ReportQuery(r.prog)
	cut := whole
	cut.From, cut.To = dbbench.ReportAt.Add(30*time.Hour+17*time.Minute), dbbench.ReportAt.Add(80*24*time.Hour+5*time.Hour)
	one := whole
	one.Store = "store-7"
	queries := map[string]store.ReportQuery{"whole": whole, "cut": cut, "one store": one}

	before := map[string]map[string]string{}
	for name, q := range queries {
		before[name] = r.report(q)
	}
	if n := r.refresh(whole.Now); n < 100 {
		t.Fatalf("stored %d days, want the program's 100 and more", n)
	}
	var true_ int
	if err := r.sql.QueryRow(r.ctx, `SELECT count(*) FROM report_days WHERE program_id = $1`, r.prog).Scan(&true_); err != nil || true_ < 100 {
		t.Fatalf("%d stored days (%v)", true_, err)
	}
	for name, q := range queries {
		r.same(name+", stored days", r.report(q), before[name])
	}
	if n := r.refresh(whole.Now); n != 0 {
		t.Fatalf("a second refresh stored %d days, want none (nothing changed)", n)
	}

	// Writes of every kind, each in a different stored day (the seed's
	// day d holds enrolment i where i % 100 = d: see SeedReport).
	at := func(d int) time.Time { return dbbench.ReportAt.AddDate(0, 0, d) }
	r.write(`UPDATE messages SET status = 'failed', error_message = 'x' WHERE id IN (
		SELECT m.id FROM messages m JOIN enrolments e ON e.id = m.enrolment_id
		WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND m.status = 'delivered' LIMIT 3)`, r.prog, at(15), at(16))
	r.write(`UPDATE call_tasks SET status = 'open', outcome = NULL, completed_at = NULL WHERE id IN (
		SELECT t.id FROM call_tasks t JOIN enrolments e ON e.id = t.enrolment_id
		WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 LIMIT 2)`, r.prog, at(21), at(22))
	r.write(`UPDATE coupons SET redeemed_at = issued_at + interval '1 day', redeemed_order = 'pb' || substr(code, 2) WHERE id IN (
		SELECT k.id FROM coupons k JOIN enrolments e ON e.id = k.enrolment_id
		WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND k.redeemed_at IS NULL LIMIT 2)`, r.prog, at(33), at(34))
	// A purchase that converts an enrolment of day 42.
	r.write(`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
		SELECT 'late-' || e.id, e.customer_id, 777, 'KRW', 'store-1', e.created_at + interval '2 days'
		FROM enrolments e WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND e.outcome = 'expired' LIMIT 2`, r.prog, at(42), at(43))
	r.write(`UPDATE enrolments SET status = 'ended', outcome = 'stopped' WHERE id IN (
		SELECT id FROM enrolments WHERE program_id = $1 AND created_at >= $2 AND created_at < $3 AND status = 'active' LIMIT 3)`, r.prog, at(53), at(54))
	r.write(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, created_at)
		SELECT $1, 1, id, 'late-' || id, 'ended', $2::timestamptz + interval '3 hours' FROM customers ORDER BY id LIMIT 2`, r.prog, at(66))
	r.write(`DELETE FROM messages WHERE id IN (
		SELECT m.id FROM messages m JOIN enrolments e ON e.id = m.enrolment_id
		WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 LIMIT 2)`, r.prog, at(77), at(78))

	for name, q := range queries {
		want := r.live(q)
		if name == "whole" && fmt.Sprint(want) == fmt.Sprint(before[name]) {
			t.Fatal("the writes changed nothing the report counts: the test proves nothing")
		}
		r.same(name+", after writes", r.report(q), want)
	}
	if n := r.refresh(whole.Now); n != 7 {
		t.Fatalf("the refresh after writes to 7 days stored %d", n)
	}
	for name, q := range queries {
		r.same(name+", refreshed", r.report(q), r.live(q))
	}
	// A stored day's open call task becomes overdue with time, not with a
	// write: the report counts it at its own time.
	late := whole
	late.Now = at(400)
	r.same("overdue later", r.report(late), r.live(late))

	// A longer attribution window has no stored days yet: counted live,
	// and the same once stored.
	long := whole
	long.WindowDays = 60
	want := r.live(long)
	r.same("another window", r.report(long), want)
}

// A write in progress while a day is stored is not in the stored figures;
// once it commits, the day is live again, so the report still counts it.
func TestReportRollupsMissNoConcurrentWrite(t *testing.T) {
	r := newRollupRig(t, 1000)
	whole := dbbench.ReportQuery(r.prog)
	day := dbbench.ReportAt.AddDate(0, 0, 5)

	tx, err := r.sql.Begin(r.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(r.ctx) }()
	if _, err := tx.Exec(r.ctx, `UPDATE messages SET status = 'failed' WHERE id IN (
		SELECT m.id FROM messages m JOIN enrolments e ON e.id = m.enrolment_id
		WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND m.status <> 'failed' LIMIT 4)`,
		r.prog, day, day.AddDate(0, 0, 1)); err != nil {
		t.Fatal(err)
	}
	r.refresh(whole.Now) // the update is not committed: not seen
	if err := tx.Commit(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.same("after a write committed during the refresh", r.report(whole), r.live(whole))
}
