package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Sources of consent changes the customer's phone made.
const (
	// SourceSMSReply: the customer replied STOP, START... to a message.
	SourceSMSReply = "sms reply"
	// SourceProvider21610: the provider refused a message because the
	// recipient unsubscribed with it (Twilio error 21610).
	SourceProvider21610 = "provider 21610"
)

// Inbound keywords (InboundMessage.Keyword); "" is any other text.
const (
	KeywordStop  = "stop"
	KeywordStart = "start"
	KeywordHelp  = "help"
)

// MaxCustomersPerPhone bounds how many customers one reply applies to:
// a shared family or shop phone has a few, never thousands.
const MaxCustomersPerPhone = 100

// MaxInboundPage bounds the replies a journey shows.
const MaxInboundPage = 100

// InboundMessage is one SMS a customer sent us.
type InboundMessage struct {
	ID          int64      `json:"-"`
	ProviderSID string     `json:"provider_sid"`
	FromPhone   string     `json:"-"`
	Body        string     `json:"body"`
	Keyword     string     `json:"keyword"`
	CustomerIDs []int64    `json:"-"`
	ReceivedAt  time.Time  `json:"received_at"`
	AppliedAt   *time.Time `json:"applied_at"`
}

const inboundCols = `id, provider_sid, from_phone, body, keyword, customer_ids, received_at, applied_at`

func scanInbound(row pgx.Row) (InboundMessage, error) {
	var m InboundMessage
	err := row.Scan(&m.ID, &m.ProviderSID, &m.FromPhone, &m.Body, &m.Keyword, &m.CustomerIDs, &m.ReceivedAt, &m.AppliedAt)
	return m, notFound(err)
}

// CustomersByPhone lists the customers with this (E.164) phone, oldest
// first, at most MaxCustomersPerPhone.
func (s *Store) CustomersByPhone(ctx context.Context, phone string) ([]Customer, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+customerCols+` FROM customers WHERE phone = $1 ORDER BY id LIMIT $2`, phone, MaxCustomersPerPhone)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Customer, error) { return scanCustomer(r) })
}

// RecordInbound stores a reply once under its provider SID and returns
// the stored row: on a replay, the first delivery's (whose AppliedAt says
// whether its changes were all made).
func (s *Store) RecordInbound(ctx context.Context, m InboundMessage) (InboundMessage, error) {
	if m.CustomerIDs == nil {
		m.CustomerIDs = []int64{}
	}
	stored, err := scanInbound(s.pool.QueryRow(ctx, `INSERT INTO inbound_messages (provider_sid, from_phone, body, keyword, customer_ids)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider_sid) DO NOTHING RETURNING `+inboundCols,
		m.ProviderSID, m.FromPhone, m.Body, m.Keyword, m.CustomerIDs))
	if err != ErrNotFound {
		return stored, err
	}
	return scanInbound(s.pool.QueryRow(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE provider_sid = $1`, m.ProviderSID))
}

// MarkInboundApplied records that every change of the reply was made.
func (s *Store) MarkInboundApplied(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE inbound_messages SET applied_at = now() WHERE id = $1 AND applied_at IS NULL`, id)
	return err
}

// InboundByID loads a reply.
func (s *Store) InboundByID(ctx context.Context, id int64) (InboundMessage, error) {
	return scanInbound(s.pool.QueryRow(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE id = $1`, id))
}

// CustomerInbound lists the customer's newest replies, newest first, at
// most MaxInboundPage.
func (s *Store) CustomerInbound(ctx context.Context, customerID int64) ([]InboundMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE customer_ids @> ARRAY[$1::bigint]
		ORDER BY id DESC LIMIT $2`, customerID, MaxInboundPage)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (InboundMessage, error) { return scanInbound(r) })
}

// MarkPhoneInvalid records that the provider refused the number for good
// (code: its error code); the first refusal stands.
func (s *Store) MarkPhoneInvalid(ctx context.Context, phone, code string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO invalid_phones (phone, error_code) VALUES ($1, $2) ON CONFLICT (phone) DO NOTHING`, phone, code)
	return err
}

// PhoneInvalid reports whether the provider refused the number for good.
func (s *Store) PhoneInvalid(ctx context.Context, phone string) (bool, error) {
	var invalid bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM invalid_phones WHERE phone = $1)`, phone).Scan(&invalid)
	return invalid, err
}

// SetInboundCustomers records whom a reply not yet applied applies to; a
// reply applied meanwhile keeps its customers.
func (s *Store) SetInboundCustomers(ctx context.Context, id int64, customerIDs []int64) (InboundMessage, error) {
	if customerIDs == nil {
		customerIDs = []int64{}
	}
	m, err := scanInbound(s.pool.QueryRow(ctx, `UPDATE inbound_messages SET customer_ids = $2 WHERE id = $1 AND applied_at IS NULL
		RETURNING `+inboundCols, id, customerIDs))
	if err == ErrNotFound {
		return s.InboundByID(ctx, id)
	}
	return m, err
}
