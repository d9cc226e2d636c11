package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Program statuses.
const (
	ProgramActive  = "active"
	ProgramPaused  = "paused"
	ProgramStopped = "stopped"
)

// Program is a retention program a marketer started.
type Program struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Status    string          `json:"status"`
	Version   int             `json:"version"`
	Params    json.RawMessage `json:"params"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

const programCols = `id, name, kind, status, version, params, created_at, updated_at`

func scanProgram(row pgx.Row) (Program, error) {
	var p Program
	err := row.Scan(&p.ID, &p.Name, &p.Kind, &p.Status, &p.Version, &p.Params, &p.CreatedAt, &p.UpdatedAt)
	return p, notFound(err)
}

// CreateProgram stores a program and its first version.
func (s *Store) CreateProgram(ctx context.Context, name, kind string, params json.RawMessage) (Program, error) {
	var p Program
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		p, err = scanProgram(tx.QueryRow(ctx, `INSERT INTO programs (name, kind, params) VALUES ($1, $2, $3) RETURNING `+programCols, name, kind, params))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO program_versions (program_id, version, params) VALUES ($1, 1, $2)`, p.ID, params)
		return err
	})
	return p, err
}

// Program loads a program.
func (s *Store) Program(ctx context.Context, id int64) (Program, error) {
	return scanProgram(s.pool.QueryRow(ctx, `SELECT `+programCols+` FROM programs WHERE id = $1`, id))
}

// ProgramVersionParams loads the parameters a version was created with.
func (s *Store) ProgramVersionParams(ctx context.Context, id int64, version int) (json.RawMessage, error) {
	var params json.RawMessage
	err := s.pool.QueryRow(ctx, `SELECT params FROM program_versions WHERE program_id = $1 AND version = $2`, id, version).Scan(&params)
	return params, notFound(err)
}

// ListPrograms lists programs, newest first, optionally of one kind and status.
func (s *Store) ListPrograms(ctx context.Context, kind, status string) ([]Program, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+programCols+` FROM programs
		WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR status = $2) ORDER BY id DESC LIMIT 500`, kind, status)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Program, error) { return scanProgram(r) })
}

// SetProgramStatus moves a program between active, paused and stopped.
// A stopped program stays stopped: ErrConflict.
func (s *Store) SetProgramStatus(ctx context.Context, id int64, status string) (Program, error) {
	var p Program
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanProgram(tx.QueryRow(ctx, `SELECT `+programCols+` FROM programs WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if cur.Status == ProgramStopped && status != ProgramStopped {
			return ErrConflict
		}
		p, err = scanProgram(tx.QueryRow(ctx, `UPDATE programs SET status = $2, updated_at = now() WHERE id = $1 RETURNING `+programCols, id, status))
		return err
	})
	return p, err
}

// ProgramEnrolmentCounts counts a program's enrolments by status, and
// ended ones by outcome ("ended:converted").
func (s *Store) ProgramEnrolmentCounts(ctx context.Context, id int64) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT CASE WHEN status = 'ended' THEN 'ended:' || coalesce(outcome, '') ELSE status END, count(*)
		FROM enrolments WHERE program_id = $1 GROUP BY 1`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		counts[k] = n
	}
	return counts, rows.Err()
}

// UpdateProgram replaces a program's params. When the steps changed
// (newVersion), the version is bumped and kept, so running enrolments
// finish on the version they entered with; a template edit keeps the
// version and reaches running enrolments at their next send.
func (s *Store) UpdateProgram(ctx context.Context, id int64, name string, params json.RawMessage, newVersion bool) (Program, error) {
	var p Program
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := scanProgram(tx.QueryRow(ctx, `SELECT `+programCols+` FROM programs WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return err
		}
		if cur.Status == ProgramStopped {
			return ErrConflict
		}
		version := cur.Version
		if newVersion {
			version++
		}
		p, err = scanProgram(tx.QueryRow(ctx, `UPDATE programs SET name = $2, params = $3, version = $4, updated_at = now() WHERE id = $1 RETURNING `+programCols,
			id, name, params, version))
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO program_versions (program_id, version, params) VALUES ($1, $2, $3)
			ON CONFLICT (program_id, version) DO UPDATE SET params = EXCLUDED.params`, id, version, params)
		return err
	})
	return p, err
}
