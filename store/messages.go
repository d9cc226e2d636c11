package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Message statuses. pending and sending are ours; queued, sent, delivered,
// undelivered and failed are the provider's; suppressed means a rule (no
// consent, no address) kept the message from being sent.
const (
	MessagePending    = "pending"
	MessageSending    = "sending"
	MessageQueued     = "queued"
	MessageSent       = "sent"
	MessageDelivered  = "delivered"
	MessageFailed     = "failed"
	MessageSuppressed = "suppressed"
)

// statusRank orders statuses so a late "sent" callback never overwrites
// "delivered"; terminal failures outrank everything.
var statusRank = map[string]int{
	MessagePending: 0, MessageSending: 1, "accepted": 2, MessageQueued: 2, "sending_provider": 3,
	MessageSent: 4, MessageDelivered: 5, "undelivered": 6, MessageFailed: 6, MessageSuppressed: 6,
}

// Message is one SMS or mail, keyed by the business event that caused it.
type Message struct {
	ID             int64      `json:"id"`
	IdempotencyKey string     `json:"idempotency_key"`
	EnrolmentID    *int64     `json:"enrolment_id"`
	CustomerID     int64      `json:"-"`
	Channel        string     `json:"channel"`
	Recipient      string     `json:"recipient"`
	Subject        string     `json:"subject,omitempty"`
	Body           string     `json:"body"`
	ProviderID     *string    `json:"provider_id"`
	Status         string     `json:"status"`
	ErrorCode      *string    `json:"error_code,omitempty"`
	ErrorMessage   *string    `json:"error_message,omitempty"`
	Attempts       int        `json:"attempts"`
	SendStartedAt  *time.Time `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

const messageCols = `id, idempotency_key, enrolment_id, customer_id, channel, recipient, subject, body, provider_id, status, error_code, error_message, attempts, send_started_at, created_at, updated_at`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.IdempotencyKey, &m.EnrolmentID, &m.CustomerID, &m.Channel, &m.Recipient, &m.Subject, &m.Body,
		&m.ProviderID, &m.Status, &m.ErrorCode, &m.ErrorMessage, &m.Attempts, &m.SendStartedAt, &m.CreatedAt, &m.UpdatedAt)
	return m, notFound(err)
}

// ClaimMessage inserts the message under its idempotency key, or returns
// the one already there: the unique key is what makes a retried send a
// no-op. The recipient and body of the first claim win.
func (s *Store) ClaimMessage(ctx context.Context, m Message) (Message, error) {
	got, err := scanMessage(s.pool.QueryRow(ctx, `
		INSERT INTO messages (idempotency_key, enrolment_id, customer_id, channel, recipient, subject, body, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (idempotency_key) DO NOTHING RETURNING `+messageCols,
		m.IdempotencyKey, m.EnrolmentID, m.CustomerID, m.Channel, m.Recipient, m.Subject, m.Body, MessagePending))
	if err == ErrNotFound {
		return scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE idempotency_key = $1`, m.IdempotencyKey))
	}
	if err == nil {
		err = s.addEvent(ctx, s.pool, got.ID, MessagePending, nil)
	}
	return got, err
}

func (s *Store) addEvent(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, id int64, status string, detail map[string]string) error {
	d, _ := json.Marshal(detail)
	if detail == nil {
		d = []byte("{}")
	}
	rows, err := q.Query(ctx, `INSERT INTO message_events (message_id, status, detail) VALUES ($1, $2, $3)`, id, status, d)
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// MarkSending records that the provider is about to be called. After this
// point a retry must ask the provider before sending again.
func (s *Store) MarkSending(ctx context.Context, id int64) (Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `UPDATE messages SET status = 'sending', attempts = attempts + 1,
		send_started_at = coalesce(send_started_at, now()), updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'sending') RETURNING `+messageCols, id))
	if err == nil {
		err = s.addEvent(ctx, s.pool, id, MessageSending, map[string]string{"attempt": itoa(m.Attempts)})
	}
	return m, err
}

// MarkAccepted stores the provider's id and first status.
func (s *Store) MarkAccepted(ctx context.Context, id int64, providerID, status string) (Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `UPDATE messages SET provider_id = $2, status = $3, updated_at = now()
		WHERE id = $1 RETURNING `+messageCols, id, providerID, status))
	if err == nil {
		err = s.addEvent(ctx, s.pool, id, status, map[string]string{"provider_id": providerID})
	}
	return m, err
}

// MarkFinal records a message that will not be sent: a permanent provider
// error (failed) or a rule that held it back (suppressed).
func (s *Store) MarkFinal(ctx context.Context, id int64, status, code, reason string) (Message, error) {
	m, err := scanMessage(s.pool.QueryRow(ctx, `UPDATE messages SET status = $2, error_code = $3, error_message = $4, updated_at = now()
		WHERE id = $1 RETURNING `+messageCols, id, status, code, reason))
	if err == nil {
		err = s.addEvent(ctx, s.pool, id, status, map[string]string{"code": code, "reason": reason})
	}
	return m, err
}

// RecordProviderStatus applies a delivery report. Reports can arrive out
// of order, so a status never moves backwards; every report is kept in the
// history. Unknown provider ids are ErrNotFound.
func (s *Store) RecordProviderStatus(ctx context.Context, providerID, status string, detail map[string]string) (Message, error) {
	var m Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		m, err = scanMessage(tx.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE provider_id = $1 FOR UPDATE`, providerID))
		if err != nil {
			return err
		}
		if err := s.addEvent(ctx, tx, m.ID, status, detail); err != nil {
			return err
		}
		if statusRank[status] <= statusRank[m.Status] {
			return nil
		}
		m, err = scanMessage(tx.QueryRow(ctx, `UPDATE messages SET status = $2, updated_at = now() WHERE id = $1 RETURNING `+messageCols, m.ID, status))
		return err
	})
	return m, err
}

// MessageEvent is one entry of a message's status history.
type MessageEvent struct {
	Status string            `json:"status"`
	Detail map[string]string `json:"detail"`
	At     time.Time         `json:"at"`
}

// MessageEvents returns a message's status history, oldest first.
func (s *Store) MessageEvents(ctx context.Context, id int64) ([]MessageEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, detail, at FROM message_events WHERE message_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (MessageEvent, error) {
		var e MessageEvent
		err := r.Scan(&e.Status, &e.Detail, &e.At)
		return e, err
	})
}

// EnrolmentMessages lists the messages of an enrolment.
func (s *Store) EnrolmentMessages(ctx context.Context, enrolmentID int64) ([]Message, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE enrolment_id = $1 ORDER BY id`, enrolmentID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
}

// MessageByKey loads a message by its idempotency key.
func (s *Store) MessageByKey(ctx context.Context, key string) (Message, error) {
	return scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE idempotency_key = $1`, key))
}
