package store

import (
	"context"
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
const reportSQL = `
WITH f AS MATERIALIZED (
	SELECT e.id, e.customer_id, e.purchase_id, e.control, e.status, e.outcome, e.created_at AS at, e.store
	FROM enrolments e
	WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND ($4 = '' OR e.store = $4)
), conv AS MATERIALIZED (
	SELECT f.id, f.store, f.control, p.currency, count(*) AS n, sum(p.amount) AS amount, min(p.purchased_at) AS first_at
	FROM f JOIN purchases p ON p.customer_id = f.customer_id
		AND p.purchased_at > f.at AND p.purchased_at <= f.at + make_interval(months => $5, days => $6, secs => $7)
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
	       (t.status = 'open' AND t.due_at < $8)::int, NULL, reverse(split_part(reverse(t.idempotency_key), ':', 2)), t.created_at
	FROM fx JOIN call_tasks t ON t.enrolment_id = fx.id
	UNION ALL
	SELECT fx.id, fx.store, fx.first_at, 'coupons', '', '', '', (k.redeemed_at IS NOT NULL)::int, 0, k.redeemed_order,
	       reverse(split_part(reverse(k.idempotency_key), ':', 2)), k.issued_at
	FROM fx JOIN coupons k ON k.enrolment_id = fx.id
), steps AS (
	SELECT store, first_at, step, min(at) AS at FROM rec GROUP BY id, store, first_at, step
)
SELECT 'enrolments', store, control::text, status, coalesce(outcome, ''), count(*), count(first_at), 0::bigint, NULL::text, NULL::timestamptz
FROM fx GROUP BY store, control, status, outcome
UNION ALL
SELECT 'revenue', store, control::text, currency, '', sum(n)::bigint, 0, 0, sum(amount)::text, NULL
FROM conv GROUP BY store, control, currency
UNION ALL
SELECT section, store, a, b, c, count(*), coalesce(sum(x), 0), coalesce(sum(y), 0), NULL, NULL
FROM rec GROUP BY section, store, a, b, c
UNION ALL
SELECT 'redemptions', k.store, 'false', p.currency, '', count(*), 0, 0, sum(p.amount)::text, NULL
FROM rec k JOIN purchases p ON p.external_id = k.redeemed_order
WHERE k.section = 'coupons'
GROUP BY k.store, p.currency
UNION ALL
SELECT 'steps', store, step, '', '', count(*), count(*) FILTER (WHERE first_at >= at), 0, NULL, min(at)
FROM steps GROUP BY store, step`

// ProgramReport counts what the report shows, per store, in one
// statement whatever the number of enrolments.
func (s *Store) ProgramReport(ctx context.Context, q ReportQuery) (map[string]*ReportFigures, error) {
	out := map[string]*ReportFigures{}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, reportSQL, reportArgs(q)...)
		if err != nil {
			return err
		}
		return scanReport(rows, out)
	})
	return out, err
}

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

func reportArgs(q ReportQuery) []any {
	return []any{q.ProgramID, q.From, q.To, q.Store, q.WindowMonths, q.WindowDays, float64(q.WindowSeconds), q.Now}
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
