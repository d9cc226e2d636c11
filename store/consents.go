package store

import (
	"context"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// ConsentEvent is one change of a customer's consent, as the law asks to
// prove it: what, when the customer gave it, where, and who recorded it.
type ConsentEvent struct {
	ID         int64     `json:"id"`
	CustomerID int64     `json:"-"`
	Channel    string    `json:"channel"`
	Granted    bool      `json:"granted"`
	At         time.Time `json:"at"`
	Source     string    `json:"source"`
	Actor      string    `json:"actor"`
	RecordedAt time.Time `json:"recorded_at"`
}

// MaxConsentPage bounds one page of consent history.
const MaxConsentPage = 500

// recordConsentChanges appends an event for every channel whose consent
// is new or flipped between before and after. Channels are taken in order
// so the history of one write reads the same every time.
func recordConsentChanges(ctx context.Context, tx pgx.Tx, customerID int64, before *Customer, after map[string]Consent, actor string) error {
	channels := make([]string, 0, len(after))
	for ch := range after {
		channels = append(channels, ch)
	}
	sort.Strings(channels)
	for _, ch := range channels {
		now := after[ch]
		if before != nil {
			if old, ok := before.Consent[ch]; ok && old.Granted == now.Granted {
				continue
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO consent_events (customer_id, channel, granted, at, source, actor)
			VALUES ($1, $2, $3, $4, $5, $6)`, customerID, ch, now.Granted, now.At, now.Source, actor); err != nil {
			return err
		}
	}
	return nil
}

// ConsentEvents is one page of the customer's consent history, newest
// first: events older than the event beforeID (0: from the newest), at
// most limit (1..MaxConsentPage) of them.
func (s *Store) ConsentEvents(ctx context.Context, customerID, beforeID int64, limit int) ([]ConsentEvent, error) {
	if limit < 1 || limit > MaxConsentPage {
		limit = MaxConsentPage
	}
	rows, err := s.pool.Query(ctx, `SELECT id, channel, granted, at, source, actor, recorded_at FROM consent_events
		WHERE customer_id = $1 AND ($2 = 0 OR id < $2) ORDER BY id DESC LIMIT $3`, customerID, beforeID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConsentEvent, error) {
		var e ConsentEvent
		err := r.Scan(&e.ID, &e.Channel, &e.Granted, &e.At, &e.Source, &e.Actor, &e.RecordedAt)
		return e, err
	})
}

// ConsentHistory is the newest MaxConsentPage events of the customer's
// consent history, newest first, for the send path (when consent was
// given decides when it lapses).
func (s *Store) ConsentHistory(ctx context.Context, customerID int64) ([]ConsentEvent, error) {
	return s.ConsentEvents(ctx, customerID, 0, MaxConsentPage)
}
