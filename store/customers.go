package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/domain"
)

// Consent is one channel's permission with when and where it was given or
// withdrawn, as Korean ad-message rules require proving.
type Consent struct {
	Granted bool      `json:"granted"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
}

// Customer is a person a store sells to.
type Customer struct {
	ID         int64      `json:"-"`
	ExternalID string     `json:"external_id"`
	Name       string     `json:"name"`
	Phone      *string    `json:"phone"`
	Email      *string    `json:"email"`
	Birthday   *time.Time `json:"birthday"`
	TimeZone   string     `json:"time_zone"`
	Locale     string     `json:"locale"`
	// Country (ISO 3166-1 alpha-2) decides quiet hours and the
	// advertising format; nil: from the phone number, else the settings'
	// default.
	Country   *string            `json:"country"`
	Consent   map[string]Consent `json:"consent"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
	// ErasedAt is when the customer's personal data was removed (see
	// EraseCustomer); the row stays for ids and counts.
	ErasedAt *time.Time `json:"erased_at,omitempty"`
}

// MarshalJSON writes the birthday as a date, the way it is given.
func (c Customer) MarshalJSON() ([]byte, error) {
	type plain Customer
	out := struct {
		plain
		Birthday *string `json:"birthday"`
	}{plain: plain(c)}
	if c.Birthday != nil {
		d := c.Birthday.Format(time.DateOnly)
		out.Birthday = &d
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Customer) UnmarshalJSON(b []byte) error {
	type plain Customer
	in := struct {
		*plain
		Birthday *string `json:"birthday"`
	}{plain: (*plain)(c)}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	c.Birthday = nil
	if in.Birthday != nil {
		d, err := time.Parse(time.DateOnly, *in.Birthday)
		if err != nil {
			return err
		}
		c.Birthday = &d
	}
	return nil
}

// Consents reports whether the customer allows (advertising) contact on
// the channel.
func (c Customer) Consents(channel string) bool {
	return c.Consent[channel].Granted
}

// NightConsent reports whether the customer gave the separate night-time
// advertising consent, which lifts Korean quiet hours for them.
func (c Customer) NightConsent() bool {
	return c.Consent[domain.ChannelNight].Granted
}

// OptedOut reports whether every channel is withdrawn (or none granted).
// Night-time consent alone allows no channel, so it does not count.
func (c Customer) OptedOut() bool {
	for ch, v := range c.Consent {
		if v.Granted && ch != domain.ChannelNight {
			return false
		}
	}
	return true
}

const customerCols = `id, external_id, name, phone, email, birthday, time_zone, locale, country, consent, created_at, updated_at, erased_at`

func scanCustomer(row pgx.Row) (Customer, error) {
	var c Customer
	var consent []byte
	err := row.Scan(&c.ID, &c.ExternalID, &c.Name, &c.Phone, &c.Email, &c.Birthday, &c.TimeZone, &c.Locale, &c.Country, &consent, &c.CreatedAt, &c.UpdatedAt, &c.ErasedAt)
	if err != nil {
		return c, notFound(err)
	}
	if err := json.Unmarshal(consent, &c.Consent); err != nil {
		return c, err
	}
	return c, nil
}

// ActorSystem records consent changes dangol makes itself (and writes
// from tools and tests that name no API key).
const ActorSystem = "system"

// ActorCustomer records consent changes the customer made themselves (an
// unsubscribe link, a reply): no notice of the change is owed to them.
const ActorCustomer = "customer"

// UpsertCustomer creates or replaces the customer with c.ExternalID.
func (s *Store) UpsertCustomer(ctx context.Context, c Customer) (stored Customer, before *Customer, err error) {
	return s.UpsertCustomerWith(ctx, c.ExternalID, func(*Customer) (Customer, error) { return c, nil })
}

// UpsertCustomerWith is UpsertCustomerAs recording dangol itself as the
// actor of consent changes.
func (s *Store) UpsertCustomerWith(ctx context.Context, externalID string, build func(old *Customer) (Customer, error)) (stored Customer, before *Customer, err error) {
	return s.UpsertCustomerAs(ctx, externalID, ActorSystem, build)
}

// UpsertCustomerAs creates or replaces the customer with externalID. build
// gets the stored row (nil when new) and returns the row to store; it runs
// inside the transaction, under a lock on the external id, so two
// concurrent updates (each granting one channel) cannot lose each other's
// consent. Every consent change (a channel first recorded, or its grant
// flipped) is appended to the consent history in the same transaction,
// with the consent's time and source and actor as who recorded it. It
// returns the stored row and the row as it was before.
func (s *Store) UpsertCustomerAs(ctx context.Context, externalID, actor string, build func(old *Customer) (Customer, error)) (stored Customer, before *Customer, err error) {
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// The advisory lock also covers a customer that does not exist yet.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('customer:' || $1, 0))`, externalID); err != nil {
			return err
		}
		old, err := scanCustomer(tx.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE external_id = $1`, externalID))
		switch {
		case err == nil:
			before = &old
		case err != ErrNotFound:
			return err
		}
		c, err := build(before)
		if err != nil {
			return err
		}
		consent, err := json.Marshal(c.Consent)
		if err != nil {
			return err
		}
		stored, err = scanCustomer(tx.QueryRow(ctx, `
			INSERT INTO customers (external_id, name, phone, email, birthday, time_zone, locale, country, consent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (external_id) DO UPDATE SET
				name = EXCLUDED.name, phone = EXCLUDED.phone, email = EXCLUDED.email,
				birthday = EXCLUDED.birthday, time_zone = EXCLUDED.time_zone,
				locale = EXCLUDED.locale, country = EXCLUDED.country, consent = EXCLUDED.consent, updated_at = now()
			RETURNING `+customerCols,
			externalID, c.Name, c.Phone, c.Email, c.Birthday, c.TimeZone, c.Locale, c.Country, consent))
		if err != nil {
			return err
		}
		return recordConsentChanges(ctx, tx, stored.ID, before, stored.Consent, actor)
	})
	return stored, before, err
}

// CustomerByExternalID loads a customer by the retailer's id.
func (s *Store) CustomerByExternalID(ctx context.Context, externalID string) (Customer, error) {
	return scanCustomer(s.pool.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE external_id = $1`, externalID))
}

// CustomerByID loads a customer by internal id.
func (s *Store) CustomerByID(ctx context.Context, id int64) (Customer, error) {
	return scanCustomer(s.pool.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE id = $1`, id))
}
