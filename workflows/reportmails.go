package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/report"
)

// The report mails' Temporal Schedule, and the id of the workflows it
// starts.
const (
	ReportMailsScheduleID = "report-mails"
	ReportMailsWorkflowID = "dangol-report-mails"
)

// DefaultReportMailsPage is how many programs one run mails; a run
// continues as new after each page, so its history stays one page long.
const DefaultReportMailsPage = 100

// MaxReportMailsPeriod bounds a period given by hand, as the API bounds a
// report's range.
const MaxReportMailsPeriod = 10 * 366 * 24 * time.Hour

// scheduledStart is the search attribute a Temporal Schedule sets on the
// workflows it starts: the time it was due, even if it started late.
var scheduledStart = temporal.NewSearchAttributeKeyTime("TemporalScheduledStartTime")

// ReportMailsInput names the period to report. The schedule gives Every
// and TimeZone (from the settings) and the run reports the period that
// ended last at its scheduled time; a run by hand may give From and To
// instead. Runs after the first carry the period and where they stand.
// Nothing in it is about a customer.
type ReportMailsInput struct {
	Every    string    `json:",omitempty"`
	TimeZone string    `json:",omitempty"`
	From     time.Time `json:",omitzero"`
	To       time.Time `json:",omitzero"`
	// After is the last program of the runs before; PageSize defaults to
	// DefaultReportMailsPage.
	After    int64 `json:",omitempty"`
	PageSize int   `json:",omitempty"`
	// Done sums what the runs before this one did.
	Done ReportMailsResult `json:",omitzero"`
}

// ReportMailsResult sums a period's report mails by what became of each
// (one per program and recipient).
type ReportMailsResult struct {
	From, To time.Time
	// Programs with enrolments in the period.
	Programs int
	activities.ReportMailResult
	// Errors counts programs whose mails could not all be sent within
	// the activity's budget (a day); what is still pending goes with the
	// next run for the period.
	Errors int
}

// reportMailActivity builds one program's report and mails it to each
// recipient (each mail gets the SMTP client's minute); a relay that is
// down is retried for a day.
var reportMailActivity = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Minute,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy:            smsActivity.RetryPolicy,
}

// ReportMails mails each program's report over a period, its CSV
// attached, to the recipients in the settings: one activity per program
// with enrolments in the period. Each mail is claimed under (program,
// period, recipient) before it is sent, so running this again for the
// same period (a retry, a trigger by hand, a schedule's catch-up) sends
// nothing twice.
func ReportMails(ctx workflow.Context, in ReportMailsInput) (ReportMailsResult, error) {
	if in.From.IsZero() || in.To.IsZero() {
		at := workflow.Now(ctx)
		if t, ok := workflow.GetTypedSearchAttributes(ctx).GetTime(scheduledStart); ok {
			at = t
		}
		loc, err := time.LoadLocation(in.TimeZone)
		if err != nil || in.TimeZone == "" {
			return ReportMailsResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("time zone %q", in.TimeZone), activities.ErrTypeBadConfig, err)
		}
		if in.From, in.To, err = report.PeriodBefore(in.Every, loc, at); err != nil {
			return ReportMailsResult{}, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrTypeBadConfig, nil)
		}
	}
	if !in.From.Before(in.To) || in.To.Sub(in.From) > MaxReportMailsPeriod {
		return ReportMailsResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("report period [%s, %s): want From before To, at most 10 years", in.From, in.To), activities.ErrTypeBadConfig, nil)
	}
	if in.PageSize <= 0 {
		in.PageSize = DefaultReportMailsPage
	}
	done := in.Done
	done.From, done.To = in.From, in.To
	var page []int64
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, dbActivity), a.ReportPrograms, activities.ReportProgramsRequest{
		From: in.From, To: in.To, After: in.After, Limit: in.PageSize,
	}).Get(ctx, &page)
	if err != nil {
		return done, err
	}
	mailCtx := workflow.WithActivityOptions(ctx, reportMailActivity)
	for _, id := range page {
		var r activities.ReportMailResult
		err := workflow.ExecuteActivity(mailCtx, a.MailProgramReport, activities.ReportMailRequest{ProgramID: id, From: in.From, To: in.To}).Get(ctx, &r)
		done.Programs++
		if err != nil {
			// One program's mails must not hold back the others'.
			workflow.GetLogger(ctx).Error("report mails of a program not all sent", "program_id", id, "error", err)
			done.Errors++
		}
		done.Sent += r.Sent
		done.Before += r.Before
		done.Ambiguous += r.Ambiguous
		done.Failed += r.Failed
		in.After = id
	}
	if len(page) < in.PageSize {
		return done, nil
	}
	in.Done = done
	return done, workflow.NewContinueAsNewError(ctx, ReportMails, in)
}
