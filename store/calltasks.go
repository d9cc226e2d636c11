package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/domain"
)

// CallTask is a phone call store staff owe a customer.
type CallTask struct {
	ID             int64      `json:"id"`
	IdempotencyKey string     `json:"-"`
	Kind           string     `json:"kind"`
	CustomerID     int64      `json:"-"`
	CustomerExtID  string     `json:"customer_external_id"`
	EnrolmentID    *int64     `json:"enrolment_id"`
	Store          string     `json:"store"`
	AssigneeRole   string     `json:"assignee_role"`
	Script         string     `json:"script"`
	DueAt          time.Time  `json:"due_at"`
	ExpiresAt      *time.Time `json:"expires_at"`
	Status         string     `json:"status"`
	Outcome        *string    `json:"outcome"`
	Note           string     `json:"note"`
	CompletedAt    *time.Time `json:"completed_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

const callTaskCols = `t.id, t.idempotency_key, t.kind, t.customer_id, c.external_id, t.enrolment_id, t.store, t.assignee_role, t.script,
	t.due_at, t.expires_at, t.status, t.outcome, t.note, t.completed_at, t.created_at`

const callTaskFrom = ` FROM call_tasks t JOIN customers c ON c.id = t.customer_id `

func scanCallTask(row pgx.Row) (CallTask, error) {
	var t CallTask
	err := row.Scan(&t.ID, &t.IdempotencyKey, &t.Kind, &t.CustomerID, &t.CustomerExtID, &t.EnrolmentID, &t.Store, &t.AssigneeRole, &t.Script,
		&t.DueAt, &t.ExpiresAt, &t.Status, &t.Outcome, &t.Note, &t.CompletedAt, &t.CreatedAt)
	return t, notFound(err)
}

// CreateCallTask inserts the task under its idempotency key or returns the
// existing one, so a retried activity never doubles a call.
func (s *Store) CreateCallTask(ctx context.Context, t CallTask) (CallTask, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `
		INSERT INTO call_tasks (idempotency_key, kind, customer_id, enrolment_id, store, assignee_role, script, due_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
		RETURNING id`,
		t.IdempotencyKey, t.Kind, t.CustomerID, t.EnrolmentID, t.Store, t.AssigneeRole, t.Script, t.DueAt, t.ExpiresAt).Scan(&id)
	if err != nil {
		return CallTask{}, err
	}
	return s.CallTask(ctx, id)
}

// CallTask loads a task.
func (s *Store) CallTask(ctx context.Context, id int64) (CallTask, error) {
	return scanCallTask(s.pool.QueryRow(ctx, `SELECT `+callTaskCols+callTaskFrom+`WHERE t.id = $1`, id))
}

// CompleteCallTask records what staff heard. Completing again with the
// same outcome is a no-op; a different outcome, or a task no longer open,
// is ErrConflict.
func (s *Store) CompleteCallTask(ctx context.Context, id int64, outcome, note string) (CallTask, bool, error) {
	var t CallTask
	changed := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		t, err = scanCallTask(tx.QueryRow(ctx, `SELECT `+callTaskCols+callTaskFrom+`WHERE t.id = $1 FOR UPDATE OF t`, id))
		if err != nil {
			return err
		}
		if t.Status == domain.TaskCompleted && t.Outcome != nil && *t.Outcome == outcome {
			return nil
		}
		if t.Status != domain.TaskOpen {
			return ErrConflict
		}
		if _, err := tx.Exec(ctx, `UPDATE call_tasks SET status = 'completed', outcome = $2, note = $3, completed_at = now() WHERE id = $1`, id, outcome, note); err != nil {
			return err
		}
		changed = true
		t, err = scanCallTask(tx.QueryRow(ctx, `SELECT `+callTaskCols+callTaskFrom+`WHERE t.id = $1`, id))
		return err
	})
	return t, changed, err
}

// CloseCallTask ends an open task with status expired or cancelled and
// returns the task as it now is: if staff completed it first, the
// completion stands and is returned, so the workflow acts on the truth.
func (s *Store) CloseCallTask(ctx context.Context, id int64, status string) (CallTask, error) {
	if _, err := s.pool.Exec(ctx, `UPDATE call_tasks SET status = $2 WHERE id = $1 AND status = 'open'`, id, status); err != nil {
		return CallTask{}, err
	}
	return s.CallTask(ctx, id)
}

// CancelOpenTasks cancels the enrolment's open happy-call tasks; it
// returns how many. Escalations stay open: a complaint outlives the
// enrolment until the store manager closes it.
func (s *Store) CancelOpenTasks(ctx context.Context, enrolmentID int64) (int64, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE call_tasks SET status = 'cancelled'
		WHERE enrolment_id = $1 AND status = 'open' AND kind = 'happy_call'`, enrolmentID)
	return tag.RowsAffected(), err
}

// CallTaskFilter selects tasks for a store's work list.
type CallTaskFilter struct {
	Status      string
	Store       string
	DueBefore   *time.Time
	EnrolmentID int64
	Limit       int
}

// ListCallTasks lists tasks by due time.
func (s *Store) ListCallTasks(ctx context.Context, f CallTaskFilter) ([]CallTask, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 500
	}
	rows, err := s.pool.Query(ctx, `SELECT `+callTaskCols+callTaskFrom+`
		WHERE ($1 = '' OR t.status = $1) AND ($2 = '' OR t.store = $2)
		  AND ($3::timestamptz IS NULL OR t.due_at < $3) AND ($4::bigint = 0 OR t.enrolment_id = $4::bigint)
		ORDER BY t.due_at, t.id LIMIT $5`, f.Status, f.Store, f.DueBefore, f.EnrolmentID, f.Limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (CallTask, error) { return scanCallTask(r) })
}

// RecordVoice keeps what a customer told us; the source reference makes
// a retried write a no-op.
func (s *Store) RecordVoice(ctx context.Context, customerID int64, source, ref, note string) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO customer_voices (customer_id, source, source_ref, note) VALUES ($1, $2, $3, $4)
		ON CONFLICT (source_ref) DO NOTHING`, customerID, source, ref, note)
	return err
}

// Voice is one thing a customer told us.
type Voice struct {
	Source    string    `json:"source"`
	Note      string    `json:"note"`
	CreatedAt time.Time `json:"created_at"`
}

// CustomerVoices lists what the customer told us, newest first.
func (s *Store) CustomerVoices(ctx context.Context, customerID int64) ([]Voice, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, note, created_at FROM customer_voices WHERE customer_id = $1 ORDER BY id DESC`, customerID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowToStructByPos[Voice])
}
