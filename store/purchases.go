package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Purchase is one sale.
type Purchase struct {
	ID          int64     `json:"-"`
	ExternalID  string    `json:"external_id"`
	CustomerID  int64     `json:"-"`
	Amount      string    `json:"amount"` // decimal as text: money is never a float
	Currency    string    `json:"currency"`
	Category    string    `json:"category"`
	Product     string    `json:"product"`
	Store       string    `json:"store"`
	PurchasedAt time.Time `json:"purchased_at"`
	CreatedAt   time.Time `json:"created_at"`
}

const purchaseCols = `id, external_id, customer_id, amount::text, currency, category, product, store, purchased_at, created_at`

func scanPurchase(row pgx.Row) (Purchase, error) {
	var p Purchase
	err := row.Scan(&p.ID, &p.ExternalID, &p.CustomerID, &p.Amount, &p.Currency, &p.Category, &p.Product, &p.Store, &p.PurchasedAt, &p.CreatedAt)
	return p, notFound(err)
}

// samePurchase compares what the client sent, so a retry is recognised and
// a different sale reusing an external id is refused.
func samePurchase(a, b Purchase) bool {
	return a.CustomerID == b.CustomerID && a.Currency == b.Currency && a.Category == b.Category &&
		a.Product == b.Product && a.Store == b.Store && a.PurchasedAt.Equal(b.PurchasedAt)
}

// EnrolmentPlan is an enrolment to create with a new purchase.
type EnrolmentPlan struct {
	ProgramID      int64
	ProgramVersion int
	WorkflowID     string
	// PerPurchase enrolments (happy call) belong to the purchase; others
	// (second purchase) to the customer, at most one live at a time.
	PerPurchase bool
	// Control: held out (enrol.Control); the row is written ended with
	// outcome "control" and no workflow starts for it.
	Control bool
}

// RecordPurchase stores a purchase and, only when it is new, the
// enrolments plan(p, purchases so far including p) returns, in one transaction. A repeat of the same
// purchase returns created=false and the enrolments made the first time; a
// different purchase under the same external id is ErrConflict.
//
// Two round trips either way: the first opens the transaction and writes
// the purchase with the customer's statistics, the second writes the
// enrolments (or, for a repeat, reads what the first time stored) and
// commits.
func (s *Store) RecordPurchase(ctx context.Context, p Purchase, plan func(p Purchase, purchaseCount int) ([]EnrolmentPlan, error)) (stored Purchase, created bool, enrolments []Enrolment, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return Purchase{}, false, nil, err
	}
	defer conn.Release()
	defer func() {
		if err != nil && conn.Conn().PgConn().TxStatus() != 'I' && !conn.Conn().IsClosed() {
			// Whatever failed, nothing of it is kept. A connection
			// left in a transaction is closed by the pool anyway.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_, _ = conn.Exec(rctx, `ROLLBACK`)
		}
	}()

	var count int
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	// Buying again is what wakes a dormant customer (life).
	b.Queue(`
		WITH p AS (
			INSERT INTO purchases (external_id, customer_id, amount, currency, category, product, store, purchased_at)
			VALUES ($1, $2, $3::numeric, $4, $5, $6, $7, $8)
			ON CONFLICT (external_id) DO NOTHING
			RETURNING *),
		stats AS (
			INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
			SELECT customer_id, 1, amount, purchased_at, purchased_at FROM p
			ON CONFLICT (customer_id) DO UPDATE SET
				purchase_count = customer_stats.purchase_count + 1,
				total_spend = customer_stats.total_spend + EXCLUDED.total_spend,
				first_purchase_at = least(customer_stats.first_purchase_at, EXCLUDED.first_purchase_at),
				last_purchase_at = greatest(customer_stats.last_purchase_at, EXCLUDED.last_purchase_at)
			RETURNING purchase_count),
		life AS (
			UPDATE customers SET lifecycle = 'active' WHERE id = (SELECT customer_id FROM p) AND lifecycle <> 'active')
		SELECT `+purchaseCols+`, stats.purchase_count FROM p, stats`,
		p.ExternalID, p.CustomerID, p.Amount, p.Currency, p.Category, p.Product, p.Store, p.PurchasedAt).QueryRow(func(row pgx.Row) error {
		err := row.Scan(&stored.ID, &stored.ExternalID, &stored.CustomerID, &stored.Amount, &stored.Currency, &stored.Category,
			&stored.Product, &stored.Store, &stored.PurchasedAt, &stored.CreatedAt, &count)
		if err == pgx.ErrNoRows {
			return nil // a repeat, or a conflict
		}
		created = err == nil
		return err
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return Purchase{}, false, nil, err
	}

	b = &pgx.Batch{}
	if created {
		plans, err := plan(stored, count)
		if err != nil {
			return Purchase{}, false, nil, err
		}
		for _, pl := range plans {
			b.Queue(`
				INSERT INTO enrolments (program_id, program_version, customer_id, purchase_id, workflow_id, per_purchase,
					control, status, outcome, started_at, ended_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 THEN 'ended' ELSE 'pending' END,
					CASE WHEN $7 THEN '`+OutcomeControl+`' END, CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN now() END)
				ON CONFLICT DO NOTHING
				RETURNING `+enrolmentCols,
				pl.ProgramID, pl.ProgramVersion, stored.CustomerID, stored.ID, pl.WorkflowID, pl.PerPurchase, pl.Control).QueryRow(func(row pgx.Row) error {
				e, err := scanEnrolment(row)
				if err == ErrNotFound {
					return nil // already enrolled: a customer is in a program once at a time
				}
				enrolments = append(enrolments, e)
				return err
			})
		}
	} else {
		var same bool
		b.Queue(`SELECT `+purchaseCols+`, amount = $2::numeric FROM purchases WHERE external_id = $1`, p.ExternalID, p.Amount).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&stored.ID, &stored.ExternalID, &stored.CustomerID, &stored.Amount, &stored.Currency, &stored.Category,
				&stored.Product, &stored.Store, &stored.PurchasedAt, &stored.CreatedAt, &same)
			if err == nil && (!same || !samePurchase(stored, p)) {
				err = ErrConflict
			}
			return notFound(err)
		})
		b.Queue(`SELECT `+enrolmentCols+` FROM enrolments
			WHERE purchase_id = (SELECT id FROM purchases WHERE external_id = $1) ORDER BY id`, p.ExternalID).Query(func(rows pgx.Rows) error {
			var err error
			enrolments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Enrolment, error) { return scanEnrolment(r) })
			return err
		})
	}
	b.Queue(`COMMIT`)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return Purchase{}, false, nil, err
	}
	return stored, created, enrolments, nil
}

// PurchaseByID loads a purchase.
func (s *Store) PurchaseByID(ctx context.Context, id int64) (Purchase, error) {
	return scanPurchase(s.pool.QueryRow(ctx, `SELECT `+purchaseCols+` FROM purchases WHERE id = $1`, id))
}
