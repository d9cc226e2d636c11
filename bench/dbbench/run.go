package dbbench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/store"
)

// ReportQuery is the report of the whole seeded program (100 days), with
// a 30-day attribution window.
func ReportQuery(programID int64) store.ReportQuery {
	return store.ReportQuery{ProgramID: programID, From: ReportAt.AddDate(0, 0, -1), To: ReportAt.AddDate(0, 0, 101),
		WindowDays: 30, Now: ReportAt.AddDate(0, 0, 120)}
}

// DayQuery is the report of one day of the seeded program: what a
// marketer looking at yesterday reads, by index whatever the program's size.
func DayQuery(programID int64) store.ReportQuery {
	q := ReportQuery(programID)
	q.From, q.To = ReportAt.AddDate(0, 0, 51), ReportAt.AddDate(0, 0, 52)
	return q
}

// ReportResult is one measurement of the program report.
type ReportResult struct {
	Enrolments int
	Seed       time.Duration
	// Live is the whole program's report counted from the tables alone
	// (no day stored yet), Day the median of a one-day report so, and
	// Refresh how long storing every day took (the report-rollups job's
	// work after a million enrolments arrived at once).
	Live, Day, Refresh time.Duration
	// Runs are the whole program's report from the stored days, each
	// timed; Median of them.
	Runs   []time.Duration
	Median time.Duration
	// Plan is EXPLAIN (ANALYZE, BUFFERS) of the whole program's report
	// from its stored days, DayPlan of one day's counted live.
	Plan, DayPlan string
}

// Report seeds a program of n enrolments into the fresh database at dsn
// (which st is connected to), times its report counted live, stores its
// days as the report-rollups job does, and times the report runs times
// (at least 1) from the stored days.
func Report(ctx context.Context, st *store.Store, dsn string, n, runs int) (ReportResult, error) {
	r := ReportResult{Enrolments: n}
	start := time.Now()
	id, err := SeedReport(ctx, dsn, n)
	if err != nil {
		return r, err
	}
	r.Seed = time.Since(start)
	timed := func(q store.ReportQuery) (time.Duration, error) {
		start := time.Now()
		figs, err := st.ProgramReport(ctx, q)
		if err == nil && len(figs) != Stores && q == ReportQuery(id) {
			err = fmt.Errorf("report: %d stores, want %d", len(figs), Stores)
		}
		return time.Since(start), err
	}
	if r.Live, err = timed(ReportQuery(id)); err != nil {
		return r, err
	}
	var day []time.Duration
	for range max(runs, 1) {
		d, err := timed(DayQuery(id))
		if err != nil {
			return r, err
		}
		day = append(day, d)
	}
	r.Day = Median(day)
	if r.DayPlan, err = st.ExplainReport(ctx, DayQuery(id)); err != nil {
		return r, err
	}
	start = time.Now()
	q := ReportQuery(id)
	for more := true; more; {
		if _, more, err = st.RefreshReportDays(ctx, id, store.ReportWindow{Months: q.WindowMonths, Days: q.WindowDays, Seconds: q.WindowSeconds},
			q.Now, store.MaxRollupDaysPerCall); err != nil {
			return r, err
		}
	}
	r.Refresh = time.Since(start)
	for range max(runs, 1) {
		d, err := timed(ReportQuery(id))
		if err != nil {
			return r, err
		}
		r.Runs = append(r.Runs, d)
	}
	r.Median = Median(r.Runs)
	r.Plan, err = st.ExplainReport(ctx, ReportQuery(id))
	return r, err
}

// AudienceResult is one measurement of an audience count against the
// hand-written SQL, taken alternately in the same run.
type AudienceResult struct {
	Customers int
	Seed      time.Duration
	// Count is how many customers AudienceFilter selects.
	Count int64
	// Compiled is the median of store.PreviewAudience, Handwritten of
	// HandwrittenAudience; Ratio is Compiled / Handwritten (goal: near 1).
	Compiled, Handwritten time.Duration
	Ratio                 float64
	// Plan is EXPLAIN (ANALYZE, BUFFERS) of the compiled count,
	// HandwrittenPlan of the hand-written one.
	Plan, HandwrittenPlan string
}

// Audience seeds n customers into the fresh database at dsn (which st is
// connected to) and times AudienceFilter's preview against the
// hand-written SQL, alternating, runs times each (at least 1).
func Audience(ctx context.Context, st *store.Store, dsn string, n, runs int) (AudienceResult, error) {
	r := AudienceResult{Customers: n}
	start := time.Now()
	if err := SeedAudience(ctx, dsn, n); err != nil {
		return r, err
	}
	r.Seed = time.Since(start)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return r, err
	}
	defer pool.Close()
	var compiled, hand []time.Duration
	for range max(runs, 1) {
		start := time.Now()
		n, _, err := st.PreviewAudience(ctx, AudienceFilter(), AudienceNow)
		if err != nil {
			return r, err
		}
		compiled = append(compiled, time.Since(start))
		start = time.Now()
		m, err := HandwrittenAudience(ctx, pool)
		if err != nil {
			return r, err
		}
		hand = append(hand, time.Since(start))
		if n != m {
			return r, fmt.Errorf("audience: compiled counts %d, hand-written %d", n, m)
		}
		r.Count = n
	}
	r.Compiled, r.Handwritten = Median(compiled), Median(hand)
	r.Ratio = float64(r.Compiled) / float64(r.Handwritten)
	if r.Plan, err = st.ExplainAudienceCount(ctx, AudienceFilter(), AudienceNow); err != nil {
		return r, err
	}
	r.HandwrittenPlan, err = ExplainHandwrittenCount(ctx, pool)
	return r, err
}

// Median is the middle duration (the mean of the middle two of an even
// number); 0 for none.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
