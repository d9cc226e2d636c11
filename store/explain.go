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
	return s.explain(ctx, reportSettings, reportSQL, reportArgs(q))
}

// ExplainAudienceCount runs PreviewAudience's count of the customers f
// selects at now under EXPLAIN (ANALYZE, BUFFERS) and returns the plan.
func (s *Store) ExplainAudienceCount(ctx context.Context, f audience.Filter, now time.Time) (string, error) {
	q, err := audience.Compile(f, now, 1)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, nil, audienceCountSQL(q), q.Args)
}

func (s *Store) explain(ctx context.Context, settings func(context.Context, pgx.Tx) error, sql string, args []any) (string, error) {
	var lines []string
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if settings != nil {
			if err := settings(ctx, tx); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, `EXPLAIN (ANALYZE, BUFFERS) `+sql, args...)
		if err != nil {
			return err
		}
		lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	return strings.Join(lines, "\n"), err
}
