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
func (s *Store) RecordPurchase(ctx context.Context, p Purchase, plan func(p Purchase, purchaseCount int) ([]EnrolmentPlan, error)) (stored Purchase, created bool, enrolments []Enrolment, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		stored, err = scanPurchase(tx.QueryRow(ctx, `
			INSERT INTO purchases (external_id, customer_id, amount, currency, category, product, store, purchased_at)
			VALUES ($1, $2, $3::numeric, $4, $5, $6, $7, $8)
			ON CONFLICT (external_id) DO NOTHING
			RETURNING `+purchaseCols,
			p.ExternalID, p.CustomerID, p.Amount, p.Currency, p.Category, p.Product, p.Store, p.PurchasedAt))
		if err == ErrNotFound {
			stored, err = scanPurchase(tx.QueryRow(ctx, `SELECT `+purchaseCols+` FROM purchases WHERE external_id = $1`, p.ExternalID))
			if err != nil {
				return err
			}
			var same bool
			if err := tx.QueryRow(ctx, `SELECT $1::numeric = $2::numeric`, stored.Amount, p.Amount).Scan(&same); err != nil {
				return err
			}
			if !same || !samePurchase(stored, p) {
				return ErrConflict
			}
			enrolments, err = enrolmentsWhere(ctx, tx, `purchase_id = $1`, stored.ID)
			return err
		}
		if err != nil {
			return err
		}
		created = true
		var count int
		if err := tx.QueryRow(ctx, `
			INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at)
			VALUES ($1, 1, $2::numeric, $3, $3)
			ON CONFLICT (customer_id) DO UPDATE SET
				purchase_count = customer_stats.purchase_count + 1,
				total_spend = customer_stats.total_spend + EXCLUDED.total_spend,
				first_purchase_at = least(customer_stats.first_purchase_at, EXCLUDED.first_purchase_at),
				last_purchase_at = greatest(customer_stats.last_purchase_at, EXCLUDED.last_purchase_at)
			RETURNING purchase_count`,
			stored.CustomerID, stored.Amount, stored.PurchasedAt).Scan(&count); err != nil {
			return err
		}
		// Buying again is what wakes a dormant customer.
		if _, err := tx.Exec(ctx, `UPDATE customers SET lifecycle = 'active' WHERE id = $1 AND lifecycle <> 'active'`, stored.CustomerID); err != nil {
			return err
		}
		plans, err := plan(stored, count)
		if err != nil {
			return err
		}
		for _, pl := range plans {
			e, err := scanEnrolment(tx.QueryRow(ctx, `
				INSERT INTO enrolments (program_id, program_version, customer_id, purchase_id, workflow_id, per_purchase,
					control, status, outcome, started_at, ended_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7 THEN 'ended' ELSE 'pending' END,
					CASE WHEN $7 THEN '`+OutcomeControl+`' END, CASE WHEN $7 THEN now() END, CASE WHEN $7 THEN now() END)
				ON CONFLICT DO NOTHING
				RETURNING `+enrolmentCols,
				pl.ProgramID, pl.ProgramVersion, stored.CustomerID, stored.ID, pl.WorkflowID, pl.PerPurchase, pl.Control))
			if err == ErrNotFound {
				continue // already enrolled: a customer is in a program once at a time
			}
			if err != nil {
				return err
			}
			enrolments = append(enrolments, e)
		}
		return nil
	})
	return stored, created, enrolments, err
}

// PurchaseByID loads a purchase.
func (s *Store) PurchaseByID(ctx context.Context, id int64) (Purchase, error) {
	return scanPurchase(s.pool.QueryRow(ctx, `SELECT `+purchaseCols+` FROM purchases WHERE id = $1`, id))
}
