package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/dangol/dangol/report"
)

// Bounds of a report request.
const (
	// maxReportYears bounds the range of enrolment time one report reads.
	maxReportYears = 10
	// maxReportStore bounds the store filter, in characters.
	maxReportStore = 200
	// reportBudget bounds the report's query; a program of 1,000,000
	// enrolments answers in well under it (BenchmarkProgramReport).
	reportBudget = 30 * time.Second
)

// reportRange reads from and to: RFC 3339 times, or dates (YYYY-MM-DD,
// UTC) where to includes its whole day. The defaults are the program's
// creation and now; the range is at most maxReportYears long.
func reportRange(r *http.Request, created, now time.Time) (from, to time.Time, err error) {
	q := r.URL.Query()
	parse := func(field string, endOfDay bool) (time.Time, bool, error) {
		v := q.Get(field)
		if v == "" {
			return time.Time{}, false, nil
		}
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true, nil
		}
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			if endOfDay {
				d = d.AddDate(0, 0, 1)
			}
			return d, true, nil
		}
		return time.Time{}, false, badField(field, "must be an RFC 3339 time or a date (YYYY-MM-DD)")
	}
	from, fromSet, err := parse("from", false)
	if err != nil {
		return from, to, err
	}
	to, toSet, err := parse("to", true)
	if err != nil {
		return from, to, err
	}
	if !toSet {
		to = now
	}
	if !fromSet {
		from = created
		if limit := to.AddDate(-maxReportYears, 0, 0); from.Before(limit) {
			from = limit
		}
	}
	switch {
	case !from.Before(to) && toSet:
		return from, to, badField("to", "must be after from (default from: when the program was created)")
	case !from.Before(to):
		return from, to, badField("from", "must be before to (default to: now)")
	case to.After(from.AddDate(maxReportYears, 0, 0)):
		return from, to, badField("to", fmt.Sprintf("the range may be at most %d years long", maxReportYears))
	}
	return from, to, nil
}

// programReport builds the report of the program in the path, or answers
// with the problem and returns false.
func (s *Server) programReport(w http.ResponseWriter, r *http.Request) (report.Report, bool) {
	p, params, _, ok := s.program(w, r)
	if !ok {
		return report.Report{}, false
	}
	now := time.Now()
	from, to, err := reportRange(r, p.CreatedAt, now)
	if err != nil {
		renderError(w, r, err)
		return report.Report{}, false
	}
	storeName := r.URL.Query().Get("store")
	if err := checkLength("store", storeName, maxReportStore); err != nil {
		renderError(w, r, err)
		return report.Report{}, false
	}
	// A program whose params cannot be read is still reported, over the
	// default window.
	ctx, cancel := context.WithTimeout(r.Context(), reportBudget)
	defer cancel()
	rep, err := report.Make(ctx, s.Store, report.Request{
		ProgramID: p.ID, From: from, To: to, Store: storeName, Window: report.WindowOf(params), Now: now,
	})
	if errors.Is(err, context.DeadlineExceeded) {
		renderError(w, r, &Problem{Type: "about:blank", Title: "Report took too long", Status: http.StatusServiceUnavailable,
			Detail: "the report did not finish within " + reportBudget.String() + "; ask for a shorter range or one store"})
		return report.Report{}, false
	} else if err != nil {
		renderError(w, r, err)
		return report.Report{}, false
	}
	return rep, true
}

func (s *Server) getProgramReport(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.programReport(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) getProgramReportCSV(w http.ResponseWriter, r *http.Request) {
	rep, ok := s.programReport(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="program-%d-report.csv"`, rep.ProgramID))
	w.WriteHeader(http.StatusOK)
	_ = report.WriteCSV(w, rep)
}
