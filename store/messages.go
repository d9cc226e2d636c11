package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/domain"
)

// Error codes dangol itself records on a message (providers' codes are
// numbers).
const (
	// CodeDuplicateProviderID: the provider answered with a message SID
	// that another message already has.
	CodeDuplicateProviderID = "duplicate_provider_id"
	// CodeRetryBudget: the send was retried until its budget ran out.
	CodeRetryBudget = "retry_budget_exhausted"
	// CodeOutcomeUnknown: a mail's end of data was sent and no answer came.
	CodeOutcomeUnknown = "outcome_unknown"
)

// statusRank orders statuses so a late "sent" callback never overwrites
// "delivered"; terminal failures outrank everything. A status missing here
// (one Twilio adds later) ranks 0: kept in the history, never applied.
// ambiguous ranks below sent so that a late, definite answer replaces it.
var statusRank = map[string]int{
	domain.MessagePending: 0, domain.MessageHeld: 0, domain.MessageSending: 1, domain.MessageAccepted: 2, domain.MessageQueued: 2, "scheduled": 2,
	domain.MessageAmbiguous: 3, domain.MessageSent: 4, domain.MessageDelivered: 5, "read": 5, "partially_delivered": 5,
	domain.MessageUndelivered: 6, domain.MessageFailed: 6, domain.MessageSuppressed: 6, "canceled": 6,
}

// Message is one SMS or mail, keyed by the business event that caused it.
type Message struct {
	ID             int64   `json:"id"`
	IdempotencyKey string  `json:"idempotency_key"`
	EnrolmentID    *int64  `json:"enrolment_id"`
	CustomerID     int64   `json:"-"`
	Channel        string  `json:"channel"`
	Recipient      string  `json:"recipient"`
	Subject        string  `json:"subject,omitempty"`
	Body           string  `json:"body"`
	ProviderID     *string `json:"provider_id"`
	Status         string  `json:"status"`
	ErrorCode      *string `json:"error_code,omitempty"`
	ErrorMessage   *string `json:"error_message,omitempty"`
	Attempts       int     `json:"attempts"`
	// Purpose is marketing or service (compliance.Purpose*).
	Purpose string `json:"purpose"`
	// Segments and Encoding are the SMS as carriers count it.
	Segments *int    `json:"segments,omitempty"`
	Encoding *string `json:"encoding,omitempty"`
	// NotBefore is when a held message may go.
	NotBefore *time.Time `json:"not_before,omitempty"`
	// UnsubscribeURL is the one-click unsubscribe link of a marketing
	// mail (its List-Unsubscribe header), fixed at the claim so a retry
	// sends the same one; "" for none. It is the customer's key, so it
	// stays out of API answers.
	UnsubscribeURL string     `json:"-"`
	SendStartedAt  *time.Time `json:"-"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

const messageCols = `id, idempotency_key, enrolment_id, customer_id, channel, recipient, subject, body, provider_id, status, error_code, error_message, attempts, purpose, segments, encoding, not_before, send_started_at, created_at, updated_at, coalesce(unsubscribe_url, '')`

func scanMessage(row pgx.Row) (Message, error) {
	var m Message
	err := row.Scan(&m.ID, &m.IdempotencyKey, &m.EnrolmentID, &m.CustomerID, &m.Channel, &m.Recipient, &m.Subject, &m.Body,
		&m.ProviderID, &m.Status, &m.ErrorCode, &m.ErrorMessage, &m.Attempts, &m.Purpose, &m.Segments, &m.Encoding, &m.NotBefore,
		&m.SendStartedAt, &m.CreatedAt, &m.UpdatedAt, &m.UnsubscribeURL)
	return m, notFound(err)
}

func collectMessages(rows pgx.Rows, err error) ([]Message, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Message, error) { return scanMessage(r) })
}

// ClaimMessage inserts the message under its idempotency key, or returns
// the one already there: the unique key is what makes a retried send a
// no-op. The recipient and body of the first claim win. A new message
// and its first event are one statement.
func (s *Store) ClaimMessage(ctx context.Context, m Message) (Message, error) {
	got, err := scanMessage(s.pool.QueryRow(ctx, `
		WITH m AS (
			INSERT INTO messages (idempotency_key, enrolment_id, customer_id, channel, recipient, subject, body, status, purpose, segments, encoding, unsubscribe_url)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce(nullif($9, ''), 'service'), $10, $11, nullif($12, ''))
			ON CONFLICT (idempotency_key) DO NOTHING RETURNING `+messageCols+`),
		e AS (INSERT INTO message_events (message_id, status) SELECT id, $8 FROM m)
		SELECT * FROM m`,
		m.IdempotencyKey, m.EnrolmentID, m.CustomerID, m.Channel, m.Recipient, m.Subject, m.Body, domain.MessagePending,
		m.Purpose, m.Segments, m.Encoding, m.UnsubscribeURL))
	if err == ErrNotFound {
		return s.MessageByKey(ctx, m.IdempotencyKey)
	}
	return got, err
}

// updateMessage runs update, an UPDATE of one message that ends in its
// WHERE clause, and appends the event to the history of the message it
// changed, in one statement. ErrNotFound: it changed none.
func (s *Store) updateMessage(ctx context.Context, update string, args []any, status string, detail map[string]string) (Message, error) {
	d, err := json.Marshal(detail)
	if err != nil {
		return Message{}, err
	}
	n := len(args)
	return scanMessage(s.pool.QueryRow(ctx, `WITH m AS (`+update+` RETURNING `+messageCols+`),
		e AS (INSERT INTO message_events (message_id, status, detail) SELECT id, $`+itoa(n+1)+`, $`+itoa(n+2)+`::jsonb FROM m)
		SELECT * FROM m`, append(args, status, d)...))
}

type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

// addEvent appends to a message's history. An event with a dedupeKey the
// message already has is not added again, and added reports false.
func (s *Store) addEvent(ctx context.Context, q querier, id int64, status string, detail map[string]string, dedupeKey string) (added bool, err error) {
	d, _ := json.Marshal(detail)
	if detail == nil {
		d = []byte("{}")
	}
	var key *string
	if dedupeKey != "" {
		key = &dedupeKey
	}
	rows, err := q.Query(ctx, `INSERT INTO message_events (message_id, status, detail, dedupe_key) VALUES ($1, $2, $3, $4)
		ON CONFLICT (message_id, dedupe_key) DO NOTHING RETURNING id`, id, status, d, key)
	if err != nil {
		return false, err
	}
	for rows.Next() {
		added = true
	}
	return added, rows.Err()
}

// NoteAttemptFailed keeps, in the history of a message still being sent,
// why an attempt failed that will be retried (the provider's 5xx, a
// timeout), so the reason survives an attempt that later fails for want
// of time. It changes no status.
func (s *Store) NoteAttemptFailed(ctx context.Context, id int64, attempt int32, reason string) error {
	_, err := s.addEvent(ctx, s.pool, id, domain.MessageSending, map[string]string{"attempt_failed": reason}, fmt.Sprintf("attempt-failed:%d", attempt))
	return err
}

// Hold records that a rule holds the message until notBefore (reason:
// quiet hours, capped, ...). Only a message nothing was sent for can be
// held.
func (s *Store) Hold(ctx context.Context, id int64, reason string, notBefore time.Time) (Message, error) {
	return s.updateMessage(ctx, `UPDATE messages SET status = 'held', error_code = 'held', error_message = $2,
		not_before = $3, updated_at = now() WHERE id = $1 AND status IN ('pending', 'held')`, []any{id, reason, notBefore},
		domain.MessageHeld, map[string]string{"reason": reason, "not_before": notBefore.UTC().Format(time.RFC3339)})
}

// Unhold makes a held message pending again with its text rendered anew
// (settings or templates may have changed while it waited), so the send
// path runs its rules once more. A message that is not held is returned
// as it is.
func (s *Store) Unhold(ctx context.Context, m Message) (Message, error) {
	got, err := scanMessage(s.pool.QueryRow(ctx, `UPDATE messages SET status = 'pending', error_code = NULL, error_message = NULL,
		not_before = NULL, recipient = $2, subject = $3, body = $4, purpose = coalesce(nullif($5, ''), purpose), segments = $6, encoding = $7,
		unsubscribe_url = nullif($8, ''), updated_at = now() WHERE id = $1 AND status = 'held' RETURNING `+messageCols,
		m.ID, m.Recipient, m.Subject, m.Body, m.Purpose, m.Segments, m.Encoding, m.UnsubscribeURL))
	if err == ErrNotFound {
		return s.MessageByID(ctx, m.ID)
	}
	return got, err
}

// MarkSending records that the provider is about to be called. After this
// point a retry must ask the provider before sending again.
func (s *Store) MarkSending(ctx context.Context, id int64) (Message, error) {
	return s.markSending(ctx, id, `status IN ('pending', 'sending')`)
}

// MarkSendingOnce is MarkSending for a channel that cannot be asked
// afterwards whether it took the message (mail): only a pending message
// can start, so of two attempts running at once only one goes past this
// point. ErrConflict means another attempt got there first.
func (s *Store) MarkSendingOnce(ctx context.Context, id int64) (Message, error) {
	m, err := s.markSending(ctx, id, `status = 'pending'`)
	if err == ErrNotFound {
		return m, fmt.Errorf("message %d is no longer pending: %w", id, ErrConflict)
	}
	return m, err
}

func (s *Store) markSending(ctx context.Context, id int64, from string) (Message, error) {
	return scanMessage(s.pool.QueryRow(ctx, `WITH m AS (`+markSendingSQL(from)+`)
		SELECT * FROM m`, id))
}

// markSendingSQL marks message $1 sending if it is in a state from
// allows, and appends the attempt to its history: a data-modifying WITH
// item (its own statement, or part of a larger one).
func markSendingSQL(from string) string {
	return `UPDATE messages SET status = 'sending', attempts = attempts + 1,
		send_started_at = coalesce(send_started_at, now()), updated_at = now()
		WHERE id = $1 AND ` + from + ` RETURNING ` + messageCols + `),
		sending_event AS (INSERT INTO message_events (message_id, status, detail)
			SELECT id, 'sending', jsonb_build_object('attempt', attempts::text) FROM m`
}

// MarkNotSent puts a message that was marked sending back to pending: the
// channel answered that it did not take it, so a retry may send.
func (s *Store) MarkNotSent(ctx context.Context, id int64, reason string) (Message, error) {
	return s.updateMessage(ctx, `UPDATE messages SET status = 'pending', updated_at = now()
		WHERE id = $1 AND status = 'sending'`, []any{id}, domain.MessagePending, map[string]string{"not_sent": reason})
}

// MarkAmbiguous records that a message may or may not have gone out (an
// SMTP exchange cut after the end of data, or a crash in that window). It
// is final: dangol does not send it again.
func (s *Store) MarkAmbiguous(ctx context.Context, id int64, reason string) (Message, error) {
	return s.updateMessage(ctx, `UPDATE messages SET status = 'ambiguous', error_code = $2, error_message = $3, updated_at = now()
		WHERE id = $1 AND status = 'sending'`, []any{id, CodeOutcomeUnknown, reason},
		domain.MessageAmbiguous, map[string]string{"code": CodeOutcomeUnknown, "reason": reason})
}

// adoptable reports whether a message without a provider id may take the
// one a provider reports for it: it is still being sent, or dangol gave
// up on it only because its retries ran out.
func adoptable(m Message) bool {
	return m.ProviderID == nil && (m.Status == domain.MessagePending || m.Status == domain.MessageSending ||
		m.Status == domain.MessageAmbiguous || (m.Status == domain.MessageFailed && m.ErrorCode != nil && *m.ErrorCode == CodeRetryBudget))
}

// MarkAccepted stores the provider's id and first status. It never moves
// the status backwards (a status callback may have been faster). A
// provider id that another message already has is not stored: the
// message is recorded failed with that reason, since the provider gave no
// id of its own to follow it by.
func (s *Store) MarkAccepted(ctx context.Context, id int64, providerID, status string) (Message, error) {
	// The usual answer, for a message being sent that has no provider id
	// and a provider id no message has, is one statement; anything else
	// (a callback was faster, a repeated id, a settled message) is judged
	// under the row's lock below.
	m, err := s.updateMessage(ctx, `UPDATE messages SET provider_id = $2, status = $3, error_code = NULL, error_message = NULL, updated_at = now()
		WHERE id = $1 AND provider_id IS NULL AND status IN ('pending', 'sending')
		  AND NOT EXISTS (SELECT 1 FROM messages o WHERE o.provider_id = $2)`, []any{id, providerID, status},
		status, map[string]string{"provider_id": providerID})
	if err == nil || (err != ErrNotFound && !isUniqueViolation(err)) {
		return m, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if m, err = scanMessage(tx.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1 FOR UPDATE`, id)); err != nil {
			return err
		}
		switch {
		case m.ProviderID != nil && *m.ProviderID == providerID:
			// Adopted from a status callback already.
		case m.ProviderID != nil:
			// Two provider messages for one of ours: keep the first id,
			// and the second in the history for whoever investigates.
			_, err = s.addEvent(ctx, tx, id, status, map[string]string{"provider_id": providerID, "ignored": "message already has provider id " + *m.ProviderID}, "")
			return err
		default:
			var other int64
			err := tx.QueryRow(ctx, `SELECT id FROM messages WHERE provider_id = $1 AND id <> $2`, providerID, id).Scan(&other)
			if err == nil {
				reason := fmt.Sprintf("provider returned a SID already used by message %d", other)
				m, err = scanMessage(tx.QueryRow(ctx, `UPDATE messages SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
					WHERE id = $1 RETURNING `+messageCols, id, CodeDuplicateProviderID, reason))
				if err != nil {
					return err
				}
				_, err = s.addEvent(ctx, tx, id, domain.MessageFailed, map[string]string{"code": CodeDuplicateProviderID, "reason": reason, "provider_id": providerID}, "")
				return err
			}
			if notFound(err) != ErrNotFound {
				return err
			}
		}
		newStatus := m.Status
		if statusRank[status] > statusRank[m.Status] || adoptable(m) {
			newStatus = status
		}
		m, err = scanMessage(tx.QueryRow(ctx, `UPDATE messages SET provider_id = $2, status = $3, updated_at = now(),
			error_code = CASE WHEN $4 THEN NULL ELSE error_code END, error_message = CASE WHEN $4 THEN NULL ELSE error_message END
			WHERE id = $1 RETURNING `+messageCols, id, providerID, newStatus, adoptable(m)))
		if err != nil {
			return err
		}
		_, err = s.addEvent(ctx, tx, id, status, map[string]string{"provider_id": providerID}, "")
		return err
	})
	return m, err
}

// MarkFinal records a message that will not be sent: a permanent provider
// error (failed) or a rule that held it back (suppressed).
func (s *Store) MarkFinal(ctx context.Context, id int64, status, code, reason string) (Message, error) {
	return s.updateMessage(ctx, `UPDATE messages SET status = $2, error_code = $3, error_message = $4, updated_at = now()
		WHERE id = $1`, []any{id, status, code, reason}, status, map[string]string{"code": code, "reason": reason})
}

// GiveUp records a message whose sending stopped without an answer (its
// retries ran out, a worker died on the last one): failed with the reason,
// if it is still pending or sending. ErrNotFound: it is not (any more).
func (s *Store) GiveUp(ctx context.Context, id int64, reason string) (Message, error) {
	return s.updateMessage(ctx, `UPDATE messages SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
		WHERE id = $1 AND status IN ('pending', 'sending')`, []any{id, CodeRetryBudget, reason},
		domain.MessageFailed, map[string]string{"code": CodeRetryBudget, "reason": reason})
}

// ProviderReport is what the provider says about one of its messages: a
// status callback, or the answer to asking it (reconciliation).
type ProviderReport struct {
	// MessageID is dangol's message the report is about, when the report
	// says so (a per-message callback URL); 0: find it by ProviderID.
	MessageID    int64
	ProviderID   string
	Status       string
	ErrorCode    string
	ErrorMessage string
	// Source says where the report came from (twilio, reconcile).
	Source string
}

// dedupeKey names the provider event: the same message, status and error
// reported twice (a replayed callback, or a callback and a fetch) is one
// event.
func (r ProviderReport) dedupeKey() string {
	return "provider:" + r.ProviderID + ":" + r.Status + ":" + r.ErrorCode
}

// ApplyProviderReport applies a delivery report. Reports can arrive out
// of order, so a status never moves backwards; each distinct report is
// kept in the history once, whatever the number of deliveries.
//
// A report naming a message that has no provider id yet (the process died
// between the provider's answer and recording it) gives it that id, unless
// another message has it. A report for an unknown provider id is
// ErrNotFound.
func (s *Store) ApplyProviderReport(ctx context.Context, r ProviderReport) (Message, error) {
	var m Message
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		if r.MessageID == 0 {
			m, err = scanMessage(tx.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE provider_id = $1 FOR UPDATE`, r.ProviderID))
		} else {
			m, err = scanMessage(tx.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1 FOR UPDATE`, r.MessageID))
		}
		if err != nil {
			return err
		}
		// A provider's error text may name the number; an erased
		// customer's message has no recipient left to look for, so its
		// text is not kept at all.
		if m.Recipient == "" {
			r.ErrorMessage = ""
		}
		r.ErrorMessage = Redact(r.ErrorMessage, m.Recipient)
		detail := map[string]string{"source": r.Source, "provider_id": r.ProviderID}
		if r.ErrorCode != "" {
			detail["error_code"] = r.ErrorCode
		}
		if r.ErrorMessage != "" {
			detail["error_message"] = r.ErrorMessage
		}
		adopt := false
		switch {
		case m.ProviderID != nil && *m.ProviderID == r.ProviderID:
		case m.ProviderID != nil:
			detail["ignored"] = "message has provider id " + *m.ProviderID
		case !adoptable(m):
			detail["ignored"] = "message is " + m.Status + " without a provider id"
		default:
			var other int64
			err := tx.QueryRow(ctx, `SELECT id FROM messages WHERE provider_id = $1`, r.ProviderID).Scan(&other)
			if err == nil {
				detail["ignored"] = fmt.Sprintf("provider id belongs to message %d", other)
			} else if notFound(err) != ErrNotFound {
				return err
			} else {
				adopt = true
			}
		}
		added, err := s.addEvent(ctx, tx, m.ID, r.Status, detail, r.dedupeKey())
		if err != nil || !added || detail["ignored"] != "" {
			return err
		}
		var status string
		switch {
		case adopt && statusRank[r.Status] > statusRank[domain.MessageSending]:
			status = r.Status
		case adopt:
			// The provider has it, whatever it calls its state.
			status = domain.MessageQueued
		case statusRank[r.Status] > statusRank[m.Status]:
			status = r.Status
		default:
			return nil
		}
		code, reason := m.ErrorCode, m.ErrorMessage
		if adopt {
			code, reason = nil, nil
		}
		if status == domain.MessageFailed || status == domain.MessageUndelivered {
			if r.ErrorCode != "" {
				code = &r.ErrorCode
			}
			if r.ErrorMessage != "" {
				reason = &r.ErrorMessage
			}
		}
		m, err = scanMessage(tx.QueryRow(ctx, `UPDATE messages SET status = $2, provider_id = $3, error_code = $4, error_message = $5, updated_at = now()
			WHERE id = $1 RETURNING `+messageCols, m.ID, status, r.ProviderID, code, reason))
		return err
	})
	return m, err
}

// unsettled lists the statuses after which a provider still owes a final
// answer (the reconcile job asks it); the partial index of migration 003
// has the same list.
const unsettled = `'sending', 'accepted', 'queued', 'sent'`

// UnsettledSMS returns up to limit SMS the provider has accepted but not
// reported final, unchanged for at least quietFor and created within
// maxAge, those never or least recently checked first.
func (s *Store) UnsettledSMS(ctx context.Context, quietFor, maxAge time.Duration, limit int) ([]Message, error) {
	return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE channel = 'sms' AND provider_id IS NOT NULL AND status IN (`+unsettled+`)
		  AND updated_at < now() - $1::float8 * interval '1 second' AND created_at > now() - $2::float8 * interval '1 second'
		  AND (checked_at IS NULL OR checked_at < now() - $1::float8 * interval '1 second')
		ORDER BY checked_at NULLS FIRST, updated_at LIMIT $3`, quietFor.Seconds(), maxAge.Seconds(), limit))
}

// MarkChecked records that the provider was asked about a message now.
func (s *Store) MarkChecked(ctx context.Context, id int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE messages SET checked_at = now() WHERE id = $1`, id)
	return err
}

// InFlight returns up to limit messages still pending or sending that
// were created more than olderThan ago, oldest first.
func (s *Store) InFlight(ctx context.Context, olderThan time.Duration, limit int) ([]Message, error) {
	return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages
		WHERE status IN ('pending', 'sending') AND created_at < now() - $1::float8 * interval '1 second'
		ORDER BY created_at LIMIT $2`, olderThan.Seconds(), limit))
}

// MessageByID loads a message.
func (s *Store) MessageByID(ctx context.Context, id int64) (Message, error) {
	return scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE id = $1`, id))
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
	return collectMessages(s.pool.Query(ctx, `SELECT `+messageCols+` FROM messages WHERE enrolment_id = $1 ORDER BY id`, enrolmentID))
}

// MessageByKey loads a message by its idempotency key.
func (s *Store) MessageByKey(ctx context.Context, key string) (Message, error) {
	return scanMessage(s.pool.QueryRow(ctx, `SELECT `+messageCols+` FROM messages WHERE idempotency_key = $1`, key))
}
