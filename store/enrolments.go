package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// Enrolment is one customer's run through a program.
type Enrolment struct {
	ID             int64      `json:"id"`
	ProgramID      int64      `json:"program_id"`
	ProgramVersion int        `json:"program_version"`
	CustomerID     int64      `json:"-"`
	PurchaseID     *int64     `json:"-"`
	WorkflowID     string     `json:"workflow_id"`
	Status         string     `json:"status"`
	Outcome        *string    `json:"outcome"`
	StartedAt      *time.Time `json:"started_at"`
	EndedAt        *time.Time `json:"ended_at"`
	CreatedAt      time.Time  `json:"created_at"`
	// Control: held out as the program's control group (issue 9), ended
	// at enrolment with outcome "control" and sent nothing.
	Control bool `json:"control"`
}

const enrolmentCols = `id, program_id, program_version, customer_id, purchase_id, workflow_id, status, outcome, started_at, ended_at, created_at, control`

func scanEnrolment(row pgx.Row) (Enrolment, error) {
	var e Enrolment
	err := row.Scan(&e.ID, &e.ProgramID, &e.ProgramVersion, &e.CustomerID, &e.PurchaseID, &e.WorkflowID, &e.Status, &e.Outcome, &e.StartedAt, &e.EndedAt, &e.CreatedAt, &e.Control)
	return e, notFound(err)
}

func enrolmentsWhere(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, where string, args ...any) ([]Enrolment, error) {
	rows, err := q.Query(ctx, `SELECT `+enrolmentCols+` FROM enrolments WHERE `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Enrolment, error) { return scanEnrolment(r) })
}

// CustomerEnrolments lists a customer's enrolments, oldest first.
func (s *Store) CustomerEnrolments(ctx context.Context, customerID int64) ([]Enrolment, error) {
	return enrolmentsWhere(ctx, s.pool, `customer_id = $1`, customerID)
}

// LiveEnrolments lists the program's enrolments that have not ended, for
// fanning out pause, resume and stop.
func (s *Store) LiveEnrolments(ctx context.Context, programID int64) ([]Enrolment, error) {
	return enrolmentsWhere(ctx, s.pool, `program_id = $1 AND status <> 'ended'`, programID)
}

// LiveCustomerEnrolments lists the customer's enrolments that have not ended.
func (s *Store) LiveCustomerEnrolments(ctx context.Context, customerID int64) ([]Enrolment, error) {
	return enrolmentsWhere(ctx, s.pool, `customer_id = $1 AND status <> 'ended'`, customerID)
}

// MarkEnrolmentActive records that the workflow runs; repeat calls keep
// the first start time.
func (s *Store) MarkEnrolmentActive(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE enrolments SET status = 'active', started_at = coalesce(started_at, now())
		WHERE id = $1 AND status = 'pending'`, id)
	return err
}

// MarkEnrolmentsActive records that the enrolments' workflows were
// started (by the sweep's page or the purchase that wrote them), in one
// statement, so a workflow's first sleep needs no activity before it. An
// enrolment that has ended meanwhile stays ended; repeat calls keep the
// first start time.
func (s *Store) MarkEnrolmentsActive(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `UPDATE enrolments SET status = 'active', started_at = coalesce(started_at, now())
		WHERE id = ANY($1::bigint[]) AND status = 'pending'`, ids)
	return err
}

// FinishEnrolment ends the enrolment with the outcome and cancels its open
// happy-call tasks, in one statement (CancelOpenTasks and
// EndEnrolmentOfKind together). ended says whether this call ended it
// (false: it had ended already, or does not exist), kind is its program's
// kind; the tasks are cancelled either way.
func (s *Store) FinishEnrolment(ctx context.Context, id int64, outcome string) (kind string, ended bool, err error) {
	err = s.pool.QueryRow(ctx, `
		WITH cancelled AS (
			UPDATE call_tasks SET status = 'cancelled'
			WHERE enrolment_id = $1 AND status = 'open' AND kind = 'happy_call'
		), ended AS (
			UPDATE enrolments e SET status = 'ended', outcome = $2, ended_at = now(),
				started_at = coalesce(e.started_at, now())
			FROM programs p WHERE e.id = $1 AND e.status <> 'ended' AND p.id = e.program_id
			RETURNING p.kind
		)
		SELECT coalesce((SELECT kind FROM ended), ''), EXISTS (SELECT 1 FROM ended)`, id, outcome).Scan(&kind, &ended)
	return kind, ended, err
}

// EndEnrolment records the outcome once; a repeat keeps the first.
func (s *Store) EndEnrolment(ctx context.Context, id int64, outcome string) error {
	_, err := s.pool.Exec(ctx, `UPDATE enrolments SET status = 'ended', outcome = $2, ended_at = now(),
		started_at = coalesce(started_at, now()) WHERE id = $1 AND status <> 'ended'`, id, outcome)
	return err
}

// Conversion is what the database knows of an enrolled customer coming
// back since the enrolment was created.
type Conversion struct {
	// Purchased: a purchase of the customer, other than the one that
	// enrolled them, bought or recorded after the enrolment was created.
	Purchased bool
	// Redeemed: a coupon this enrolment issued has been used.
	Redeemed bool
}

// EnrolmentConversion tells whether the enrolment's customer bought or
// redeemed its coupon since it started, so a lost conversion signal is
// found at the next step (both lookups are index scans: the customer's
// purchases, the enrolment's coupons).
func (s *Store) EnrolmentConversion(ctx context.Context, id int64) (Conversion, error) {
	var c Conversion
	err := s.pool.QueryRow(ctx, `
		SELECT
			EXISTS (SELECT 1 FROM purchases p WHERE p.customer_id = e.customer_id AND p.id IS DISTINCT FROM e.purchase_id
				AND greatest(p.created_at, p.purchased_at) > e.created_at),
			EXISTS (SELECT 1 FROM coupons k WHERE k.enrolment_id = e.id AND k.redeemed_at IS NOT NULL)
		FROM enrolments e WHERE e.id = $1`, id).Scan(&c.Purchased, &c.Redeemed)
	return c, notFound(err)
}

// EnrolmentWorkflowID returns the workflow id of an enrolment.
func (s *Store) EnrolmentWorkflowID(ctx context.Context, id int64) (string, error) {
	var wf string
	err := s.pool.QueryRow(ctx, `SELECT workflow_id FROM enrolments WHERE id = $1`, id).Scan(&wf)
	return wf, notFound(err)
}

// OutcomeControl is the outcome of a control enrolment (enrol.OutcomeControl).
const OutcomeControl = "control"

// EnrolCustomers creates enrolments for customers in one statement and
// returns the ones created: a customer already in the program (a live
// enrolment) is skipped by the unique index, so two sweeps racing never
// enrol anyone twice. workflowID names each enrolment's workflow.
//
// control (nil: none) picks the customers held out as the control group:
// their rows are written ended (outcome "control", started and ended at
// enrolment) so no workflow is started for them and the cooldown counts
// from the enrolment. An ended row is not guarded by the live index, so
// the insert runs under a per-program lock and checks q's cooldown again
// for every customer: a page read before another attempt's page committed
// (a timed-out activity still running beside its retry) enrols no one twice.
func (s *Store) EnrolCustomers(ctx context.Context, q EligibleQuery, version int, customerIDs []int64, workflowID func(customerID int64) string, control func(customerID int64) bool) ([]Enrolment, error) {
	if len(customerIDs) == 0 {
		return nil, nil
	}
	if q.Now.IsZero() {
		return nil, errors.New("enrol customers: EligibleQuery.Now is required")
	}
	ids := make([]string, len(customerIDs))
	held := make([]bool, len(customerIDs))
	for i, c := range customerIDs {
		ids[i] = workflowID(c)
		held[i] = control != nil && control(c)
	}
	var out []Enrolment
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('enrol:' || $1::bigint::text, 0))`, q.ProgramID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `
			INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, control, status, outcome, started_at, ended_at)
			SELECT $1, $2, t.c, t.w, t.k,
			       CASE WHEN t.k THEN 'ended' ELSE 'pending' END,
			       CASE WHEN t.k THEN '`+OutcomeControl+`' END,
			       CASE WHEN t.k THEN now() END,
			       CASE WHEN t.k THEN now() END
			FROM unnest($3::bigint[], $4::text[], $5::bool[]) AS t(c, w, k)
			WHERE NOT EXISTS (
				SELECT 1 FROM enrolments e
				WHERE e.program_id = $1 AND e.customer_id = t.c AND NOT e.per_purchase
				  AND (e.status <> 'ended'
				       OR e.ended_at > $6::timestamptz - make_interval(months => $7::int, days => $8::int, secs => $9::float8)))
			ON CONFLICT DO NOTHING
			RETURNING `+enrolmentCols, q.ProgramID, version, customerIDs, ids, held,
			q.Now, q.CooldownMonths, q.CooldownDays, q.CooldownExact.Seconds())
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Enrolment, error) { return scanEnrolment(r) })
		return err
	})
	return out, err
}

// Enrolment loads an enrolment.
func (s *Store) Enrolment(ctx context.Context, id int64) (Enrolment, error) {
	return scanEnrolment(s.pool.QueryRow(ctx, `SELECT `+enrolmentCols+` FROM enrolments WHERE id = $1`, id))
}

// PendingEnrolment is an enrolment whose workflow has not confirmed it
// runs, with the customer data its workflow input needs.
type PendingEnrolment struct {
	EnrolmentID    int64
	ProgramVersion int
	WorkflowID     string
	CustomerID     int64
	TimeZone       string
	BirthMonth     time.Month
	BirthDay       int
}

// PendingEnrolments lists the program's pending enrolments of customers
// with ids in (after, upTo], by customer id.
func (s *Store) PendingEnrolments(ctx context.Context, programID, after, upTo int64) ([]PendingEnrolment, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT e.id, e.program_version, e.workflow_id, e.customer_id, c.time_zone, coalesce(extract(month FROM c.birthday)::int, 0), coalesce(extract(day FROM c.birthday)::int, 0)
		FROM enrolments e JOIN customers c ON c.id = e.customer_id
		WHERE e.program_id = $1 AND e.status = 'pending' AND NOT e.per_purchase AND e.customer_id > $2 AND e.customer_id <= $3
		ORDER BY e.customer_id`, programID, after, upTo)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PendingEnrolment, error) {
		var p PendingEnrolment
		var month int
		err := r.Scan(&p.EnrolmentID, &p.ProgramVersion, &p.WorkflowID, &p.CustomerID, &p.TimeZone, &month, &p.BirthDay)
		p.BirthMonth = time.Month(month)
		return p, err
	})
}
