package store

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErasedMarker is what an erased customer's message reasons read.
const ErasedMarker = "erased"

// erasedExternalID frees an erased customer's external id: the retailer
// may reuse it (a later PUT creates a new customer), and the id itself
// may be personal (stores often key customers by phone number). '#' is
// outside the API's external id alphabet, so no request can reach the
// erased row by it.
const erasedExternalIDPrefix = "#erased:"

// Erasure records that a customer's personal data was removed: which row,
// when and who asked, nothing about the person.
type Erasure struct {
	ID         int64     `json:"id"`
	CustomerID int64     `json:"-"`
	Actor      string    `json:"actor"`
	At         time.Time `json:"at"`
	FanOut     FanOut    `json:"fan_out"`
}

// safeEventKeys are the message event details that hold no personal data
// (ids, codes, where a report came from); everything else (provider error
// texts, reasons) is dropped from an erased customer's events.
var safeEventKeys = []string{"source", "provider_id", "error_code", "code"}

// EraseCustomer removes the personal data of the customer with externalID
// from every table, in one transaction, and records the erasure with a
// fan-out of signal (payload) to the customer's live enrolments, which the
// caller starts. What stays is ids, statuses, times, amounts and counts,
// so program reports and foreign keys are unchanged:
//
//   - customers: name, phone, email, birthday, country and consent
//     cleared, the external id freed, erased_at set;
//   - messages: recipient, subject, body and error text cleared; pending
//     and held ones suppressed ("erased"); their events keep only
//     safeEventKeys;
//   - call tasks: script and note cleared, open ones cancelled;
//   - voices: note cleared; survey links: token replaced, so a link
//     followed later answers 404 and records nothing;
//   - coupons: unredeemed ones expire now;
//   - consent history: the free-text source cleared (channel, grant,
//     time and actor stay, as proof of what was allowed when);
//   - the customer's other fan-outs: payloads (a birthday) cleared, running
//     ones superseded.
//
// Purchases (order ids, amounts, products, stores), statistics, grades,
// enrolments, coupon codes, consent notices and the cap's ledger hold no
// personal data once the customer row is anonymous, and stay. The
// customer's row is locked as UpsertCustomerAs locks it, so a concurrent
// PUT of the same external id runs before (and is erased) or after (and
// creates a new customer). ErrNotFound: no such customer (or already
// erased: the external id was freed).
func (s *Store) EraseCustomer(ctx context.Context, externalID, actor, signal string, payload json.RawMessage) (Erasure, error) {
	var e Erasure
	if payload == nil {
		payload = json.RawMessage("null")
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('customer:' || $1, 0))`, externalID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM customers WHERE external_id = $1 AND erased_at IS NULL FOR UPDATE`, externalID).Scan(&e.CustomerID); err != nil {
			return notFound(err)
		}
		id := e.CustomerID
		steps := []string{
			// Replies from the customer's phone (issue 8's inbound SMS) and
			// the mark of an invalid number carry the phone: before the
			// customer row forgets it.
			`UPDATE inbound_messages SET from_phone = '', body = '' WHERE $1 = ANY(customer_ids)`,
			`DELETE FROM invalid_phones WHERE phone = (SELECT phone FROM customers WHERE id = $1)`,
			`UPDATE customers SET external_id = '` + erasedExternalIDPrefix + `' || id, name = '', phone = NULL, email = NULL,
				birthday = NULL, country = NULL, consent = '{}', erased_at = now(), updated_at = now() WHERE id = $1`,
			`UPDATE messages SET status = 'suppressed', error_code = 'suppressed', not_before = NULL
				WHERE customer_id = $1 AND status IN ('pending', 'held')`,
			`UPDATE messages SET recipient = '', subject = '', body = '', unsubscribe_url = NULL,
				error_message = CASE WHEN error_message IS NULL AND status <> 'suppressed' THEN NULL ELSE '` + ErasedMarker + `' END,
				updated_at = now() WHERE customer_id = $1`,
			`UPDATE message_events SET detail = (SELECT coalesce(jsonb_object_agg(k, v), '{}'::jsonb) FROM jsonb_each(detail) AS d(k, v)
				WHERE k IN ('` + strings.Join(safeEventKeys, "','") + `'))
				WHERE message_id IN (SELECT id FROM messages WHERE customer_id = $1)`,
			`UPDATE call_tasks SET script = '', note = '', status = CASE WHEN status = 'open' THEN 'cancelled' ELSE status END
				WHERE customer_id = $1`,
			`UPDATE customer_voices SET note = '',
				source_ref = CASE WHEN source = 'survey' THEN 'survey:` + erasedExternalIDPrefix + `' || id ELSE source_ref END
				WHERE customer_id = $1`,
			`UPDATE survey_links SET token = '` + erasedExternalIDPrefix + `' || md5(token) WHERE customer_id = $1 AND token NOT LIKE '#%'`,
			`UPDATE coupons SET expires_at = least(expires_at, now()) WHERE customer_id = $1 AND redeemed_at IS NULL`,
			`UPDATE consent_events SET source = '` + ErasedMarker + `' WHERE customer_id = $1`,
			`UPDATE fanouts SET payload = 'null'::jsonb, updated_at = now(),
				status = CASE WHEN status = 'running' THEN 'superseded' ELSE status END,
				finished_at = CASE WHEN status = 'running' THEN now() ELSE finished_at END
				WHERE customer_id = $1`,
		}
		for _, q := range steps {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return err
			}
		}
		f, err := scanFanOut(tx.QueryRow(ctx, `
			INSERT INTO fanouts (customer_id, signal, payload, total)
			VALUES ($1, $2, $3, (SELECT count(*) FROM enrolments WHERE customer_id = $1 AND status <> 'ended'))
			RETURNING `+fanOutCols, id, signal, payload))
		if err != nil {
			return err
		}
		e.FanOut = f
		return tx.QueryRow(ctx, `INSERT INTO erasures (customer_id, fanout_id, actor) VALUES ($1, $2, $3) RETURNING id, actor, at`,
			id, f.ID, actor).Scan(&e.ID, &e.Actor, &e.At)
	})
	return e, err
}
