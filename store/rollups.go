package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// A report's figures add up across enrolments, and an enrolment belongs
// to the UTC day it was made, so whole days can be counted once, stored
// (report_rollups) and added up later. Migration 017 says how a stored day
// is known to be still true: every write that can change a day's figures
// appends to report_changes, the refresh deletes what its snapshot took
// in, and a day is true while it has no change left.

const day = 24 * time.Hour

// dayOf is the UTC day of t, as its midnight.
func dayOf(t time.Time) time.Time { return t.UTC().Truncate(day) }

// trueReportDays lists the whole UTC days inside q's range whose stored
// figures are still true for q's attribution window.
func trueReportDays(ctx context.Context, tx pgx.Tx, q ReportQuery) ([]time.Time, error) {
	first := dayOf(q.From)
	if first.Before(q.From) {
		first = first.Add(day)
	}
	end := dayOf(q.To) // days before it end by q.To
	if !first.Before(end) {
		return []time.Time{}, nil
	}
	rows, err := tx.Query(ctx, `
		SELECT r.day FROM report_days r
		WHERE r.program_id = $1 AND r.day >= $2::date AND r.day < $3::date
			AND r.window_months = $4 AND r.window_days = $5 AND r.window_seconds = $6
			AND NOT EXISTS (SELECT 1 FROM report_changes c WHERE c.program_id = r.program_id AND c.day = r.day)
		ORDER BY r.day`, q.ProgramID, first, end, q.WindowMonths, q.WindowDays, q.WindowSeconds)
	if err != nil {
		return nil, err
	}
	days, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, err
	}
	for i, d := range days {
		days[i] = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
	}
	return days, nil
}

// liveRanges is [from, to) without the sorted whole days given, as the
// bounds of the ranges left (adjacent days make one gap, not many). When
// that is more than max ranges, the closest ones are merged and the days
// between them counted live instead: days is what is left of the stored
// days to add.
func liveRanges(from, to time.Time, stored []time.Time, max int) (lo, hi, days []time.Time) {
	at := from
	for _, d := range stored {
		if d.After(at) {
			lo, hi = append(lo, at), append(hi, d)
		}
		at = d.Add(day)
	}
	if at.Before(to) {
		lo, hi = append(lo, at), append(hi, to)
	}
	for len(lo) > max {
		closest := 0
		for i := 1; i+1 < len(lo); i++ {
			if lo[i+1].Sub(hi[i]) < lo[closest+1].Sub(hi[closest]) {
				closest = i
			}
		}
		hi[closest] = hi[closest+1]
		lo, hi = append(lo[:closest+1], lo[closest+2:]...), append(hi[:closest+1], hi[closest+2:]...)
	}
	days = []time.Time{}
	for _, d := range stored {
		if !covered(d, lo, hi) {
			days = append(days, d)
		}
	}
	return lo, hi, days
}

// covered says whether day d lies in one of the ranges.
func covered(d time.Time, lo, hi []time.Time) bool {
	for i := range lo {
		if !d.Before(lo[i]) && d.Before(hi[i]) {
			return true
		}
	}
	return false
}

// ReportWindow is an attribution window as the report's statement takes
// it: calendar months, days and seconds.
type ReportWindow struct {
	Months, Days int
	Seconds      int64
}

// MaxRollupDaysPerCall bounds the days one RefreshReportDays call stores.
const MaxRollupDaysPerCall = 1000

// RefreshReportDays stores, for at most limit days, the report figures of
// the program's days (UTC, from its first enrolment to the day before
// until) that have no true stored figures for window. It returns how many
// days it stored and whether stale days remain. Each day is computed in
// its own REPEATABLE READ transaction by the report's own statement, and
// the changes that transaction's snapshot has taken in are deleted.
func (s *Store) RefreshReportDays(ctx context.Context, programID int64, w ReportWindow, until time.Time, limit int) (stored int, more bool, err error) {
	if limit < 1 || limit > MaxRollupDaysPerCall {
		return 0, false, fmt.Errorf("refresh report days: limit %d: must be 1-%d", limit, MaxRollupDaysPerCall)
	}
	rows, err := s.pool.Query(ctx, `
		WITH b AS (SELECT report_day(min(created_at)) AS first FROM enrolments WHERE program_id = $1)
		SELECT d::date FROM b, generate_series(b.first, $2::date - 1, interval '1 day') d
		WHERE NOT EXISTS (SELECT 1 FROM report_days r
			WHERE r.program_id = $1 AND r.day = d::date
				AND r.window_months = $3 AND r.window_days = $4 AND r.window_seconds = $5
				AND NOT EXISTS (SELECT 1 FROM report_changes c WHERE c.program_id = r.program_id AND c.day = r.day))
		ORDER BY d LIMIT $6`, programID, dayOf(until), w.Months, w.Days, w.Seconds, limit+1)
	if err != nil {
		return 0, false, err
	}
	stale, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return 0, false, err
	}
	if len(stale) > limit {
		stale, more = stale[:limit], true
	}
	for _, d := range stale {
		if err := s.storeReportDay(ctx, programID, w, time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)); err != nil {
			return stored, more, fmt.Errorf("report day %s of program %d: %w", d.Format(time.DateOnly), programID, err)
		}
		stored++
	}
	return stored, more, nil
}

// storeReportDay computes and stores one day. REPEATABLE READ makes the
// figures and the deletion of the day's changes see one snapshot: a
// change the figures missed (committed later, or in progress) is not
// visible to the deletion either, stays in report_changes, and makes the
// day live again. (Under READ COMMITTED the deletion could see, and
// delete, a change committed after the figures were read.)
func (s *Store) storeReportDay(ctx context.Context, programID int64, w ReportWindow, d time.Time) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		if err := reportSettings(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM report_days WHERE program_id = $1 AND day = $2::date`, programID, d); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO report_days (program_id, day, window_months, window_days, window_seconds)
			VALUES ($1, $2::date, $3, $4, $5)`, programID, d, w.Months, w.Days, w.Seconds); err != nil {
			return err
		}
		// No call task is overdue at the zero time: a stored day counts
		// none, and the report counts them at its own time.
		if _, err := tx.Exec(ctx, liveSQL(1)+`
			INSERT INTO report_rollups (program_id, day, section, store, a, b, c, n, x, y, amount, at)
			SELECT @program, @day::date, section, store, a, b, c, n, x, y, amount, at FROM live`, pgx.NamedArgs{
			"program": programID, "store": "", "months": w.Months, "days": w.Days, "secs": float64(w.Seconds),
			"now": time.Time{}, "lo0": d, "hi0": d.Add(day), "day": d,
		}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM report_changes WHERE program_id = $1 AND day = $2::date`, programID, d)
		return err
	})
}

// ProgramsWithEnrolments lists, after the id after, at most limit
// programs that have enrolments, for the job that stores their days.
func (s *Store) ProgramsWithEnrolments(ctx context.Context, after int64, limit int) ([]Program, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+programCols+` FROM programs p
		WHERE p.id > $1 AND EXISTS (SELECT 1 FROM enrolments e WHERE e.program_id = p.id)
		ORDER BY p.id LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Program, error) { return scanProgram(r) })
}
