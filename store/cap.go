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
	ok, freeAt, _, err = s.takeMarketingPlace(ctx, customerID, messageID, max, window, false)
	return ok, freeAt, err
}

// TakeMarketingPlaceAndMarkSending is TakeMarketingPlace followed, when
// the place is had, by MarkSending, in the same round trip: sent is the
// message marked sending (ErrNotFound when it is no longer pending or
// sending; a message without its place is left as it was).
func (s *Store) TakeMarketingPlaceAndMarkSending(ctx context.Context, customerID, messageID int64, max int, window time.Duration) (ok bool, freeAt time.Time, sent Message, err error) {
	ok, freeAt, m, err := s.takeMarketingPlace(ctx, customerID, messageID, max, window, true)
	switch {
	case err != nil || !ok:
		return ok, freeAt, Message{}, err
	case m == nil:
		return ok, freeAt, Message{}, ErrNotFound
	}
	return ok, freeAt, *m, nil
}

// takeMarketingPlace is one batch, which the server runs as one
// transaction: the customer's lock, then (a statement of its own, so it
// sees every place taken before the lock was had) the count and the new
// place, then the mark of the message when asked.
func (s *Store) takeMarketingPlace(ctx context.Context, customerID, messageID int64, max int, window time.Duration, markSending bool) (ok bool, freeAt time.Time, sent *Message, err error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT 1 FROM customers WHERE id = $1 FOR UPDATE`, customerID)
	b.Queue(`WITH had AS (SELECT EXISTS (SELECT 1 FROM marketing_sends WHERE message_id = $2) AS had),
		taken AS (SELECT coalesce(array_agg(at ORDER BY at), '{}') AS ats FROM marketing_sends
			WHERE customer_id = $1 AND at > now() - make_interval(secs => $3)),
		ins AS (INSERT INTO marketing_sends (message_id, customer_id, at)
			SELECT $2, $1, now() FROM had, taken WHERE NOT had.had AND cardinality(taken.ats) < $4 RETURNING 1)
		SELECT had.had, EXISTS (SELECT 1 FROM ins), taken.ats FROM had, taken`,
		customerID, messageID, window.Seconds(), max).QueryRow(func(row pgx.Row) error {
		var had, took bool
		var taken []time.Time
		if err := row.Scan(&had, &took, &taken); err != nil {
			return err
		}
		ok = had || took
		if !ok && max > 0 && len(taken) >= max {
			// The place frees when the oldest of the surplus leaves
			// the window.
			freeAt = taken[len(taken)-max].Add(window)
		}
		return nil
	})
	if markSending {
		b.Queue(`WITH m AS (`+markSendingSQL(`status IN ('pending', 'sending') AND EXISTS (SELECT 1 FROM marketing_sends WHERE message_id = $1)`)+`)
			SELECT * FROM m`, messageID).QueryRow(func(row pgx.Row) error {
			m, err := scanMessage(row)
			sent = &m
			return absent(err, &sent)
		})
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		// The batch's transaction is rolled back: nothing was taken.
		return false, time.Time{}, nil, err
	}
	return ok, freeAt, sent, nil
}

// ReleaseMarketingPlace gives back the place of a marketing message that
// never reached the customer (refused by the provider before sending, or
// held back by another rule after taking it).
func (s *Store) ReleaseMarketingPlace(ctx context.Context, messageID int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM marketing_sends WHERE message_id = $1`, messageID)
	return err
}
