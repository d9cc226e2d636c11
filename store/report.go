package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReportQuery selects a program's enrolments for a report: those created
// in [From, To), of one store or all ("" ), with conversions counted over
// Window after each enrolment.
type ReportQuery struct {
	ProgramID int64
	From, To  time.Time
	Store     string
	// Window is the attribution window as calendar months, days and
	// seconds (PostgreSQL interval arithmetic in UTC).
	WindowMonths, WindowDays int
	WindowSeconds            int64
	Now                      time.Time
}

// ReportFigures is what the database counted for the enrolments of one
// store. Enrolment counts of treated and control are kept apart; every
// other figure of a control enrolment is what its customer did without
// the program (control enrolments have no messages, tasks or coupons).
type ReportFigures struct {
	Enrolments  []EnrolmentCount
	Conversions []ConversionCount
	Revenue     []RevenueSum
	Messages    []MessageCount
	CallTasks   []CallTaskCount
	Coupons     CouponCount
	Redemptions []RevenueSum // redeemed coupons whose order is a recorded purchase
	Steps       []StepCount
}

// EnrolmentCount counts enrolments by group, status and outcome.
type EnrolmentCount struct {
	Control bool
	Status  string
	Outcome string // "" while not ended
	N       int64
}

// ConversionCount counts enrolments with at least one purchase in the
// attribution window.
type ConversionCount struct {
	Control   bool
	Converted int64
}

// RevenueSum is a sum of purchase amounts in one currency.
type RevenueSum struct {
	Control   bool
	Currency  string
	Purchases int64
	Amount    string // numeric as text: money is never a float
}

// MessageCount counts messages by channel and status; Reason is the rule
// that held back a held or suppressed message (error_message), Segments
// the SMS segments of those that went to the provider.
type MessageCount struct {
	Channel, Status, Reason string
	N, Segments             int64
}

// CallTaskCount counts call tasks by kind, status and outcome; InTime are
// the completed ones completed by the end of their window (expires_at, or
// due_at when there is none), Overdue the open ones past their due time.
type CallTaskCount struct {
	Kind, Status, Outcome string
	N, InTime, Overdue    int64
}

// CouponCount counts coupons issued and redeemed.
type CouponCount struct {
	Issued, Redeemed int64
}

// StepCount is one step of the program: how many enrolments reached it (a
// message, call task or coupon under its key) and how many of those then
// converted (their first purchase in the window came at or after the
// step). First is when the step was first reached, which orders steps.
type StepCount struct {
	Step           string
	First          time.Time
	Reached        int64
	ConvertedAfter int64
}

// reportSQL reads every figure in one statement, so the enrolments are
// selected once. Each branch of the UNION is one section; columns a-c,
// n-y, amount and at mean what the section says (see ProgramReport).
//
// An enrolment's store is enrolments.store, pinned when the enrolment was
// made (migration 013: the enrolling purchase's store, else the store of
// the customer's latest purchase at or before enrolment), so a purchase
// recorded later never moves an enrolment between stores and the report
// looks nothing up to place it.
//
// The work is done per enrolment before anything is grouped by store:
// conv is each enrolment's purchases in its window (per currency), fx
// each enrolment with its store and first conversion, rec each of its
// messages, call tasks and coupons read once, with what the sections
// count already computed and the step cut from the key. The enrolments
// section carries the conversions (x), messages, calls and coupons are
// one grouping of rec, and the steps group narrow rows that know their
// enrolment's first conversion, so no section joins back to a million
// enrolments.
//
// EXPLAIN (ExplainReport; dbbench prints it, TestProgramReportUsesIndexes
// checks one day's): enrolments by enrolments_program_created_idx (index
// only), messages by messages_enrolment_idx, conversion purchases by
// purchases_customer_idx, redeemed orders by purchases_external_id_key;
// over a whole program of a million enrolments PostgreSQL rightly hashes
// the tables instead of a million probes of each index.
const reportLiveSQLFormat = `
WITH f AS MATERIALIZED (
	%s
), conv AS MATERIALIZED (
	SELECT f.id, f.store, f.control, p.currency, count(*) AS n, sum(p.amount) AS amount, min(p.purchased_at) AS first_at
	FROM f JOIN purchases p ON p.customer_id = f.customer_id
		AND p.purchased_at > f.at AND p.purchased_at <= f.at + make_interval(months => @months, days => @days, secs => @secs)
		AND p.id IS DISTINCT FROM f.purchase_id
	GROUP BY f.id, f.store, f.control, p.currency
), fx AS MATERIALIZED (
	SELECT f.id, f.store, f.control, f.status, f.outcome, c.first_at
	FROM f LEFT JOIN (SELECT id, min(first_at) AS first_at FROM conv GROUP BY id) c ON c.id = f.id
), rec AS MATERIALIZED (
	SELECT fx.id, fx.store, fx.first_at, 'messages' AS section, m.channel AS a, m.status AS b,
	       CASE WHEN m.status IN ('held', 'suppressed') THEN coalesce(m.error_message, '') ELSE '' END AS c,
	       CASE WHEN m.provider_id IS NOT NULL THEN coalesce(m.segments, 0) ELSE 0 END AS x, 0 AS y,
	       NULL::text AS redeemed_order, reverse(split_part(reverse(m.idempotency_key), ':', 2)) AS step, m.created_at AS at
	FROM fx JOIN messages m ON m.enrolment_id = fx.id
	UNION ALL
	SELECT fx.id, fx.store, fx.first_at, 'calls', t.kind, t.status, coalesce(t.outcome, ''),
	       (t.status = 'completed' AND t.completed_at <= coalesce(t.expires_at, t.due_at))::int,
	       (t.status = 'open' AND t.due_at < @now)::int, NULL, reverse(split_part(reverse(t.idempotency_key), ':', 2)), t.created_at
	FROM fx JOIN call_tasks t ON t.enrolment_id = fx.id
	UNION ALL
	SELECT fx.id, fx.store, fx.first_at, 'coupons', '', '', '', (k.redeemed_at IS NOT NULL)::int, 0, k.redeemed_order,
	       reverse(split_part(reverse(k.idempotency_key), ':', 2)), k.issued_at
	FROM fx JOIN coupons k ON k.enrolment_id = fx.id
), steps AS (
	SELECT store, first_at, step, min(at) AS at FROM rec GROUP BY id, store, first_at, step
), live AS (
	SELECT 'enrolments' AS section, store, control::text AS a, status AS b, coalesce(outcome, '') AS c,
	       count(*) AS n, count(first_at) AS x, 0::bigint AS y, NULL::numeric AS amount, NULL::timestamptz AS at
	FROM fx GROUP BY store, control, status, outcome
	UNION ALL
	SELECT 'revenue', store, control::text, currency, '', sum(n)::bigint, 0, 0, sum(amount), NULL
	FROM conv GROUP BY store, control, currency
	UNION ALL
	SELECT section, store, a, b, c, count(*), coalesce(sum(x), 0), coalesce(sum(y), 0), NULL, NULL
	FROM rec GROUP BY section, store, a, b, c
	UNION ALL
	SELECT 'redemptions', k.store, 'false', p.currency, '', count(*), 0, 0, sum(p.amount), NULL
	FROM rec k JOIN purchases p ON p.external_id = k.redeemed_order
	WHERE k.section = 'coupons'
	GROUP BY k.store, p.currency
	UNION ALL
	SELECT 'steps', store, step, '', '', count(*), count(*) FILTER (WHERE first_at >= at), 0, NULL, min(at)
	FROM steps GROUP BY store, step
)`

// reportRolledSQL follows the live figures of the enrolments made in the
// live ranges with the stored figures of the days @true_days
// (report_rollups) and the call tasks of those days that are overdue at
// @now (a stored day counts none: see migration 017), added up per
// section, store and key. Every figure adds up across enrolments, and the
// ranges and days never overlap, so the sums are the figures of the
// whole range.
const reportRolledSQL = `, rolled AS (
	SELECT section, store, a, b, c, n, x, y, amount, at FROM report_rollups
	WHERE program_id = @program AND day = ANY(@true_days::date[]) AND (@store = '' OR store = @store)
	UNION ALL
	SELECT 'calls', e.store, t.kind, t.status, coalesce(t.outcome, ''), 0, 0, count(*), NULL, NULL
	FROM call_tasks t JOIN enrolments e ON e.id = t.enrolment_id
	WHERE t.status = 'open' AND t.due_at < @now AND e.program_id = @program AND report_day(e.created_at) = ANY(@true_days::date[])
		AND (@store = '' OR e.store = @store)
	GROUP BY e.store, t.kind, t.status, t.outcome
)`

// reportTotalSQL adds up the live and the stored rows.
const reportTotalSQL = `
SELECT section, store, a, b, c, sum(n)::bigint, sum(x)::bigint, sum(y)::bigint, sum(amount)::text, min(at)
FROM (SELECT * FROM live UNION ALL SELECT * FROM rolled) u
GROUP BY section, store, a, b, c`

// maxLiveRanges bounds the ranges a report counts live; more (stale days
// scattered among stored ones) are merged, the stored days between them
// counted live too.
const maxLiveRanges = 8

// liveSQL is the live part of the report over the ranges of args (one
// branch each, so the planner sees each range's bounds).
func liveSQL(ranges int) string {
	if ranges == 0 {
		return fmt.Sprintf(reportLiveSQLFormat, `SELECT e.id, e.customer_id, e.purchase_id, e.control, e.status, e.outcome, e.created_at AS at, e.store
	FROM enrolments e WHERE false`)
	}
	branches := make([]string, ranges)
	for i := range branches {
		branches[i] = fmt.Sprintf(`SELECT e.id, e.customer_id, e.purchase_id, e.control, e.status, e.outcome, e.created_at AS at, e.store
	FROM enrolments e
	WHERE e.program_id = @program AND e.created_at >= @lo%[1]d AND e.created_at < @hi%[1]d AND (@store = '' OR e.store = @store)`, i)
	}
	return fmt.Sprintf(reportLiveSQLFormat, strings.Join(branches, "\n\tUNION ALL\n\t"))
}

// ProgramReport counts what the report shows, per store: the stored days
// that are still true from their rollups, the rest from the tables, in
// one snapshot.
func (s *Store) ProgramReport(ctx context.Context, q ReportQuery) (map[string]*ReportFigures, error) {
	out := map[string]*ReportFigures{}
	err := pgx.BeginTxFunc(ctx, s.pool, reportTx, func(tx pgx.Tx) error {
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		sql, args, err := reportStatement(ctx, tx, q)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sql, args)
		if err != nil {
			return err
		}
		return scanReport(rows, out)
	})
	return out, err
}

// reportTx reads the stored days and the tables in one snapshot, so a
// change committed between the two reads is counted once: either live
// (its day no longer true) or not at all.
var reportTx = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// reportSettings tunes the report's transaction. JIT compilation of a
// statement this size costs seconds and earns nothing; the hash tables
// of a million enrolments and their steps fit in 256 MB and spill to disk
// (several times slower) in the default 4 MB (work_mem bounds each sort
// or hash node of this one statement, which has a fixed number of them).
// The indexes the report probes are read from memory, not from the
// spinning disk random_page_cost's default of 4 assumes; at 4 a day's
// report reads all purchases to find its conversions.
func reportSettings(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '256MB'; SET LOCAL random_page_cost = 1.1`)
	return err
}

// reportStatement is the report's statement and arguments for q: the
// stored days of the range that are still true, and the ranges left to
// count live.
func reportStatement(ctx context.Context, tx pgx.Tx, q ReportQuery) (string, pgx.NamedArgs, error) {
	days, err := trueReportDays(ctx, tx, q)
	if err != nil {
		return "", nil, err
	}
	lo, hi, days := liveRanges(q.From, q.To, days, maxLiveRanges)
	args := pgx.NamedArgs{
		"program": q.ProgramID, "store": q.Store, "months": q.WindowMonths, "days": q.WindowDays, "secs": float64(q.WindowSeconds),
		"now": q.Now, "true_days": days,
	}
	for i := range lo {
		args[fmt.Sprintf("lo%d", i)], args[fmt.Sprintf("hi%d", i)] = lo[i], hi[i]
	}
	return liveSQL(len(lo)) + reportRolledSQL + reportTotalSQL, args, nil
}

// scanReport adds the report statement's rows to out, by store.
func scanReport(rows pgx.Rows, out map[string]*ReportFigures) error {
	var (
		section, st, a, b, c string
		n, x, y              int64
		amount               *string
		at                   *time.Time
	)
	_, err := pgx.ForEachRow(rows, []any{&section, &st, &a, &b, &c, &n, &x, &y, &amount, &at}, func() error {
		fig := out[st]
		if fig == nil {
			fig = &ReportFigures{}
			out[st] = fig
		}
		control := a == "true"
		switch section {
		case "enrolments":
			fig.Enrolments = append(fig.Enrolments, EnrolmentCount{Control: control, Status: b, Outcome: c, N: n})
			if x > 0 {
				fig.Conversions = append(fig.Conversions, ConversionCount{Control: control, Converted: x})
			}
		case "revenue":
			fig.Revenue = append(fig.Revenue, RevenueSum{Control: control, Currency: b, Purchases: n, Amount: deref(amount)})
		case "messages":
			fig.Messages = append(fig.Messages, MessageCount{Channel: a, Status: b, Reason: c, N: n, Segments: x})
		case "calls":
			fig.CallTasks = append(fig.CallTasks, CallTaskCount{Kind: a, Status: b, Outcome: c, N: n, InTime: x, Overdue: y})
		case "coupons":
			fig.Coupons = CouponCount{Issued: n, Redeemed: x}
		case "redemptions":
			fig.Redemptions = append(fig.Redemptions, RevenueSum{Currency: b, Purchases: n, Amount: deref(amount)})
		case "steps":
			var first time.Time
			if at != nil {
				first = *at
			}
			fig.Steps = append(fig.Steps, StepCount{Step: a, First: first, Reached: n, ConvertedAfter: x})
		}
		return nil
	})
	return err
}

func deref(s *string) string {
	if s == nil {
		return "0"
	}
	return *s
}
