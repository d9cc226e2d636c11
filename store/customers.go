package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Consent is one channel's permission with when and where it was given or
// withdrawn, as Korean ad-message rules require proving.
type Consent struct {
	Granted bool      `json:"granted"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
}

// Channels a customer can consent to.
const (
	ChannelSMS   = "sms"
	ChannelEmail = "email"
	ChannelCall  = "call"
)

// Customer is a person a store sells to.
type Customer struct {
	ID         int64              `json:"-"`
	ExternalID string             `json:"external_id"`
	Name       string             `json:"name"`
	Phone      *string            `json:"phone"`
	Email      *string            `json:"email"`
	Birthday   *time.Time         `json:"birthday"`
	TimeZone   string             `json:"time_zone"`
	Locale     string             `json:"locale"`
	Consent    map[string]Consent `json:"consent"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

// Consents reports whether the customer allows contact on the channel.
func (c Customer) Consents(channel string) bool {
	return c.Consent[channel].Granted
}

// OptedOut reports whether every channel is withdrawn (or none granted).
func (c Customer) OptedOut() bool {
	for _, v := range c.Consent {
		if v.Granted {
			return false
		}
	}
	return true
}

const customerCols = `id, external_id, name, phone, email, birthday, time_zone, locale, consent, created_at, updated_at`

func scanCustomer(row pgx.Row) (Customer, error) {
	var c Customer
	var consent []byte
	err := row.Scan(&c.ID, &c.ExternalID, &c.Name, &c.Phone, &c.Email, &c.Birthday, &c.TimeZone, &c.Locale, &consent, &c.CreatedAt, &c.UpdatedAt)
	if err != nil {
		return c, notFound(err)
	}
	if err := json.Unmarshal(consent, &c.Consent); err != nil {
		return c, err
	}
	return c, nil
}

// UpsertCustomer creates or replaces the customer with c.ExternalID and
// returns the stored row and the row as it was before (nil when new).
func (s *Store) UpsertCustomer(ctx context.Context, c Customer) (stored Customer, before *Customer, err error) {
	consent, err := json.Marshal(c.Consent)
	if err != nil {
		return Customer{}, nil, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		old, err := scanCustomer(tx.QueryRow(ctx, `SELECT `+customerCols+` FROM customers WHERE external_id = $1 FOR UPDATE`, c.ExternalID))
		switch {
		case err == nil:
			before = &old
		case err != ErrNotFound:
			return err
		}
		stored, err = scanCustomer(tx.QueryRow(ctx, `
			INSERT INTO customers (external_id, name, phone, email, birthday, time_zone, locale, consent)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (external_id) DO UPDATE SET
				name = EXCLUDED.name, phone = EXCLUDED.phone, email = EXCLUDED.email,
				birthday = EXCLUDED.birthday, time_zone = EXCLUDED.time_zone,
				locale = EXCLUDED.locale, consent = EXCLUDED.consent, updated_at = now()
			RETURNING `+customerCols,
			c.ExternalID, c.Name, c.Phone, c.Email, c.Birthday, c.TimeZone, c.Locale, consent))
		return err
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
