package store

import (
	"context"
	"errors"
	"time"
)

// SourceUnsubscribeLink is the consent source of a withdrawal the customer
// made through the link in a message.
const SourceUnsubscribeLink = "unsubscribe link"

// errConsentUnchanged rolls back a consent write that would change
// nothing.
var errConsentUnchanged = errors.New("consent already as asked")

// WithdrawConsent withdraws the customer's (advertising) consent on channel
// as the customer's own act (see ChangeConsent).
func (s *Store) WithdrawConsent(ctx context.Context, customerID int64, channel, source string, at time.Time) (changed bool, before, after Customer, err error) {
	return s.ChangeConsent(ctx, customerID, channel, false, source, ActorCustomer, at)
}

// ChangeConsent grants or withdraws the customer's (advertising) consent
// on one channel, with actor as who made the change (see setConsents).
func (s *Store) ChangeConsent(ctx context.Context, customerID int64, channel string, granted bool, source, actor string, at time.Time) (changed bool, before, after Customer, err error) {
	return s.setConsents(ctx, customerID, map[string]bool{channel: granted}, source, actor, at)
}

// setConsents sets the customer's consent on each channel in want through
// the same locked update the customer API uses, so each change is
// recorded like any other (consent_events, with actor and source, at at).
// Channels not in want, channels already as wanted, and a withdrawal of a
// consent never given keep their time and source. It reports whether
// anything changed; before and after are the customer around the change
// (equal when nothing did). ErrNotFound: the customer is gone.
func (s *Store) setConsents(ctx context.Context, customerID int64, want map[string]bool, source, actor string, at time.Time) (changed bool, before, after Customer, err error) {
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
		before = *old
		next := *old
		next.Consent = make(map[string]Consent, len(old.Consent)+len(want))
		for ch, v := range old.Consent {
			next.Consent[ch] = v
		}
		n := 0
		for ch, granted := range want {
			if old.Consent[ch].Granted == granted {
				// As asked already, or never given and not wanted.
				continue
			}
			next.Consent[ch] = Consent{Granted: granted, At: at, Source: source}
			n++
		}
		if n == 0 {
			return Customer{}, errConsentUnchanged
		}
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
