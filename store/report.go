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
// selected (and each one's store found) once. Each branch of the UNION is
// one section; columns a-c, n-y, amount and at mean what the section says
// (see ProgramReport).
//
// An enrolment's store: for an enrolment made by a purchase (happy call,
// second purchase) that purchase's store; otherwise (segment programs) the
// store of the customer's latest purchase at or before enrolment, which is
// where the customer last had dealings, one index probe
// (purchases_customer_idx), and fixed once enrolled, so a conversion
// purchase elsewhere never moves an enrolment between stores.
//
// EXPLAIN of this statement over 1,000,000 enrolments
// (BenchmarkProgramReport; TestProgramReportUsesIndexes checks the names):
// enrolments by enrolments_program_created_idx (index only), the store by
// purchases_customer_idx, messages by messages_enrolment_idx, call tasks
// by call_tasks_enrolment_idx, coupons by coupons_enrolment_idx, the
// conversion purchases by purchases_customer_idx and redeemed orders by
// purchases_external_id_key.
const reportSQL = `
WITH e AS MATERIALIZED (
	SELECT e.id, e.customer_id, e.purchase_id, e.control, e.status, e.outcome, e.created_at AS at,
	       coalesce(pp.store, lp.store, '') AS store
	FROM enrolments e
	LEFT JOIN purchases pp ON pp.id = e.purchase_id
	LEFT JOIN LATERAL (
		SELECT p.store FROM purchases p
		WHERE e.purchase_id IS NULL AND p.customer_id = e.customer_id AND p.purchased_at <= e.created_at
		ORDER BY p.purchased_at DESC LIMIT 1) lp ON true
	WHERE e.program_id = $1 AND e.created_at >= $2 AND e.created_at < $3
), f AS MATERIALIZED (
	SELECT * FROM e WHERE $4 = '' OR store = $4
), conv AS MATERIALIZED (
	SELECT f.id, p.currency, count(*) AS n, sum(p.amount) AS amount, min(p.purchased_at) AS first_at
	FROM f JOIN purchases p ON p.customer_id = f.customer_id
		AND p.purchased_at > f.at AND p.purchased_at <= f.at + make_interval(months => $5, days => $6, secs => $7)
		AND p.id IS DISTINCT FROM f.purchase_id
	GROUP BY f.id, p.currency
), firstconv AS MATERIALIZED (
	SELECT id, min(first_at) AS first_at FROM conv GROUP BY id
), msg AS MATERIALIZED (
	SELECT f.id, f.store, m.channel, m.status, m.error_message, m.segments, m.provider_id, m.idempotency_key AS key, m.created_at AS at
	FROM f JOIN messages m ON m.enrolment_id = f.id
), task AS MATERIALIZED (
	SELECT f.id, f.store, t.kind, t.status, t.outcome, t.due_at, t.expires_at, t.completed_at, t.idempotency_key AS key, t.created_at AS at
	FROM f JOIN call_tasks t ON t.enrolment_id = f.id
), coupon AS MATERIALIZED (
	SELECT f.id, f.store, k.redeemed_at, k.redeemed_order, k.idempotency_key AS key, k.issued_at AS at
	FROM f JOIN coupons k ON k.enrolment_id = f.id
), recs AS (
	SELECT id, key, at FROM msg UNION ALL SELECT id, key, at FROM task UNION ALL SELECT id, key, at FROM coupon
), steps AS (
	SELECT id, reverse(split_part(reverse(key), ':', 2)) AS step, min(at) AS at FROM recs GROUP BY 1, 2
)
SELECT 'enrolments', store, control::text, status, coalesce(outcome, ''), count(*), 0::bigint, 0::bigint, NULL::text, NULL::timestamptz
FROM f GROUP BY store, control, status, outcome
UNION ALL
SELECT 'conversions', f.store, f.control::text, '', '', count(*), 0, 0, NULL, NULL
FROM f JOIN firstconv c ON c.id = f.id GROUP BY f.store, f.control
UNION ALL
SELECT 'revenue', f.store, f.control::text, c.currency, '', sum(c.n)::bigint, 0, 0, sum(c.amount)::text, NULL
FROM f JOIN conv c ON c.id = f.id GROUP BY f.store, f.control, c.currency
UNION ALL
SELECT 'messages', store, channel, status,
       CASE WHEN status IN ('held', 'suppressed') THEN coalesce(error_message, '') ELSE '' END,
       count(*), coalesce(sum(segments) FILTER (WHERE provider_id IS NOT NULL), 0)::bigint, 0, NULL, NULL
FROM msg GROUP BY 2, 3, 4, 5
UNION ALL
SELECT 'calls', store, kind, status, coalesce(outcome, ''), count(*),
       count(*) FILTER (WHERE status = 'completed' AND completed_at <= coalesce(expires_at, due_at)),
       count(*) FILTER (WHERE status = 'open' AND due_at < $8), NULL, NULL
FROM task GROUP BY 2, 3, 4, 5
UNION ALL
SELECT 'coupons', store, '', '', '', count(*), count(redeemed_at), 0, NULL, NULL
FROM coupon GROUP BY store
UNION ALL
SELECT 'redemptions', k.store, 'false', p.currency, '', count(*), 0, 0, sum(p.amount)::text, NULL
FROM coupon k JOIN purchases p ON p.external_id = k.redeemed_order
GROUP BY k.store, p.currency
UNION ALL
SELECT 'steps', f.store, s.step, '', '', count(*), count(c.id) FILTER (WHERE c.first_at >= s.at), 0, NULL, min(s.at)
FROM f JOIN steps s ON s.id = f.id LEFT JOIN firstconv c ON c.id = f.id GROUP BY f.store, s.step`

// ProgramReport counts what the report shows, per store, in one
// statement whatever the number of enrolments.
func (s *Store) ProgramReport(ctx context.Context, q ReportQuery) (map[string]*ReportFigures, error) {
	rows, err := s.pool.Query(ctx, reportSQL, q.ProgramID, q.From, q.To, q.Store,
		q.WindowMonths, q.WindowDays, float64(q.WindowSeconds), q.Now)
	if err != nil {
		return nil, err
	}
	out := map[string]*ReportFigures{}
	var (
		section, st, a, b, c string
		n, x, y              int64
		amount               *string
		at                   *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&section, &st, &a, &b, &c, &n, &x, &y, &amount, &at}, func() error {
		fig := out[st]
		if fig == nil {
			fig = &ReportFigures{}
			out[st] = fig
		}
		control := a == "true"
		switch section {
		case "enrolments":
			fig.Enrolments = append(fig.Enrolments, EnrolmentCount{Control: control, Status: b, Outcome: c, N: n})
		case "conversions":
			fig.Conversions = append(fig.Conversions, ConversionCount{Control: control, Converted: n})
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
	return out, err
}

func deref(s *string) string {
	if s == nil {
		return "0"
	}
	return *s
}
