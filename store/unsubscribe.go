package store

import (
	"context"
	"errors"
	"time"
)

// SourceUnsubscribeLink is the consent source of a withdrawal the customer
// made through the link in a message.
const SourceUnsubscribeLink = "unsubscribe link"

// errAlreadyWithdrawn rolls back a withdrawal that would change nothing.
var errAlreadyWithdrawn = errors.New("consent already withdrawn")

// WithdrawConsent withdraws the customer's (advertising) consent on channel
// through the same locked update the customer API uses, so the change is
// recorded like any other. It reports whether anything changed: a consent
// that is already withdrawn (or was never given) is left as it is, with
// its time and source. before and after are the customer around the
// change (equal when nothing changed).
func (s *Store) WithdrawConsent(ctx context.Context, customerID int64, channel, source string, at time.Time) (changed bool, before, after Customer, err error) {
	c, err := s.CustomerByID(ctx, customerID)
	if err != nil {
		return false, c, c, err
	}
	stored, old, err := s.UpsertCustomerAs(ctx, c.ExternalID, ActorCustomer, func(old *Customer) (Customer, error) {
		// The external id is the lock; the row under it must still be
		// the one the link was made for.
		if old == nil || old.ID != customerID {
			return Customer{}, ErrNotFound
		}
		if !old.Consent[channel].Granted {
			before = *old
			return Customer{}, errAlreadyWithdrawn
		}
		next := *old
		next.Consent = make(map[string]Consent, len(old.Consent))
		for ch, v := range old.Consent {
			next.Consent[ch] = v
		}
		next.Consent[channel] = Consent{Granted: false, At: at, Source: source}
		return next, nil
	})
	if errors.Is(err, errAlreadyWithdrawn) {
		return false, before, before, nil
	}
	if err != nil {
		return false, c, c, err
	}
	return true, *old, stored, nil
}
