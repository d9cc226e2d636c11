package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Report mail statuses (report_mails.status).
const (
	ReportMailPending   = "pending"
	ReportMailSending   = "sending"
	ReportMailSent      = "sent"
	ReportMailAmbiguous = "ambiguous"
	ReportMailFailed    = "failed"
)

// ReportMail is one program's report for one period, mailed to one
// recipient, under the business key (program, period, recipient).
type ReportMail struct {
	ID           int64
	ProgramID    int64
	From, To     time.Time
	Recipient    string
	Status       string
	Attempts     int
	ErrorMessage *string
	SentAt       *time.Time
}

const reportMailCols = `id, program_id, period_from, period_to, recipient, status, attempts, error_message, sent_at`

func scanReportMail(row pgx.Row) (ReportMail, error) {
	var m ReportMail
	err := row.Scan(&m.ID, &m.ProgramID, &m.From, &m.To, &m.Recipient, &m.Status, &m.Attempts, &m.ErrorMessage, &m.SentAt)
	return m, notFound(err)
}

// MaxProgramsPage bounds one page of ProgramsEnrolledIn.
const MaxProgramsPage = 1000

// ProgramsEnrolledIn lists, by id after after, the programs with at least
// one enrolment (treated or control) created in [from, to): one index
// probe per program (enrolments_program_created_idx).
func (s *Store) ProgramsEnrolledIn(ctx context.Context, from, to time.Time, after int64, limit int) ([]int64, error) {
	if limit <= 0 || limit > MaxProgramsPage {
		return nil, fmt.Errorf("store: programs page of %d: want 1 to %d", limit, MaxProgramsPage)
	}
	rows, err := s.pool.Query(ctx, `
		SELECT p.id FROM programs p
		WHERE p.id > $3 AND EXISTS (SELECT 1 FROM enrolments e WHERE e.program_id = p.id AND e.created_at >= $1 AND e.created_at < $2)
		ORDER BY p.id LIMIT $4`, from, to, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// ClaimReportMail records the mail under its key before anything is sent
// and returns the row: a new one pending, or the one an earlier run made,
// whatever became of it.
func (s *Store) ClaimReportMail(ctx context.Context, programID int64, from, to time.Time, recipient string) (ReportMail, error) {
	_, err := s.pool.Exec(ctx, `
		INSERT INTO report_mails (program_id, period_from, period_to, recipient) VALUES ($1, $2, $3, $4)
		ON CONFLICT (program_id, period_from, period_to, lower(recipient)) DO NOTHING`, programID, from, to, recipient)
	if err != nil {
		return ReportMail{}, err
	}
	return scanReportMail(s.pool.QueryRow(ctx, `SELECT `+reportMailCols+` FROM report_mails
		WHERE program_id = $1 AND period_from = $2 AND period_to = $3 AND lower(recipient) = lower($4)`, programID, from, to, recipient))
}

// MarkReportMailSending is taken right before the end of data: only a
// pending mail may go, so of two attempts at once only one passes.
// ErrConflict means it is no longer pending.
func (s *Store) MarkReportMailSending(ctx context.Context, id int64) (ReportMail, error) {
	m, err := scanReportMail(s.pool.QueryRow(ctx, `UPDATE report_mails SET status = 'sending', attempts = attempts + 1, updated_at = now()
		WHERE id = $1 AND status = 'pending' RETURNING `+reportMailCols, id))
	if err == ErrNotFound {
		return m, fmt.Errorf("report mail %d is no longer pending: %w", id, ErrConflict)
	}
	return m, err
}

// MarkReportMailNotSent puts a sending mail back to pending: the relay
// answered that it did not take it, so a retry may send.
func (s *Store) MarkReportMailNotSent(ctx context.Context, id int64, reason string) (ReportMail, error) {
	return scanReportMail(s.pool.QueryRow(ctx, `UPDATE report_mails SET status = 'pending', error_message = $2, updated_at = now()
		WHERE id = $1 AND status = 'sending' RETURNING `+reportMailCols, id, reason))
}

// SettleReportMail records how a pending or sending mail ended: sent,
// ambiguous or failed (with the reason). A settled mail stays as it is
// (ErrNotFound).
func (s *Store) SettleReportMail(ctx context.Context, id int64, status, reason string) (ReportMail, error) {
	switch status {
	case ReportMailSent, ReportMailAmbiguous, ReportMailFailed:
	default:
		return ReportMail{}, fmt.Errorf("store: report mail status %q is not final", status)
	}
	var why *string
	if reason != "" {
		why = &reason
	}
	return scanReportMail(s.pool.QueryRow(ctx, `UPDATE report_mails SET status = $2, error_message = $3, updated_at = now(),
		sent_at = CASE WHEN $2 = 'sent' THEN now() END
		WHERE id = $1 AND status IN ('pending', 'sending') RETURNING `+reportMailCols, id, status, why))
}

// ReportMails lists a program's report mails, newest period first.
func (s *Store) ReportMails(ctx context.Context, programID int64, limit int) ([]ReportMail, error) {
	if limit <= 0 || limit > MaxProgramsPage {
		return nil, fmt.Errorf("store: report mails page of %d: want 1 to %d", limit, MaxProgramsPage)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+reportMailCols+` FROM report_mails WHERE program_id = $1
		ORDER BY period_from DESC, id LIMIT $2`, programID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ReportMail, error) { return scanReportMail(r) })
}
