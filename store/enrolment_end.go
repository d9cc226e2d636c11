package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
)

// EndEnrolmentOfKind is EndEnrolment that also says whether this call
// ended the enrolment (false: it had ended already, or does not exist)
// and its program's kind, so each ending is counted once however often
// the activity is retried.
func (s *Store) EndEnrolmentOfKind(ctx context.Context, id int64, outcome string) (kind string, ended bool, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE enrolments e SET status = 'ended', outcome = $2, ended_at = now(),
		started_at = coalesce(e.started_at, now())
		FROM programs p WHERE e.id = $1 AND e.status <> 'ended' AND p.id = e.program_id
		RETURNING p.kind`, id, outcome).Scan(&kind)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", false, nil
	}
	return kind, err == nil, err
}
