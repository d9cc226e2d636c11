package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/audience"
)

// ForecastSampleSize bounds what one forecast reads: at most this many
// customers of an audience, or purchases of the lookback, chosen by a hash
// of their id (the same sample every time while the data stands); the
// counts say how many they stand for.
const ForecastSampleSize = 20000

// ForecastAudience counts the customers f selects at now (not erased)
// and returns up to limit of them, a deterministic sample (by a hash of
// the id). Count and sample come from one snapshot.
func (s *Store) ForecastAudience(ctx context.Context, f audience.Filter, now time.Time, limit int) (count int64, sample []Customer, err error) {
	q, err := audience.Compile(f, now, 1)
	if err != nil {
		return 0, nil, err
	}
	limit = min(max(limit, 1), ForecastSampleSize)
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+audienceFrom+` WHERE c.erased_at IS NULL AND `+q.Where, q.Args...).Scan(&count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT `+customerColsC+` FROM `+audienceFrom+` WHERE c.erased_at IS NULL AND `+q.Where+
			` ORDER BY md5(c.id::text) LIMIT `+itoa(limit), q.Args...)
		if err != nil {
			return err
		}
		sample, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Customer, error) { return scanCustomer(r) })
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("forecast audience: %w", err)
	}
	return count, sample, nil
}

// ForecastPurchaseQuery asks for the purchases that would have enrolled
// customers in an event program over [Since, Until).
type ForecastPurchaseQuery struct {
	Since, Until time.Time
	// Categories and Products restrict the purchases (any, case-blind,
	// when empty), as programs.HappyCall.Qualifies does.
	Categories, Products []string
	// FirstOnly keeps each customer's first purchase ever (a second
	// purchase program's enrolments).
	FirstOnly bool
	Limit     int
}

// ForecastPurchase is a purchase of the sample with its customer.
type ForecastPurchase struct {
	Store       string
	PurchasedAt time.Time
	Customer    Customer
}

// ForecastPurchases counts the purchases q selects of customers not
// erased and returns up to q.Limit of them (a deterministic sample by a
// hash of the id) with their customers, from one snapshot. The range is
// read by purchases_purchased_at_idx (016_forecast).
func (s *Store) ForecastPurchases(ctx context.Context, q ForecastPurchaseQuery) (count int64, sample []ForecastPurchase, err error) {
	limit := min(max(q.Limit, 1), ForecastSampleSize)
	lower := func(vs []string) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = strings.ToLower(v)
		}
		return out
	}
	where := `p.purchased_at >= $1 AND p.purchased_at < $2 AND c.erased_at IS NULL
		AND (cardinality($3::text[]) = 0 OR lower(p.category) = ANY($3))
		AND (cardinality($4::text[]) = 0 OR lower(p.product) = ANY($4))`
	if q.FirstOnly {
		where += ` AND NOT EXISTS (SELECT 1 FROM purchases e WHERE e.customer_id = p.customer_id
			AND (e.purchased_at < p.purchased_at OR (e.purchased_at = p.purchased_at AND e.id < p.id)))`
	}
	from := ` FROM purchases p JOIN customers c ON c.id = p.customer_id WHERE ` + where
	args := []any{q.Since, q.Until, lower(q.Categories), lower(q.Products)}
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT count(*)`+from, args...).Scan(&count); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT p.store, p.purchased_at, `+customerColsC+from+` ORDER BY md5(p.id::text) LIMIT `+itoa(limit), args...)
		if err != nil {
			return err
		}
		sample, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ForecastPurchase, error) {
			var fp ForecastPurchase
			c, err := scanCustomer(prefixed{r, []any{&fp.Store, &fp.PurchasedAt}})
			fp.Customer = c
			return fp, err
		})
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("forecast purchases: %w", err)
	}
	return count, sample, nil
}

// prefixed scans its leading columns into before, the rest as the
// wrapped scan asks.
type prefixed struct {
	row    pgx.Row
	before []any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append(p.before, dest...)...) }
