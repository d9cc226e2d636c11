package activities

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/dangol/dangol/channels/mail"
	"github.com/dangol/dangol/programs"
	"github.com/dangol/dangol/report"
	"github.com/dangol/dangol/store"
)

// ReportProgramsRequest asks for a page of the programs with enrolments
// created in [From, To), by id after After.
type ReportProgramsRequest struct {
	From, To time.Time
	After    int64
	Limit    int
}

// ReportPrograms lists a page of the programs a period's report mails
// are about.
func (a *Activities) ReportPrograms(ctx context.Context, req ReportProgramsRequest) ([]int64, error) {
	ids, err := a.Store.ProgramsEnrolledIn(ctx, req.From, req.To, req.After, req.Limit)
	return ids, storeErr("programs enrolled in the period", err)
}

// ReportMailRequest is one program's report over [From, To), to be mailed
// to the recipients the settings name when it runs.
type ReportMailRequest struct {
	ProgramID int64
	From, To  time.Time
}

// ReportMailResult counts the recipients of one program's report by what
// became of their mail.
type ReportMailResult struct {
	// Sent now; Before: settled by an earlier run or attempt (sent,
	// ambiguous or failed), not sent again.
	Sent, Before int
	// Ambiguous: an attempt ended after the end of data without an
	// answer; Failed: the relay refused the mail for good.
	Ambiguous, Failed int
}

// reportBuildBudget bounds building one report (the API's own budget is
// 30 s for a program of 1,000,000 enrolments); the rest of the activity's
// time is for the mails.
const reportBuildBudget = 2 * time.Minute

// MailProgramReport mails a program's report over the period, its CSV
// (what GET /v1/programs/{id}/report.csv answers for the same range)
// attached, to each recipient in the settings, at most once per program,
// period and recipient: each mail is claimed in report_mails before it is
// sent, and, like a customer's mail (sendMail), marked sending only right
// before the end of data; a mail found sending, or whose answer was lost,
// is recorded ambiguous and not sent again. A recipient whose relay fails
// for now does not hold back the others; the activity then fails, and its
// retry sends only what is still pending.
func (a *Activities) MailProgramReport(ctx context.Context, req ReportMailRequest) (ReportMailResult, error) {
	var res ReportMailResult
	if !req.From.Before(req.To) {
		return res, nonRetryable(ErrTypeBadConfig, fmt.Errorf("report period [%s, %s) is empty", req.From, req.To))
	}
	settings, err := a.Store.Settings(ctx)
	if err != nil {
		// Broken settings name no recipients anyone chose: wait (retry)
		// for the PUT that repairs them rather than skip the period.
		return res, fmt.Errorf("settings: %w", err)
	}
	if len(settings.ReportRecipients) == 0 {
		return res, nil
	}
	p, err := a.Store.Program(ctx, req.ProgramID)
	if err != nil {
		return res, storeErr("program", err)
	}
	params, err := programs.Decode(p.Kind, p.Params)
	if err != nil {
		// Reported over the default window, as the API reports it.
		params = nil
	}
	bctx, cancel := context.WithTimeout(ctx, reportBuildBudget)
	rep, err := report.Make(bctx, a.Store, report.Request{
		ProgramID: p.ID, From: req.From, To: req.To, Window: report.WindowOf(params), Now: time.Now(),
	})
	cancel()
	if err != nil {
		return res, fmt.Errorf("program %d report: %w", p.ID, err)
	}
	var csv bytes.Buffer
	if err := report.WriteCSV(&csv, rep); err != nil {
		return res, fmt.Errorf("program %d report csv: %w", p.ID, err)
	}
	loc, err := time.LoadLocation(settings.DefaultTimeZone)
	if err != nil {
		loc = time.UTC
	}
	subject, body := reportMailText(p, rep, loc)
	attachment := mail.Attachment{
		Name:        fmt.Sprintf("program-%d-report-%s-%s.csv", p.ID, req.From.In(loc).Format(time.DateOnly), req.To.In(loc).Format(time.DateOnly)),
		ContentType: "text/csv; charset=utf-8",
		Data:        csv.Bytes(),
	}
	var retry error
	for _, rcpt := range settings.ReportRecipients {
		outcome, err := a.mailReport(ctx, p.ID, req, rcpt, subject, body, attachment)
		switch outcome {
		case store.ReportMailSent:
			res.Sent++
		case store.ReportMailAmbiguous:
			res.Ambiguous++
		case store.ReportMailFailed:
			res.Failed++
		case "before":
			res.Before++
		}
		if err != nil && retry == nil {
			retry = err
		}
	}
	return res, retry
}

// mailReport sends one recipient's mail under its claim and says what
// became of it: a report mail status, "before" when an earlier run had
// settled it, or "" with the error when it is still to be sent.
func (a *Activities) mailReport(ctx context.Context, programID int64, req ReportMailRequest, rcpt, subject, body string, att mail.Attachment) (string, error) {
	m, err := a.Store.ClaimReportMail(ctx, programID, req.From, req.To, rcpt)
	if err != nil {
		return "", storeErr("claim report mail", err)
	}
	switch m.Status {
	case store.ReportMailPending:
	case store.ReportMailSending:
		if _, err := a.Store.SettleReportMail(ctx, m.ID, store.ReportMailAmbiguous,
			"an earlier attempt stopped after the end of data (crash or timeout); not sent again"); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", storeErr("mark report mail ambiguous", err)
		}
		return store.ReportMailAmbiguous, nil
	default:
		return "before", nil
	}
	marked := false
	err = a.Mail.Send(ctx, mail.Message{
		To: rcpt, Subject: subject, TextBody: body, MessageID: fmt.Sprintf("<report-%d@dangol>", m.ID),
		Attachments: []mail.Attachment{att},
		BeforeEndOfData: func() error {
			_, err := a.Store.MarkReportMailSending(ctx, m.ID)
			marked = err == nil
			return err
		},
	})
	if err == nil {
		return a.settleReportMail(ctx, m.ID, store.ReportMailSent, "")
	}
	// The address stays in report_mails, out of errors (and histories).
	reason := store.Redact(err.Error(), rcpt)
	var pe *mail.PermanentError
	var unknown *mail.UnknownOutcomeError
	switch {
	case errors.As(err, &unknown):
		return a.settleReportMail(ctx, m.ID, store.ReportMailAmbiguous, reason)
	case errors.As(err, &pe):
		return a.settleReportMail(ctx, m.ID, store.ReportMailFailed, reason)
	}
	if marked {
		// Refused or cut before the end of data: not taken.
		if _, nerr := a.Store.MarkReportMailNotSent(ctx, m.ID, reason); nerr != nil {
			return "", fmt.Errorf("report mail %d: %s (and recording that: %v)", m.ID, reason, nerr)
		}
	}
	return "", fmt.Errorf("report mail %d: %s", m.ID, reason)
}

func (a *Activities) settleReportMail(ctx context.Context, id int64, status, reason string) (string, error) {
	if _, err := a.Store.SettleReportMail(ctx, id, status, reason); err != nil {
		return "", storeErr("settle report mail", err)
	}
	return status, nil
}

// reportMailText is the mail's subject and text: the period and the
// headline figures; the CSV holds the rest. No customer data: a report
// counts, it names no one.
func reportMailText(p store.Program, rep report.Report, loc *time.Location) (subject, body string) {
	// Dates as an operator reads them: the last day is the day before
	// the period's exclusive end.
	first := rep.From.In(loc).Format(time.DateOnly)
	last := rep.To.In(loc).Add(-time.Nanosecond).Format(time.DateOnly)
	name := oneLine(p.Name)
	subject = fmt.Sprintf("[단골] %s 보고서 %s ~ %s", name, first, last)
	all := rep.All
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, #%d)\n", name, p.Kind, p.ID)
	fmt.Fprintf(&b, "기간: %s ~ %s (%s), 등록 시점 기준\n\n", first, last, loc)
	fmt.Fprintf(&b, "등록: 대상 %d명, 대조군 %d명\n", all.Enrolments.Treated, all.Enrolments.Control)
	fmt.Fprintf(&b, "구매 전환: 대상 %d명 (%.1f%%), 대조군 %d명 (%.1f%%)\n",
		all.Conversions.Treated.Converted, 100*all.Conversions.Treated.Rate,
		all.Conversions.Control.Converted, 100*all.Conversions.Control.Rate)
	fmt.Fprintf(&b, "효과(uplift): %+.1f%%p, %s\n\n", 100*all.Uplift.Uplift, all.Uplift.Verdict)
	fmt.Fprintf(&b, "매장별 전체 수치는 첨부한 CSV에 있습니다 (GET /v1/programs/%d/report.csv?from=%s&to=%s 와 같습니다).\n",
		p.ID, rep.From.Format(time.RFC3339), rep.To.Format(time.RFC3339))
	return subject, b.String()
}

// oneLine keeps an operator-typed name from breaking the subject header.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
}
