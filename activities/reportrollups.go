package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/report"
	"github.com/dangol/dangol/store"
)

// StoreReportDaysRequest asks to store the report days of the programs
// after After, for at most Budget (the activity's own share of its
// start-to-close timeout).
type StoreReportDaysRequest struct {
	After  int64
	Budget time.Duration
}

// StoreReportDaysResult says how far a call got: every program up to and
// including Through has all its days before today stored; More is set
// when programs remain.
type StoreReportDaysResult struct {
	Through  int64
	Programs int
	Days     int
	More     bool
}

// reportDaysProgramPage is how many programs one page lists.
const reportDaysProgramPage = 50

// reportDaysBatch is how many days one store call refreshes between
// heartbeats (a day of 10,000 enrolments takes about 0.2 s).
const reportDaysBatch = 20

// StoreReportDays stores the report figures of every settled day (UTC,
// before today) of each program with enrolments, over the program's
// current attribution window, until its budget runs out. A report reads
// the stored days that are still true and counts only the rest, so a
// report over a million enrolments answers in well under its 2 s (issue
// 9); storing a day again is harmless, so a retry only redoes work.
func (a *Activities) StoreReportDays(ctx context.Context, req StoreReportDaysRequest) (StoreReportDaysResult, error) {
	res := StoreReportDaysResult{Through: req.After}
	deadline := time.Now().Add(req.Budget)
	until := time.Now()
	for {
		page, err := a.Store.ProgramsWithEnrolments(ctx, res.Through, reportDaysProgramPage)
		if err != nil {
			return res, storeErr("programs with enrolments", err)
		}
		for _, p := range page {
			// A program whose params cannot be read is reported over
			// the default window, so its days are stored so too.
			params, err := programs.Decode(p.Kind, p.Params)
			if err != nil {
				params = nil
			}
			o := report.WindowOf(params)
			w := store.ReportWindow{Months: o.Months, Days: o.Days, Seconds: int64(o.Exact / time.Second)}
			for more := true; more; {
				if time.Now().After(deadline) {
					res.More = true
					return res, nil
				}
				var n int
				n, more, err = a.Store.RefreshReportDays(ctx, p.ID, w, until, reportDaysBatch)
				if err != nil {
					return res, storeErr("report days", err)
				}
				res.Days += n
				if activity.IsActivity(ctx) {
					activity.RecordHeartbeat(ctx, res)
				}
			}
			res.Through = p.ID
			res.Programs++
		}
		if len(page) < reportDaysProgramPage {
			return res, nil
		}
	}
}
