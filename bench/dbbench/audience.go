package dbbench

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/audience"
)

// AudienceNow is the instant the seeded audience is counted at.
var AudienceNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// AudienceFilter is the benchmark's audience, a welcome-back program's:
// customers whose last purchase is more than 90 days old and who granted
// SMS. Over SeedAudience's customers it selects 52.6 %.
func AudienceFilter() audience.Filter {
	days := 90
	return audience.Filter{LastPurchaseOlderThanDays: &days, Consent: "sms"}
}

// SeedAudience builds, in a fresh database, n customers as a retailer's
// list looks: 70 % granted SMS (10 % withdrew it, 10 % gave only mail,
// 10 % nothing), a third with a birthday, a seventh dormant, and purchase
// statistics for nine in ten, their last purchase spread over two years
// before AudienceNow and graded A, B or C.
func SeedAudience(ctx context.Context, dsn string, n int) error {
	if n < 1 || n > 10_000_000 {
		return fmt.Errorf("seed audience: %d customers: must be 1-10000000", n)
	}
	stmts := []string{
		`INSERT INTO customers (external_id, name, birthday, consent, lifecycle)
		SELECT 'a' || i, 'x',
			CASE WHEN i % 3 = 0 THEN date '1980-01-01' + i % 10000 END,
			CASE i % 10
				WHEN 0 THEN '{}'::jsonb
				WHEN 1 THEN '{"sms": {"granted": false, "at": "2025-02-01T00:00:00Z", "source": "unsubscribe"}}'::jsonb
				WHEN 2 THEN '{"email": {"granted": true, "at": "2025-01-01T00:00:00Z", "source": "pos"}}'::jsonb
				ELSE jsonb_build_object(
					'sms', jsonb_build_object('granted', true, 'at', @at::timestamptz - (i % 1000) * interval '1 hour', 'source', 'pos'),
					'email', jsonb_build_object('granted', i % 2 = 0, 'at', @at::timestamptz - (i % 1000) * interval '1 hour', 'source', 'pos'))
			END,
			CASE WHEN i % 7 = 0 THEN 'dormant' ELSE 'active' END
		FROM generate_series(1, @n::int) i`,
		`INSERT INTO customer_stats (customer_id, purchase_count, total_spend, first_purchase_at, last_purchase_at, grade)
		SELECT id, 1 + id % 9, (id % 1000) * 1000, @at::timestamptz - interval '800 days', @at::timestamptz - (id % 730) * interval '1 day',
			(ARRAY['A','B','C'])[1 + id % 3]
		FROM customers WHERE id % 10 <> 9`,
	}
	if err := bulk(ctx, dsn, []string{"customers", "customer_stats"}, stmts, map[string]any{"n": n, "at": AudienceNow}); err != nil {
		return fmt.Errorf("seed audience: %w", err)
	}
	return nil
}

// handwrittenCount and handwrittenSample are what a person who knows the
// schema writes for AudienceFilter at AudienceNow: the baseline the
// compiled audience is measured against.
const (
	handwrittenCount = `SELECT count(*) FROM customers c JOIN customer_stats s ON s.customer_id = c.id
		WHERE c.erased_at IS NULL AND s.last_purchase_at < $1 AND c.consent @> '{"sms": {"granted": true}}'`
	handwrittenSample = `SELECT c.* FROM customers c JOIN customer_stats s ON s.customer_id = c.id
		WHERE c.erased_at IS NULL AND s.last_purchase_at < $1 AND c.consent @> '{"sms": {"granted": true}}'
		ORDER BY c.id LIMIT 10`
)

// HandwrittenAudience does by hand what store.PreviewAudience does for
// AudienceFilter at AudienceNow: the count and the first ten customers,
// in one read-only snapshot. It returns the count.
func HandwrittenAudience(ctx context.Context, pool *pgxpool.Pool) (int64, error) {
	var n int64
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, handwrittenCount, lapsedBefore()).Scan(&n); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, handwrittenSample, lapsedBefore())
		if err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
	return n, err
}

// ExplainHandwrittenCount returns the EXPLAIN (ANALYZE, BUFFERS) plan of
// the hand-written count.
func ExplainHandwrittenCount(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	rows, err := pool.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+handwrittenCount, lapsedBefore())
	if err != nil {
		return "", err
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return strings.Join(lines, "\n"), err
}

func lapsedBefore() time.Time { return AudienceNow.AddDate(0, 0, -90) }
