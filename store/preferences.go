package store

import (
	"context"
	"errors"
	"time"
)

// SourcePreferencePage is the consent source of a change the customer made
// on their preference page.
const SourcePreferencePage = "preference page"

// errNoChange rolls back a preference write that would change nothing.
var errNoChange = errors.New("consent unchanged")

// SetConsents sets the customer's consent on each channel in want (granted
// or not) as the customer's own word, through the same locked update as
// the customer API, so each change is recorded (actor ActorCustomer) with
// at and source. Channels not in want, and channels already as wanted,
// keep their time and source. It reports whether anything changed; before
// and after are the customer around the change (equal when nothing did).
// ErrNotFound: the customer is gone.
func (s *Store) SetConsents(ctx context.Context, customerID int64, want map[string]bool, source string, at time.Time) (changed bool, before, after Customer, err error) {
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
		before = *old
		next := *old
		next.Consent = make(map[string]Consent, len(old.Consent)+len(want))
		for ch, v := range old.Consent {
			next.Consent[ch] = v
		}
		n := 0
		for ch, granted := range want {
			if cur, ok := old.Consent[ch]; ok && cur.Granted == granted {
				continue
			}
			if _, ok := old.Consent[ch]; !ok && !granted {
				// Never given: nothing to withdraw, nothing to record.
				continue
			}
			next.Consent[ch] = Consent{Granted: granted, At: at, Source: source}
			n++
		}
		if n == 0 {
			return Customer{}, errNoChange
		}
		return next, nil
	})
	if errors.Is(err, errNoChange) {
		return false, before, before, nil
	}
	if err != nil {
		return false, c, c, err
	}
	return true, *old, stored, nil
}
