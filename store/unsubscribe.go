package store

import (
	"context"
	"errors"
	"time"
)

// SourceUnsubscribeLink is the consent source of a withdrawal the customer
// made through the link in a message.
const SourceUnsubscribeLink = "unsubscribe link"

// errConsentUnchanged rolls back a consent change that would change
// nothing.
var errConsentUnchanged = errors.New("consent already as asked")

// WithdrawConsent withdraws the customer's (advertising) consent on channel
// as the customer's own act (see ChangeConsent).
func (s *Store) WithdrawConsent(ctx context.Context, customerID int64, channel, source string, at time.Time) (changed bool, before, after Customer, err error) {
	return s.ChangeConsent(ctx, customerID, channel, false, source, ActorCustomer, at)
}

// ChangeConsent grants or withdraws the customer's (advertising) consent
// on channel through the same locked update the customer API uses, so the
// change is recorded like any other, with actor as who made it. It reports
// whether anything changed: a consent that already is as asked is left as
// it is, with its time and source. before and after are the customer
// around the change (equal when nothing changed).
func (s *Store) ChangeConsent(ctx context.Context, customerID int64, channel string, granted bool, source, actor string, at time.Time) (changed bool, before, after Customer, err error) {
	c, err := s.CustomerByID(ctx, customerID)
	if err != nil {
		return false, c, c, err
	}
	stored, old, err := s.UpsertCustomerAs(ctx, c.ExternalID, actor, func(old *Customer) (Customer, error) {
		// The external id is the lock; the row under it must still be
		// the one the change was asked for.
		if old == nil || old.ID != customerID {
			return Customer{}, ErrNotFound
		}
		if old.Consent[channel].Granted == granted {
			before = *old
			return Customer{}, errConsentUnchanged
		}
		next := *old
		next.Consent = make(map[string]Consent, len(old.Consent)+1)
		for ch, v := range old.Consent {
			next.Consent[ch] = v
		}
		next.Consent[channel] = Consent{Granted: granted, At: at, Source: source}
		return next, nil
	})
	if errors.Is(err, errConsentUnchanged) {
		return false, before, before, nil
	}
	if err != nil {
		return false, c, c, err
	}
	return true, *old, stored, nil
}
