package store

import (
	"context"
	"time"
)

// SourcePreferencePage is the consent source of a change the customer made
// on their preference page.
const SourcePreferencePage = "preference page"

// SetConsents sets the customer's consent on each channel in want (granted
// or not) as the customer's own word (actor ActorCustomer); see
// setConsents.
func (s *Store) SetConsents(ctx context.Context, customerID int64, want map[string]bool, source string, at time.Time) (changed bool, before, after Customer, err error) {
	return s.setConsents(ctx, customerID, want, source, ActorCustomer, at)
}
