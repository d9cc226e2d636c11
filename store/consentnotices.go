package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/domain"
)

// Kinds of consent notice.
const (
	// NoticeReconfirm tells a customer, every reconfirmation period
	// counted from their consent, that they consented to advertising and
	// how to withdraw (정보통신망법 §50(8), 시행령 §62-3).
	NoticeReconfirm = "reconfirm"
	// NoticeChange tells a customer the result of a consent change made
	// on their behalf: one consent_events row recorded by an API key (not
	// by the customer themselves, and not by dangol or a tool, actor
	// "system").
	NoticeChange = "change"
)

// Where a customer stands in the current reconfirmation cycle
// (GET /v1/consents:due).
const (
	NoticeStatusDue         = "due"         // no notice for this cycle yet
	NoticeStatusSending     = "sending"     // the notice is with the provider
	NoticeStatusNotified    = "notified"    // sent or delivered
	NoticeStatusUndelivered = "undelivered" // failed, suppressed, undelivered, or no message could be made
)

// NoticeStatuses are the statuses in the order they are reported.
var NoticeStatuses = []string{NoticeStatusDue, NoticeStatusSending, NoticeStatusNotified, NoticeStatusUndelivered}

// AdvertisingChannels are the channels whose consent is consent to
// advertising; the latest grant among them starts the reconfirmation
// cycle.
var AdvertisingChannels = []string{domain.ChannelSMS, domain.ChannelEmail}

// MaxConsentsDueLimit bounds a page of due consents.
const MaxConsentsDueLimit = 500

// ConsentsDueQuery selects customers whose reconfirmation notice of the
// current cycle has fallen due, by customer id after AfterCustomerID.
type ConsentsDueQuery struct {
	Now        time.Time
	PeriodDays int
	// Status, when set, keeps only customers with that status.
	Status          string
	AfterCustomerID int64
	Limit           int
}

// ConsentDue is one customer due a reconfirmation notice.
type ConsentDue struct {
	CustomerID  int64     `json:"-"`
	ExternalID  string    `json:"customer_id"`
	ConsentedAt time.Time `json:"consented_at"`
	// DueOn is the day (UTC) the current cycle's notice fell due:
	// ConsentedAt plus a whole number of periods.
	DueOn    string   `json:"due_on"`
	Channels []string `json:"channels"`
	Status   string   `json:"status"`
	// NoticeChannel is where a notice goes: SMS if the customer has a
	// phone number, else mail.
	NoticeChannel string       `json:"-"`
	LastNotice    *NoticeState `json:"last_notice"`
}

// NoticeState is the customer's latest reconfirmation notice.
type NoticeState struct {
	DueOn         string    `json:"due_on"`
	Channel       string    `json:"channel"`
	MessageID     *int64    `json:"message_id"`
	MessageStatus *string   `json:"message_status"`
	At            time.Time `json:"at"`
}

// consentsDueFrom is the set of customers due, with their status; $1 is
// now, $2 the period in seconds. The consent date is the latest grant of
// an advertising channel still granted; an "at" that is not an RFC 3339
// time is ignored, so one bad record cannot fail the query.
const consentsDueFrom = `
	FROM customers cu
	CROSS JOIN LATERAL (
		SELECT max((v.value->>'at')::timestamptz) AS consented_at, array_agg(v.key ORDER BY v.key) AS channels
		FROM jsonb_each(CASE WHEN jsonb_typeof(cu.consent) = 'object' THEN cu.consent ELSE '{}'::jsonb END) v
		WHERE v.key IN ('sms', 'email') AND v.value->'granted' = 'true'::jsonb
		  AND v.value->>'at' ~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$'
	) g
	CROSS JOIN LATERAL (
		SELECT ((g.consented_at + floor(extract(epoch FROM $1::timestamptz - g.consented_at) / $2::float8) * $2::float8 * interval '1 second')
			AT TIME ZONE 'UTC')::date AS due_on
	) d
	LEFT JOIN LATERAL (
		SELECT n.due_on, n.channel, n.message_id, n.created_at FROM consent_notices n
		WHERE n.customer_id = cu.id AND n.kind = 'reconfirm' ORDER BY n.due_on DESC LIMIT 1
	) n ON true
	LEFT JOIN messages m ON m.id = n.message_id
	CROSS JOIN LATERAL (
		SELECT CASE
			WHEN n.due_on IS NULL OR n.due_on < d.due_on THEN 'due'
			WHEN n.message_id IS NULL OR m.status IN ('failed', 'suppressed', 'undelivered', 'canceled') THEN 'undelivered'
			WHEN m.status IN ('pending', 'held', 'sending', 'accepted', 'queued', 'scheduled') THEN 'sending'
			ELSE 'notified' END AS status
	) st
	WHERE g.consented_at <= $1::timestamptz - $2::float8 * interval '1 second'`

// maxReconfirmDays bounds the period the store computes with (ten years),
// whatever the settings document holds.
const maxReconfirmDays = 3650

func periodSeconds(days int) (float64, error) {
	if days < 1 || days > maxReconfirmDays {
		return 0, fmt.Errorf("reconfirmation period %d days: must be 1-%d", days, maxReconfirmDays)
	}
	return float64(days) * 86400, nil
}

// ConsentsDue returns up to q.Limit (at most MaxConsentsDueLimit)
// customers due a reconfirmation notice, by customer id.
func (s *Store) ConsentsDue(ctx context.Context, q ConsentsDueQuery) ([]ConsentDue, error) {
	period, err := periodSeconds(q.PeriodDays)
	if err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Limit > MaxConsentsDueLimit {
		return nil, fmt.Errorf("limit %d: must be 1-%d", q.Limit, MaxConsentsDueLimit)
	}
	rows, err := s.pool.Query(ctx, `SELECT cu.id, cu.external_id, g.consented_at, g.channels, d.due_on, st.status,
		CASE WHEN coalesce(cu.phone, '') <> '' THEN 'sms' ELSE 'email' END,
		n.due_on, n.channel, n.message_id, m.status, n.created_at`+consentsDueFrom+`
		  AND cu.id > $3 AND ($4 = '' OR st.status = $4)
		ORDER BY cu.id LIMIT $5`, q.Now, period, q.AfterCustomerID, q.Status, q.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ConsentDue, error) {
		var c ConsentDue
		var dueOn time.Time
		var lastDue *time.Time
		var lastChannel *string
		var lastAt *time.Time
		var n NoticeState
		err := r.Scan(&c.CustomerID, &c.ExternalID, &c.ConsentedAt, &c.Channels, &dueOn, &c.Status, &c.NoticeChannel,
			&lastDue, &lastChannel, &n.MessageID, &n.MessageStatus, &lastAt)
		if err != nil {
			return c, err
		}
		c.DueOn = dueOn.Format(time.DateOnly)
		if lastDue != nil {
			n.DueOn, n.Channel, n.At = lastDue.Format(time.DateOnly), *lastChannel, *lastAt
			c.LastNotice = &n
		}
		return c, nil
	})
}

// countTimeout bounds the count of due consents, which reads every
// customer: an answer that would take longer is an error, not a stuck
// request.
const countTimeout = "10s"

// CountConsentsDue counts the customers due a reconfirmation notice by
// status (every status present, zero included).
func (s *Store) CountConsentsDue(ctx context.Context, now time.Time, periodDays int) (map[string]int64, error) {
	period, err := periodSeconds(periodDays)
	if err != nil {
		return nil, err
	}
	counts := make(map[string]int64, len(NoticeStatuses))
	for _, st := range NoticeStatuses {
		counts[st] = 0
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = '`+countTimeout+`'`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT st.status, count(*)`+consentsDueFrom+` GROUP BY st.status`, now, period)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var st string
			var n int64
			if err := rows.Scan(&st, &n); err != nil {
				return err
			}
			counts[st] = n
		}
		return rows.Err()
	})
	return counts, err
}

// ChangeNotice is a consent change made on a customer's behalf that the
// customer has not been told of yet.
type ChangeNotice struct {
	EventID    int64
	CustomerID int64
	// Channel is where the notice goes (SMS if the customer has a phone
	// number, else mail), not the channel that changed.
	Channel string
}

// PendingChangeNotices returns up to limit consent changes recorded by
// someone other than the customer with no notice yet, by event id after
// afterEventID.
func (s *Store) PendingChangeNotices(ctx context.Context, afterEventID int64, limit int) ([]ChangeNotice, error) {
	if limit < 1 || limit > MaxConsentsDueLimit {
		return nil, fmt.Errorf("limit %d: must be 1-%d", limit, MaxConsentsDueLimit)
	}
	rows, err := s.pool.Query(ctx, `SELECT e.id, e.customer_id, CASE WHEN coalesce(cu.phone, '') <> '' THEN 'sms' ELSE 'email' END
		FROM consent_events e JOIN customers cu ON cu.id = e.customer_id
		WHERE e.id > $1 AND e.actor NOT IN ('customer', 'system')
		  AND NOT EXISTS (SELECT 1 FROM consent_notices n WHERE n.kind = 'change' AND n.consent_event_id = e.id)
		ORDER BY e.id LIMIT $2`, afterEventID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ChangeNotice, error) {
		var c ChangeNotice
		err := r.Scan(&c.EventID, &c.CustomerID, &c.Channel)
		return c, err
	})
}

// ConsentEventByID loads a consent change.
func (s *Store) ConsentEventByID(ctx context.Context, id int64) (ConsentEvent, error) {
	var e ConsentEvent
	err := s.pool.QueryRow(ctx, `SELECT id, customer_id, channel, granted, at, source, actor, recorded_at FROM consent_events WHERE id = $1`, id).
		Scan(&e.ID, &e.CustomerID, &e.Channel, &e.Granted, &e.At, &e.Source, &e.Actor, &e.RecordedAt)
	return e, notFound(err)
}

// ConsentNotice is a notice that was sent (or could not be): its business
// key and the message that carried it.
type ConsentNotice struct {
	CustomerID int64
	Kind       string
	DueOn      string // reconfirm: YYYY-MM-DD
	EventID    int64  // change: the consent_events row
	Channel    string
	// MessageKey is the message's idempotency key; the message, if one
	// was made under it, is linked.
	MessageKey string
}

// RecordConsentNotice records a notice once: a second call with the same
// business key changes nothing. The message made under its key, if any,
// is linked; with none, the notice counts as undelivered.
func (s *Store) RecordConsentNotice(ctx context.Context, n ConsentNotice) error {
	var due *string
	var event *int64
	switch n.Kind {
	case NoticeReconfirm:
		if _, err := time.Parse(time.DateOnly, n.DueOn); err != nil {
			return fmt.Errorf("consent notice: due date %q: %w", n.DueOn, err)
		}
		due = &n.DueOn
	case NoticeChange:
		event = &n.EventID
	default:
		return fmt.Errorf("consent notice: kind %q", n.Kind)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO consent_notices (customer_id, kind, due_on, consent_event_id, message_key, message_id, channel)
		VALUES ($1, $2, $3::date, $4, $5, (SELECT id FROM messages WHERE idempotency_key = $5), $6)
		ON CONFLICT DO NOTHING`, n.CustomerID, n.Kind, due, event, n.MessageKey, n.Channel)
	return err
}
