package store

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/domain"
)

// SourceOptOutList is the consent source of a withdrawal from an 080
// opt-out list whose row names none.
const SourceOptOutList = "080"

// OptOutChannels are the consents an 080 opt-out withdraws: the caller
// proved the phone number is theirs by calling from it, and it is the
// number SMS and calls reach; a mailbox is not named by the list (mail has
// its own unsubscribe link).
var OptOutChannels = []string{domain.ChannelSMS, domain.ChannelCall}

// OptOut is one row of an 080 opt-out list, already validated: a
// normalised E.164 phone, when the customer called, and the source.
type OptOut struct {
	Phone  string
	At     time.Time
	Source string
}

// OptOutResult is what became of one row: how many customers have its
// phone, and how many of them this row withdrew consent from (0 when a
// row earlier in the list, or an earlier list, already did, or the
// customer gave consent again after the call).
type OptOutResult struct {
	Customers int
	Withdrawn int
}

// optOutBatch bounds the customers one transaction locks: each customer's
// advisory lock takes a slot of PostgreSQL's shared lock table (by default
// 64 per connection), so a whole 10,000-row list cannot be one transaction.
const optOutBatch = 500

// ApplyOptOuts withdraws the OptOutChannels consent of every customer
// whose phone is on the list, as actor, set-based: one lookup, then per
// batch of customers one transaction that takes their advisory locks (the
// lock UpsertCustomerAs takes, so no concurrent update loses the
// withdrawal or is lost by it) and withdraws and records the events in one
// statement. A consent is withdrawn only when it was given at or before
// the row's time: a customer who consented again after calling keeps it.
// A phone listed twice counts from its earliest call. A replayed list
// changes nothing and records nothing. results is per row of list;
// optedOut are the customers it left with no channel who have live
// enrolments (to be told at once).
func (s *Store) ApplyOptOuts(ctx context.Context, list []OptOut, actor string) (results []OptOutResult, optedOut []int64, err error) {
	results = make([]OptOutResult, len(list))
	// The row each phone counts from.
	first := map[string]int{}
	for i, o := range list {
		if j, ok := first[o.Phone]; !ok || o.At.Before(list[j].At) {
			first[o.Phone] = i
		}
	}
	if len(first) == 0 {
		return results, nil, nil
	}
	phones := make([]string, 0, len(first))
	for p := range first {
		phones = append(phones, p)
	}
	type match struct {
		id       int64
		external string
		phone    string
	}
	rows, err := s.pool.Query(ctx, `SELECT id, external_id, phone FROM customers WHERE phone = ANY($1::text[])`, phones)
	if err != nil {
		return nil, nil, err
	}
	matches, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (match, error) {
		var m match
		return m, r.Scan(&m.id, &m.external, &m.phone)
	})
	if err != nil {
		return nil, nil, err
	}
	perPhone := map[string]int{}
	for _, m := range matches {
		perPhone[m.phone]++
	}
	for i, o := range list {
		results[i].Customers = perPhone[o.Phone]
	}
	// Locks are taken in external id order, in every batch, so two lists
	// applied at once cannot deadlock.
	slices.SortFunc(matches, func(a, b match) int { return strings.Compare(a.external, b.external) })
	for batch := range slices.Chunk(matches, optOutBatch) {
		var (
			ids       = make([]int64, len(batch))
			externals = make([]string, len(batch))
			bphones   = make([]string, len(batch))
			ats       = make([]string, len(batch))
			sources   = make([]string, len(batch))
		)
		for i, m := range batch {
			o := list[first[m.phone]]
			ids[i], externals[i], bphones[i] = m.id, m.external, m.phone
			ats[i], sources[i] = o.At.UTC().Format(time.RFC3339Nano), o.Source
		}
		err := s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('customer:' || x, 0)) FROM unnest($1::text[]) AS x`, externals); err != nil {
				return err
			}
			// Under the locks, the phone is checked again: a customer
			// whose number changed meanwhile is not this caller.
			rows, err := tx.Query(ctx, `
				WITH input AS (
					SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS i(id, phone, at, source)
				), target AS (
					SELECT c.id, ch, i.at, i.source
					FROM input i JOIN customers c ON c.id = i.id AND c.phone = i.phone
					CROSS JOIN unnest($5::text[]) AS ch
					WHERE c.consent -> ch ->> 'granted' = 'true'
					  AND coalesce((c.consent -> ch ->> 'at')::timestamptz, '-infinity') <= i.at::timestamptz
				), patch AS (
					SELECT id, jsonb_object_agg(ch, jsonb_build_object('granted', false, 'at', at, 'source', source)) AS consent
					FROM target GROUP BY id
				), updated AS (
					UPDATE customers c SET consent = c.consent || p.consent, updated_at = now()
					FROM patch p WHERE c.id = p.id
					RETURNING c.id, c.consent
				), events AS (
					INSERT INTO consent_events (customer_id, channel, granted, at, source, actor)
					SELECT id, ch, false, at::timestamptz, source, $6 FROM target ORDER BY id, ch
				)
				SELECT u.id,
					NOT EXISTS (SELECT 1 FROM jsonb_each(u.consent) e WHERE e.key <> 'night' AND e.value ->> 'granted' = 'true')
					AND EXISTS (SELECT 1 FROM enrolments en WHERE en.customer_id = u.id AND en.status <> 'ended')
				FROM updated u`, ids, bphones, ats, sources, OptOutChannels, actor)
			if err != nil {
				return err
			}
			changed := map[int64]bool{}
			var id int64
			var left bool
			_, err = pgx.ForEachRow(rows, []any{&id, &left}, func() error {
				changed[id] = true
				if left {
					optedOut = append(optedOut, id)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for i, m := range batch {
				if changed[ids[i]] {
					results[first[m.phone]].Withdrawn++
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return results, optedOut, nil
}
