package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// TakeMarketingPlace gives a marketing message its place under the
// frequency cap: at most max marketing messages per customer in any
// rolling window, across all programs. The customer row is locked while
// the ledger is counted and the place inserted, so two workflows sending
// to one customer at the same instant cannot both pass. A message that
// already has its place (a retried attempt) keeps it.
//
// When the cap is full, ok is false and freeAt is when enough places will
// have left the window (zero when max is 0: never).
func (s *Store) TakeMarketingPlace(ctx context.Context, customerID, messageID int64, max int, window time.Duration) (ok bool, freeAt time.Time, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM customers WHERE id = $1 FOR UPDATE`, customerID); err != nil {
			return err
		}
		var have bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM marketing_sends WHERE message_id = $1)`, messageID).Scan(&have); err != nil {
			return err
		}
		if have {
			ok = true
			return nil
		}
		rows, err := tx.Query(ctx, `SELECT at FROM marketing_sends WHERE customer_id = $1 AND at > now() - make_interval(secs => $2)
			ORDER BY at`, customerID, window.Seconds())
		if err != nil {
			return err
		}
		taken, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
		if err != nil {
			return err
		}
		if len(taken) >= max {
			if max > 0 {
				// The place frees when the oldest of the surplus leaves
				// the window.
				freeAt = taken[len(taken)-max].Add(window)
			}
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO marketing_sends (message_id, customer_id, at) VALUES ($1, $2, now())`, messageID, customerID)
		ok = err == nil
		return err
	})
	return ok, freeAt, err
}

// ReleaseMarketingPlace gives back the place of a marketing message that
// never reached the customer (refused by the provider before sending, or
// held back by another rule after taking it).
func (s *Store) ReleaseMarketingPlace(ctx context.Context, messageID int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM marketing_sends WHERE message_id = $1`, messageID)
	return err
}
