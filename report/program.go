package report

import (
	"context"
	"time"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/store"
)

// Source counts a program's report figures (store.Store does, in one
// statement).
type Source interface {
	ProgramReport(ctx context.Context, q store.ReportQuery) (map[string]*store.ReportFigures, error)
}

// Request names one report: a program's enrolments created in [From, To),
// of one store or all (""), with conversions counted over Window; Now
// decides what is overdue or still running.
type Request struct {
	ProgramID int64
	From, To  time.Time
	Store     string
	Window    programs.Offset
	Now       time.Time
}

// WindowOf is a program's attribution window; a program whose params
// cannot be read (nil) is reported over the default window.
func WindowOf(params programs.Params) programs.Offset {
	if params == nil {
		return programs.MustOffset(programs.DefaultAttributionWindow)
	}
	return params.Measurement().Window()
}

// Make counts and builds the report: the one way the API's report, its
// CSV and the report mails come to be, so they agree.
func Make(ctx context.Context, src Source, req Request) (Report, error) {
	w := req.Window
	figures, err := src.ProgramReport(ctx, store.ReportQuery{
		ProgramID: req.ProgramID, From: req.From, To: req.To, Store: req.Store,
		WindowMonths: w.Months, WindowDays: w.Days, WindowSeconds: int64(w.Exact / time.Second), Now: req.Now,
	})
	if err != nil {
		return Report{}, err
	}
	all, stores := Build(figures)
	if stores == nil {
		stores = []Figures{}
	}
	return Report{ProgramID: req.ProgramID, From: req.From.UTC(), To: req.To.UTC(), Store: req.Store,
		AttributionWindow: w.String(), All: all, Stores: stores}, nil
}
