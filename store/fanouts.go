package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jackc/pgx/v5"
)

// Fan-out statuses.
const (
	FanOutRunning    = "running"
	FanOutDone       = "done"
	FanOutSuperseded = "superseded"
)

// FanOut is one signal to every live enrolment of a program or of a
// customer, sent in the background; its counts are its progress.
type FanOut struct {
	ID         int64           `json:"id"`
	ProgramID  *int64          `json:"program_id,omitempty"`
	CustomerID *int64          `json:"-"`
	Signal     string          `json:"signal"`
	Payload    json.RawMessage `json:"payload"`
	Status     string          `json:"status"`
	Total      int             `json:"total"`
	Signalled  int             `json:"signalled"`
	Ended      int             `json:"ended"`
	After      int64           `json:"-"`
	CreatedAt  time.Time       `json:"created_at"`
	UpdatedAt  time.Time       `json:"updated_at"`
	FinishedAt *time.Time      `json:"finished_at"`
}

const fanOutCols = `id, program_id, customer_id, signal, payload, status, total, signalled, ended, after_enrolment_id, created_at, updated_at, finished_at`

func scanFanOut(row pgx.Row) (FanOut, error) {
	var f FanOut
	err := row.Scan(&f.ID, &f.ProgramID, &f.CustomerID, &f.Signal, &f.Payload, &f.Status, &f.Total, &f.Signalled, &f.Ended, &f.After,
		&f.CreatedAt, &f.UpdatedAt, &f.FinishedAt)
	return f, notFound(err)
}

// FanOutScope says whose live enrolments a fan-out signals: a program's or
// a customer's (exactly one is set).
type FanOutScope struct {
	ProgramID  int64
	CustomerID int64
}

func (sc FanOutScope) where() (string, int64) {
	if sc.ProgramID != 0 {
		return `program_id`, sc.ProgramID
	}
	return `customer_id`, sc.CustomerID
}

func nullable(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// CreateFanOut records a fan-out of signal (with its JSON payload) to the
// scope's live enrolments, counting them now so progress has a total.
func (s *Store) CreateFanOut(ctx context.Context, sc FanOutScope, signal string, payload json.RawMessage) (FanOut, error) {
	col, id := sc.where()
	if payload == nil {
		payload = json.RawMessage("null")
	}
	return scanFanOut(s.pool.QueryRow(ctx, `
		INSERT INTO fanouts (program_id, customer_id, signal, payload, total)
		VALUES ($1, $2, $3, $4, (SELECT count(*) FROM enrolments WHERE `+col+` = $5 AND status <> 'ended'))
		RETURNING `+fanOutCols, nullable(sc.ProgramID), nullable(sc.CustomerID), signal, payload, id))
}

// FanOutByID loads a fan-out.
func (s *Store) FanOutByID(ctx context.Context, id int64) (FanOut, error) {
	return scanFanOut(s.pool.QueryRow(ctx, `SELECT `+fanOutCols+` FROM fanouts WHERE id = $1`, id))
}

// LatestProgramFanOut is the newest fan-out of a program, for its status
// page; ErrNotFound when there was none.
func (s *Store) LatestProgramFanOut(ctx context.Context, programID int64) (FanOut, error) {
	return scanFanOut(s.pool.QueryRow(ctx, `SELECT `+fanOutCols+` FROM fanouts WHERE program_id = $1 ORDER BY id DESC LIMIT 1`, programID))
}

// FanOutTarget is one enrolment a fan-out page signals.
type FanOutTarget struct {
	EnrolmentID int64
	WorkflowID  string
}

// FanOutPage returns the next page of the fan-out's enrolments (live when
// it was created) after its cursor, or superseded=true (and marks it so) when a newer fan-out of
// the same scope exists: the newer one signals everybody again, after
// this one, so the last word each enrolment hears is the newest.
func (s *Store) FanOutPage(ctx context.Context, id int64, limit int) (f FanOut, page []FanOutTarget, superseded bool, err error) {
	f, err = s.FanOutByID(ctx, id)
	if err != nil || f.Status != FanOutRunning {
		return f, nil, false, err
	}
	sc := FanOutScope{}
	if f.ProgramID != nil {
		sc.ProgramID = *f.ProgramID
	} else if f.CustomerID != nil {
		sc.CustomerID = *f.CustomerID
	}
	col, scopeID := sc.where()
	var newer bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fanouts WHERE `+col+` = $1 AND signal = $3 AND id > $2)`, scopeID, id, f.Signal).Scan(&newer); err != nil {
		return f, nil, false, err
	}
	if newer {
		f, err = scanFanOut(s.pool.QueryRow(ctx, `UPDATE fanouts SET status = 'superseded', updated_at = now(), finished_at = now()
			WHERE id = $1 AND status = 'running' RETURNING `+fanOutCols, id))
		if err == ErrNotFound {
			f, err = s.FanOutByID(ctx, id)
		}
		return f, nil, true, err
	}
	// The live enrolments after the cursor, and those that ended since the
	// fan-out was created: a retried page reaches again what its failed
	// attempt ended, and counts it (as ended) instead of losing it.
	rows, err := s.pool.Query(ctx, `
		(SELECT id, workflow_id FROM enrolments WHERE `+col+` = $1 AND status <> 'ended' AND id > $2 ORDER BY id LIMIT $3)
		UNION ALL
		(SELECT id, workflow_id FROM enrolments WHERE `+col+` = $1 AND status = 'ended' AND ended_at >= $4 AND id > $2 ORDER BY id LIMIT $3)
		ORDER BY id LIMIT $3`, scopeID, f.After, limit, f.CreatedAt)
	if err != nil {
		return f, nil, false, err
	}
	page, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (FanOutTarget, error) {
		var t FanOutTarget
		err := r.Scan(&t.EnrolmentID, &t.WorkflowID)
		return t, err
	})
	return f, page, false, err
}

// AdvanceFanOut records a page's progress; done finishes the fan-out. A
// retried page counts again, which is why the counts are progress, not an
// audit (the signals themselves are idempotent).
func (s *Store) AdvanceFanOut(ctx context.Context, id, after int64, signalled, ended int, done bool) (FanOut, error) {
	return scanFanOut(s.pool.QueryRow(ctx, `
		UPDATE fanouts SET after_enrolment_id = greatest(after_enrolment_id, $2), signalled = signalled + $3, ended = ended + $4,
			status = CASE WHEN $5 THEN 'done' ELSE status END,
			finished_at = CASE WHEN $5 THEN now() ELSE finished_at END, updated_at = now()
		WHERE id = $1 AND status = 'running' RETURNING `+fanOutCols, id, after, signalled, ended, done))
}
