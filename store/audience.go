package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/audience"
)

// audienceFrom is the relation audience.Compile's expressions are over.
const audienceFrom = `customers c LEFT JOIN customer_stats s ON s.customer_id = c.id`

// customerColsC is customerCols qualified with the alias c.
var customerColsC = "c." + strings.ReplaceAll(customerCols, ", ", ", c.")

// PreviewSampleSize is how many customers PreviewAudience returns.
const PreviewSampleSize = 10

// PreviewAudience counts the customers f selects at now and returns the
// first PreviewSampleSize of them by id. Count and sample come from one
// snapshot. An invalid filter is an *audience.FieldError.
func (s *Store) PreviewAudience(ctx context.Context, f audience.Filter, now time.Time) (count int64, sample []Customer, err error) {
	q, err := audience.Compile(f, now, 1)
	if err != nil {
		return 0, nil, err
	}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, audienceCountSQL(q), q.Args...).Scan(&count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+customerColsC+` FROM `+audienceFrom+` WHERE c.erased_at IS NULL AND `+q.Where+
			` ORDER BY c.id LIMIT `+itoa(PreviewSampleSize), q.Args...)
		if err != nil {
			return err
		}
		sample, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Customer, error) { return scanCustomer(r) })
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("preview audience: %w", err)
	}
	if sample == nil {
		sample = []Customer{}
	}
	return count, sample, nil
}

// audienceCountSQL counts the customers q (compiled from $1) selects.
func audienceCountSQL(q audience.Query) string {
	return `SELECT count(*) FROM ` + audienceFrom + ` WHERE c.erased_at IS NULL AND ` + q.Where
}

// EligibleQuery asks for one page of a segment program's audience.
type EligibleQuery struct {
	ProgramID int64
	Filter    audience.Filter
	// Now is the instant the filter's days and the cooldown count back
	// from; required.
	Now time.Time
	// The cooldown: how long after an enrolment in this program ended the
	// customer stays out of it. Months and days are calendar units (in
	// the database session's time zone), Exact is elapsed time.
	CooldownMonths, CooldownDays int
	CooldownExact                time.Duration
	// AfterCustomerID is the last id of the previous page (0 for the first).
	AfterCustomerID int64
	// Limit is the page size; 0 means DefaultEligibleLimit.
	Limit int
}

// DefaultEligibleLimit is EligibleQuery's default page size.
const DefaultEligibleLimit = 1000

// EligibleCustomers returns, in id order, up to q.Limit ids above
// q.AfterCustomerID of customers the filter selects who may enter the
// program now: not enrolled in it (other than per purchase) unless that
// enrolment ended more than the cooldown ago. Page on by passing the last
// id returned; a short page is the last one.
func (s *Store) EligibleCustomers(ctx context.Context, q EligibleQuery) ([]int64, error) {
	if q.Now.IsZero() {
		return nil, errors.New("eligible customers: EligibleQuery.Now is required")
	}
	if q.CooldownMonths < 0 || q.CooldownDays < 0 || q.CooldownExact < 0 {
		return nil, errors.New("eligible customers: negative cooldown")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultEligibleLimit
	}
	// $1..$6 are ours; the filter's placeholders follow.
	aq, err := audience.Compile(q.Filter, q.Now, 7)
	if err != nil {
		return nil, err
	}
	args := append([]any{q.AfterCustomerID, q.ProgramID, q.Now, q.CooldownMonths, q.CooldownDays, q.CooldownExact.Seconds()}, aq.Args...)
	args = append(args, limit)
	// The keyset bound is repeated on every relation's customer id: the
	// planner does not carry a range across a join, and without it each
	// page would scan the stats and enrolments from the first customer.
	query := `
		SELECT c.id
		FROM customers c LEFT JOIN customer_stats s ON s.customer_id = c.id AND s.customer_id > $1
		WHERE c.id > $1 AND c.erased_at IS NULL
		  AND NOT EXISTS (
			SELECT 1 FROM enrolments e
			WHERE e.program_id = $2 AND e.customer_id = c.id AND e.customer_id > $1 AND NOT e.per_purchase
			  AND (e.status <> 'ended'
			       OR e.ended_at > $3::timestamptz - make_interval(months => $4::int, days => $5::int, secs => $6::float8)))
		  AND ` + aq.Where + `
		ORDER BY c.id
		LIMIT $` + itoa(7+len(aq.Args))
	// A page is a short walk along the customer ids, one statement: the
	// consent term is containment, which the planner estimates, so it no
	// longer starts parallel workers (whose start-up cost more than the
	// page) and needs no transaction to switch them off.
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("eligible customers: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("eligible customers: %w", err)
	}
	return ids, nil
}

// GradeRules say how customers are graded A/B/C (seed 003: by spend and
// frequency over a window). Zero fields take the defaults.
type GradeRules struct {
	// WindowDays is how far back purchases count (default 365).
	WindowDays int `json:"window_days"`
	// ATopShare is the share of the window's buyers, by spend, graded A
	// (default 0.2: "VIP = top 20%").
	ATopShare float64 `json:"a_top_share"`
	// BMinPurchases is how many purchases in the window make a customer
	// who is not A a B (default 2).
	BMinPurchases int `json:"b_min_purchases"`
}

// DefaultGradeRules are the rules a zero GradeRules means.
var DefaultGradeRules = GradeRules{WindowDays: 365, ATopShare: 0.2, BMinPurchases: 2}

// WithDefaults fills zero fields from DefaultGradeRules.
func (r GradeRules) WithDefaults() GradeRules {
	if r.WindowDays == 0 {
		r.WindowDays = DefaultGradeRules.WindowDays
	}
	if r.ATopShare == 0 {
		r.ATopShare = DefaultGradeRules.ATopShare
	}
	if r.BMinPurchases == 0 {
		r.BMinPurchases = DefaultGradeRules.BMinPurchases
	}
	return r
}

// Validate checks the rules' ranges (after WithDefaults).
func (r GradeRules) Validate() error {
	switch {
	case r.WindowDays < 1 || r.WindowDays > 36500:
		return fmt.Errorf("grade rules: window_days %d: must be 1-36500", r.WindowDays)
	case !(r.ATopShare > 0 && r.ATopShare <= 1):
		return fmt.Errorf("grade rules: a_top_share %v: must be more than 0 and at most 1", r.ATopShare)
	case r.BMinPurchases < 1 || r.BMinPurchases > 1_000_000:
		return fmt.Errorf("grade rules: b_min_purchases %d: must be 1-1000000", r.BMinPurchases)
	}
	return nil
}

// GradeCounts is how many customers RecomputeGrades put in each grade.
type GradeCounts struct {
	A int64 `json:"a"`
	B int64 `json:"b"`
	C int64 `json:"c"`
}

// RecomputeGrades grades customers over the window of r.WindowDays days
// up to now, in one set-based statement:
//
//   - A: the top r.ATopShare of the customers who bought in the window,
//     by their spend in the window. Precisely, a buyer is A when the
//     share of buyers who spent at least as much (themselves included,
//     PostgreSQL's cume_dist) is at most r.ATopShare. Ties are never
//     split: customers with equal spend get the same grade, and a tie
//     across the boundary falls below it, so A is never more than
//     r.ATopShare of the buyers (if everyone spent the same, nobody is A).
//   - B: not A, with at least r.BMinPurchases purchases in the window.
//   - C: every other customer who has a customer_stats row (everyone who
//     ever bought), including those with no purchase in the window.
//
// Customers who never bought are not graded (grade stays NULL). A buyer
// in the window whose customer_stats row is missing (purchases written
// around RecordPurchase) gets one, with lifetime statistics computed from
// purchases. Every graded row gets graded_at = now.
//
// The statement rewrites every customer_stats row (tens of seconds per
// million customers) and holds their row locks until it commits, so a
// purchase recorded meanwhile waits for it; run it off-peak.
func (s *Store) RecomputeGrades(ctx context.Context, r GradeRules, now time.Time) (GradeCounts, error) {
	r = r.WithDefaults()
	if err := r.Validate(); err != nil {
		return GradeCounts{}, err
	}
	if now.IsZero() {
		return GradeCounts{}, errors.New("recompute grades: now is required")
	}
	var c GradeCounts
	err := s.pool.QueryRow(ctx, `
		WITH win AS (
			SELECT customer_id, sum(amount) AS spend, count(*) AS n
			FROM purchases
			WHERE purchased_at > $1 AND purchased_at <= $2
			GROUP BY customer_id
		), ranked AS (
			SELECT customer_id,
			       CASE WHEN cume_dist() OVER (ORDER BY spend DESC) <= $3::float8 THEN 'A'
			            WHEN n >= $4::int THEN 'B'
			            ELSE 'C' END AS grade
			FROM win
		), updated AS (
			-- Everyone with stats; no purchase in the window is C.
			UPDATE customer_stats cs SET grade = coalesce(g.grade, 'C'), graded_at = $2
			FROM (SELECT s.customer_id, r.grade FROM customer_stats s LEFT JOIN ranked r USING (customer_id)) g
			WHERE cs.customer_id = g.customer_id
			RETURNING cs.grade
		), inserted AS (
			-- Buyers without stats (purchases written around RecordPurchase)
			-- get a row with their lifetime statistics.
			INSERT INTO customer_stats AS cs
				(customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at, grade, graded_at)
			SELECT r.customer_id, l.n, l.spend, l.first_at, l.last_at, r.grade, $2
			FROM ranked r
			CROSS JOIN LATERAL (
				SELECT count(*)::int AS n, sum(p.amount) AS spend, min(p.purchased_at) AS first_at, max(p.purchased_at) AS last_at
				FROM purchases p WHERE p.customer_id = r.customer_id
			) l
			WHERE NOT EXISTS (SELECT 1 FROM customer_stats s WHERE s.customer_id = r.customer_id)
			-- A row RecordPurchase created meanwhile keeps its statistics.
			ON CONFLICT (customer_id) DO UPDATE SET grade = EXCLUDED.grade, graded_at = EXCLUDED.graded_at
			RETURNING cs.grade
		)
		SELECT count(*) FILTER (WHERE grade = 'A'), count(*) FILTER (WHERE grade = 'B'), count(*) FILTER (WHERE grade = 'C')
		FROM (SELECT grade FROM updated UNION ALL SELECT grade FROM inserted) w`,
		now.AddDate(0, 0, -r.WindowDays), now, r.ATopShare, r.BMinPurchases).Scan(&c.A, &c.B, &c.C)
	if err != nil {
		return GradeCounts{}, fmt.Errorf("recompute grades: %w", err)
	}
	return c, nil
}
