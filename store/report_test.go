package store_test

import (
	"context"
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// reportEnrolments sizes BenchmarkProgramReport: -report.enrolments or
// DANGOL_REPORT_ENROLMENTS (the target is 1000000 in under 2 s).
var reportEnrolments = flag.Int("report.enrolments", envInt("DANGOL_REPORT_ENROLMENTS", 20000), "enrolments BenchmarkProgramReport builds")

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

var reportAt = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// seedReportProgram builds, with generate_series, a program of n
// enrolments over 100 days from reportAt, one customer each, 10 %
// control, with what a welcome-back program leaves behind: a purchase
// before enrolment in one of 20 stores, an SMS and a mail per treated
// enrolment, coupons for 30 % (a third redeemed), call tasks for 10 %,
// and a purchase in the window for a fifth; plus another program of n/2
// enrolments with their messages, so the report must select its own.
func seedReportProgram(tb testing.TB, dsn string, n int) (programID int64) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, sql := range []string{
		`INSERT INTO programs (name, kind, params) VALUES ('bench', 'welcome_back', '{}'), ('other', 'welcome_back', '{}')`,
		`CREATE TEMP TABLE seed AS SELECT i, (SELECT min(id) FROM programs) AS pid, (SELECT max(id) FROM programs) AS other FROM generate_series(1, $1::int) i`,
		`INSERT INTO customers (external_id) SELECT 'b' || i FROM seed`,
		`CREATE TEMP TABLE sc AS SELECT s.*, c.id AS cid, $2::timestamptz + (i % 100) * interval '1 day' + (i % 86400) * interval '1 second' AS at
			FROM seed s JOIN customers c ON c.external_id = 'b' || s.i`,
		`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
			SELECT 'pb' || i, cid, 1000 + i % 5000, 'KRW', 'store-' || (i % 20), at - interval '40 days' FROM sc
			UNION ALL SELECT 'pc' || i, cid, 20000, 'KRW', 'store-' || (i % 20), at + interval '5 days' FROM sc WHERE i % 5 = 0`,
		`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, outcome, control, started_at, ended_at, created_at)
			SELECT pid, 1, cid, 'wf-' || i,
				CASE WHEN i % 10 = 0 OR i % 4 <> 1 THEN 'ended' ELSE 'active' END,
				CASE WHEN i % 10 = 0 THEN 'control' WHEN i % 4 = 0 THEN 'converted' WHEN i % 4 = 2 THEN 'expired' WHEN i % 4 = 3 THEN 'completed' END,
				i % 10 = 0, at, at + interval '30 days', at FROM sc`,
		`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, outcome, created_at)
			SELECT other, 1, cid, 'wo-' || i, 'ended', 'completed', at FROM sc WHERE i % 2 = 0`,
		`CREATE TEMP TABLE se AS SELECT sc.*, e.id AS eid, e.program_id FROM sc JOIN enrolments e ON e.customer_id = sc.cid AND NOT e.control`,
		`INSERT INTO messages (idempotency_key, enrolment_id, customer_id, channel, recipient, body, status, segments, provider_id, error_message, created_at)
			SELECT 'welcome_back:' || program_id || ':e' || eid || ':greeting:sms', eid, cid, 'sms', '+8210', 'x',
				(ARRAY['delivered','sent','failed','suppressed','held'])[1 + i % 5], 1, 'SM' || eid,
				CASE i % 5 WHEN 3 THEN 'no consent' WHEN 4 THEN 'quiet hours' END, at + interval '1 hour' FROM se
			UNION ALL SELECT 'welcome_back:' || program_id || ':e' || eid || ':reminder:email', eid, cid, 'email', 'x@y', 'x', 'sent', NULL, NULL, NULL,
				at + interval '2 days' FROM se`,
		`INSERT INTO coupons (code, idempotency_key, program_id, enrolment_id, customer_id, kind, value, issued_at, expires_at, redeemed_at, redeemed_order)
			SELECT 'K' || eid, 'welcome_back:' || program_id || ':e' || eid || ':greeting:coupon', program_id, eid, cid, 'amount', 5000, at, at + interval '30 days',
				CASE WHEN i % 15 = 0 THEN at + interval '5 days' END, CASE WHEN i % 15 = 0 THEN 'pc' || i END FROM se WHERE i % 10 = 3 OR i % 15 = 0`,
		`INSERT INTO call_tasks (idempotency_key, customer_id, enrolment_id, store, due_at, expires_at, status, outcome, completed_at, created_at)
			SELECT 'welcome_back:' || program_id || ':e' || eid || ':call:call', cid, eid, 'store-' || (i % 20), at + interval '1 day', at + interval '3 days',
				CASE WHEN i % 3 = 0 THEN 'completed' ELSE 'expired' END, CASE WHEN i % 3 = 0 THEN 'reached' END,
				CASE WHEN i % 3 = 0 THEN at + interval '2 days' END, at + interval '1 day' FROM se WHERE i % 10 = 1`,
		`ANALYZE`,
	} {
		var args []any
		switch {
		case strings.Contains(sql, "$1") && strings.Contains(sql, "$2"):
			args = []any{n, reportAt}
		case strings.Contains(sql, "$2"):
			sql = strings.ReplaceAll(sql, "$2", "$1")
			args = []any{reportAt}
		case strings.Contains(sql, "$1"):
			args = []any{n}
		}
		if _, err := conn.Exec(ctx, sql, args...); err != nil {
			tb.Fatalf("%.60s: %v", sql, err)
		}
	}
	if err := conn.QueryRow(ctx, `SELECT min(id) FROM programs`).Scan(&programID); err != nil {
		tb.Fatal(err)
	}
	return programID
}

func reportQuery(programID int64) store.ReportQuery {
	return store.ReportQuery{ProgramID: programID, From: reportAt.AddDate(0, 0, -1), To: reportAt.AddDate(0, 0, 101), WindowDays: 30, Now: reportAt.AddDate(0, 0, 120)}
}

// BenchmarkProgramReport reads the report of a program with
// -report.enrolments enrolments (default 20,000). At 1,000,000:
//
//	DANGOL_REPORT_ENROLMENTS=1000000 go test ./store -run '^$' -bench ProgramReport -benchtime 3x
func BenchmarkProgramReport(b *testing.B) {
	st, dsn := testenv.Store(b)
	id := seedReportProgram(b, dsn, *reportEnrolments)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		figs, err := st.ProgramReport(ctx, reportQuery(id))
		if err != nil {
			b.Fatal(err)
		}
		if len(figs) != 20 {
			b.Fatalf("%d stores, want 20", len(figs))
		}
	}
	b.ReportMetric(float64(*reportEnrolments), "enrolments")
}

// TestProgramReportUsesIndexes checks the report's plan reads every table
// through its index, not a scan of all rows of all programs.
func TestProgramReportUsesIndexes(t *testing.T) {
	st, dsn := testenv.Store(t)
	id := seedReportProgram(t, dsn, 20000)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	// One day of the hundred: the report reads that day's enrolments and
	// what belongs to them, by index, whatever else the tables hold.
	q := reportQuery(id)
	q.From, q.To = reportAt.AddDate(0, 0, 51), reportAt.AddDate(0, 0, 52)
	rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, COSTS OFF) "+store.ReportSQL, q.ProgramID, q.From, q.To, q.Store,
		q.WindowMonths, q.WindowDays, float64(q.WindowSeconds), q.Now)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	// At this size PostgreSQL rightly reads the small tables (2,000 call
	// tasks, 3,333 coupons, 24,000 purchases for the conversions) whole;
	// the big ones must go by index.
	for _, index := range []string{"enrolments_program_created_idx", "purchases_customer_idx", "messages_enrolment_idx"} {
		if !strings.Contains(plan, index) {
			t.Errorf("the plan does not use %s", index)
		}
	}
	for _, table := range []string{"enrolments", "messages"} {
		if strings.Contains(plan, "Seq Scan on "+table) {
			t.Errorf("the plan scans all of %s", table)
		}
	}
	if t.Failed() {
		t.Log(plan)
	}
	figs, err := st.ProgramReport(ctx, q)
	if err != nil || len(figs) == 0 {
		t.Fatalf("report of one day: %v, %d stores", err, len(figs))
	}
}
