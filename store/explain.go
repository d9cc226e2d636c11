package store

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/audience"
)

// ExplainReport runs the program report's statement for q under EXPLAIN
// (ANALYZE, BUFFERS), with the report's settings, and returns the plan:
// for a benchmark to print and a test to check which indexes it uses.
func (s *Store) ExplainReport(ctx context.Context, q ReportQuery) (string, error) {
	var lines []string
	err := pgx.BeginTxFunc(ctx, s.pool, reportTx, func(tx pgx.Tx) error {
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		sql, args, err := reportStatement(ctx, tx, q)
		if err != nil {
			return err
		}
		lines, err = explainLines(ctx, tx, sql, args)
		return err
	})
	return strings.Join(lines, "\n"), err
}

// ExplainAudienceCount runs PreviewAudience's count of the customers f
// selects at now under EXPLAIN (ANALYZE, BUFFERS) and returns the plan.
func (s *Store) ExplainAudienceCount(ctx context.Context, f audience.Filter, now time.Time) (string, error) {
	q, err := audience.Compile(f, now, 1)
	if err != nil {
		return "", err
	}
	var lines []string
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		lines, err = explainLines(ctx, tx, audienceCountSQL(q), q.Args...)
		return err
	})
	return strings.Join(lines, "\n"), err
}

// explainLines runs sql under EXPLAIN (ANALYZE, BUFFERS) in tx.
func explainLines(ctx context.Context, tx pgx.Tx, sql string, args ...any) ([]string, error) {
	rows, err := tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
