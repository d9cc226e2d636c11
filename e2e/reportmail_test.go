package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// Each program with enrolments in a period gets one mail per recipient,
// its CSV attached equal to GET /v1/programs/{id}/report.csv over the
// period; running the period again sends nothing (counted at the mail
// catcher). First by hand with an explicit period, then through the
// Temporal Schedule the settings PUT set up, for the month before now.
func TestReportMailsOnePerProgramAndPeriod(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	const ops = "ops@dangol.example.com"

	// The settings name the recipient and the period; the PUT moves the
	// schedule.
	var set map[string]any
	raw, _ := json.Marshal(testenv.AnyHourSettings())
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatal(err)
	}
	set["report_recipients"] = []string{ops}
	set["report_every"] = "monthly"
	s.must(http.StatusOK, "PUT", "/v1/settings", set, nil)
	h := s.tc.ScheduleClient().GetHandle(ctx, workflows.ReportMailsScheduleID)
	t.Cleanup(func() { _ = h.Delete(context.Background()) })
	d, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := d.Schedule.Spec
	if len(spec.Calendars) != 1 || spec.TimeZoneName != "Asia/Seoul" || fmt.Sprint(spec.Calendars[0].Month) != "[{1 12 1}]" ||
		spec.Calendars[0].DayOfMonth[0].Start != 1 || spec.Calendars[0].Hour[0].Start != schedules.ReportMailsHour {
		t.Fatalf("schedule spec %+v, want 06:00 on the first of every month in Asia/Seoul", spec)
	}
	if a, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction); !ok || a.TaskQueue != workflows.ControlQueue(s.queue) {
		t.Fatalf("schedule action %+v", d.Schedule.Action)
	}

	// Two programs enrolled in the period, one only before it.
	start := time.Now().Add(-time.Second).Truncate(time.Second)
	progA, progB, progC := s.reportProgram("A"), s.reportProgram("B"), s.reportProgram("C")
	s.seedEnrolment(progA, "a1", "강남점", false, true)
	s.seedEnrolment(progA, "a2", "강남점", false, false)
	s.seedEnrolment(progA, "a3", "홍대점", true, true)
	s.seedEnrolment(progB, "b1", "=HYPERLINK(\"x\")", false, false)
	c := s.seedEnrolment(progC, "c1", "강남점", false, false)
	if _, err := s.st.Pool().Exec(ctx, `UPDATE enrolments SET created_at = created_at - interval '400 days' WHERE program_id = $1`, progC); err != nil {
		t.Fatal(err)
	}
	_ = c
	end := time.Now().Add(2 * time.Second).Truncate(time.Second)
	s.startWorker()

	run := func(in workflows.ReportMailsInput) workflows.ReportMailsResult {
		t.Helper()
		wr, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("report-mails-test-%d", time.Now().UnixNano()),
			TaskQueue: workflows.ControlQueue(s.queue)}, "ReportMails", in)
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.ReportMailsResult
		rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := wr.Get(rctx, &res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	period := workflows.ReportMailsInput{From: start, To: end}
	first := run(period)
	if first.Programs != 2 || first.Sent != 2 || first.Before != 0 || first.Errors != 0 {
		t.Fatalf("first run %+v, want 2 programs, 2 mails sent", first)
	}
	s.checkReportMails(ops, start, end, map[int64]int{progA: 1, progB: 1})
	again := run(period)
	if again.Programs != 2 || again.Sent != 0 || again.Before != 2 {
		t.Fatalf("second run %+v, want nothing sent (2 sent before)", again)
	}
	s.checkReportMails(ops, start, end, map[int64]int{progA: 1, progB: 1})

	// Through the schedule: program B's enrolments move to last month
	// (Seoul), which the run triggered now reports, twice.
	seoul, _ := time.LoadLocation("Asia/Seoul")
	now := time.Now().In(seoul)
	thisMonth := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, seoul)
	lastMonth := thisMonth.AddDate(0, -1, 0)
	if _, err := s.st.Pool().Exec(ctx, `UPDATE enrolments SET created_at = $2 WHERE program_id = $1`, progB, lastMonth.Add(36*time.Hour)); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 0} {
		res := s.triggerReportMails(h)
		if res.Programs != 1 || res.Sent != want || !res.From.Equal(lastMonth) || !res.To.Equal(thisMonth) {
			t.Fatalf("scheduled run %d: %+v, want program B over [%s, %s), %d sent", i+1, res, lastMonth, thisMonth, want)
		}
		s.checkReportMails(ops, lastMonth, thisMonth, map[int64]int{progB: 1})
	}
	if n := len(s.receivedMails()); n != 3 {
		t.Fatalf("the catcher holds %d mails, want 3 (2 for the explicit period, 1 for last month)", n)
	}
	var rows int
	if err := s.st.Pool().QueryRow(ctx, `SELECT count(*) FROM report_mails WHERE status = 'sent' AND sent_at IS NOT NULL`).Scan(&rows); err != nil || rows != 3 {
		t.Fatalf("report_mails sent: %d %v, want 3", rows, err)
	}
}

func (s *stack) reportProgram(name string) int64 {
	s.t.Helper()
	p, err := s.st.CreateProgram(context.Background(), "보고서 "+name, "happy_call",
		[]byte(`{"touches":[{"key":"t1","offset":"1h","sms":"{{.Name}}님, 감사합니다"}]}`))
	if err != nil {
		s.t.Fatal(err)
	}
	return p.ID
}

// seedEnrolment records a purchase that enrols the customer (no workflow
// starts: the report reads the database) and, if converted, a second
// purchase a day later.
func (s *stack) seedEnrolment(program int64, ext, storeName string, control, converted bool) int64 {
	s.t.Helper()
	ctx := context.Background()
	c, _, err := s.st.UpsertCustomer(ctx, store.Customer{ExternalID: ext, Name: "고객 " + ext, TimeZone: "Asia/Seoul", Locale: "ko-KR", Consent: map[string]store.Consent{}})
	if err != nil {
		s.t.Fatal(err)
	}
	at := time.Now().Add(-time.Hour)
	_, _, es, err := s.st.RecordPurchase(ctx, store.Purchase{ExternalID: ext + "-1", CustomerID: c.ID, Amount: "120000", Currency: "KRW",
		Store: storeName, Category: "가전", PurchasedAt: at}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) {
		return []store.EnrolmentPlan{{ProgramID: program, ProgramVersion: 1, WorkflowID: fmt.Sprintf("report-%d-%s", program, ext), PerPurchase: true, Control: control}}, nil
	})
	if err != nil || len(es) != 1 {
		s.t.Fatalf("enrol %s: %v %v", ext, es, err)
	}
	if converted {
		if _, _, _, err := s.st.RecordPurchase(ctx, store.Purchase{ExternalID: ext + "-2", CustomerID: c.ID, Amount: "35000.50", Currency: "KRW",
			Store: storeName, Category: "가전", PurchasedAt: time.Now()}, func(store.Purchase, int) ([]store.EnrolmentPlan, error) { return nil, nil }); err != nil {
			s.t.Fatal(err)
		}
	}
	return es[0].ID
}

// triggerReportMails runs the schedule now and waits for its run.
func (s *stack) triggerReportMails(h client.ScheduleHandle) workflows.ReportMailsResult {
	s.t.Helper()
	ctx := context.Background()
	before, err := h.Describe(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range before.Info.RecentActions {
		if a.StartWorkflowResult != nil {
			seen[a.StartWorkflowResult.FirstExecutionRunID] = true
		}
	}
	if err := schedules.TriggerReportMails(ctx, s.tc); err != nil {
		s.t.Fatal(err)
	}
	var run *client.ScheduleWorkflowExecution
	eventually(s.t, 30*time.Second, "the triggered run", func() bool {
		d, err := h.Describe(ctx)
		if err != nil {
			s.t.Fatal(err)
		}
		for _, a := range d.Info.RecentActions {
			if r := a.StartWorkflowResult; r != nil && !seen[r.FirstExecutionRunID] {
				run = r
			}
		}
		return run != nil
	})
	var res workflows.ReportMailsResult
	rctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	if err := s.tc.GetWorkflow(rctx, run.WorkflowID, run.FirstExecutionRunID).Get(rctx, &res); err != nil {
		s.t.Fatal(err)
	}
	return res
}

// reportMail is a mail the catcher took, with its attachment.
type reportMail struct {
	to, subject, filename string
	csv                   []byte
}

// receivedMails parses every mail the catcher took.
func (s *stack) receivedMails() []reportMail {
	s.t.Helper()
	var out []reportMail
	for _, m := range s.mail.Messages() {
		if !m.Msg() {
			continue
		}
		parsed, err := netmail.ReadMessage(strings.NewReader(m.MsgRequest()))
		if err != nil {
			s.t.Fatal(err)
		}
		rm := reportMail{to: parsed.Header.Get("To")}
		rm.subject, _ = new(mime.WordDecoder).DecodeHeader(parsed.Header.Get("Subject"))
		s.attachments(parsed.Header.Get("Content-Type"), parsed.Body, &rm)
		out = append(out, rm)
	}
	return out
}

func (s *stack) attachments(contentType string, body io.Reader, rm *reportMail) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return
	}
	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.t.Fatal(err)
		}
		if disp, dp, _ := mime.ParseMediaType(p.Header.Get("Content-Disposition")); disp == "attachment" {
			if rm.filename != "" {
				s.t.Fatalf("mail to %s carries more than one attachment", rm.to)
			}
			raw, err := io.ReadAll(p)
			if err != nil {
				s.t.Fatal(err)
			}
			if !strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
				s.t.Fatalf("attachment encoded %q, want base64", p.Header.Get("Content-Transfer-Encoding"))
			}
			if rm.csv, err = io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw))); err != nil {
				s.t.Fatal(err)
			}
			rm.filename = dp["filename"]
			continue
		}
		s.attachments(p.Header.Get("Content-Type"), p, rm)
	}
}

// checkReportMails: the catcher holds, for each program of want, want
// mails to rcpt over [from, to) (by attachment name), each with the CSV
// the API answers for the same range.
func (s *stack) checkReportMails(rcpt string, from, to time.Time, want map[int64]int) {
	s.t.Helper()
	seoul, _ := time.LoadLocation("Asia/Seoul")
	mails := s.receivedMails()
	for program, n := range want {
		name := fmt.Sprintf("program-%d-report-%s-%s.csv", program, from.In(seoul).Format(time.DateOnly), to.In(seoul).Format(time.DateOnly))
		var got []reportMail
		for _, m := range mails {
			if m.filename == name {
				got = append(got, m)
			}
		}
		if len(got) != n {
			s.t.Fatalf("%d mails carry %s, want %d (all: %d mails)", len(got), name, n, len(mails))
		}
		wantCSV := s.reportCSV(program, from, to)
		for _, m := range got {
			if m.to != "<"+rcpt+">" && m.to != rcpt {
				s.t.Errorf("mail to %q, want %s", m.to, rcpt)
			}
			if !strings.Contains(m.subject, "보고서") {
				s.t.Errorf("subject %q", m.subject)
			}
			if !bytes.Equal(m.csv, wantCSV) {
				s.t.Fatalf("program %d: attached CSV\n%s\nwant what the API answers\n%s", program, m.csv, wantCSV)
			}
		}
	}
}

func (s *stack) reportCSV(program int64, from, to time.Time) []byte {
	s.t.Helper()
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	req, err := http.NewRequest("GET", fmt.Sprintf("%s/v1/programs/%d/report.csv?%s", s.api.URL, program, q.Encode()), nil)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("report.csv: %d %s", resp.StatusCode, body)
	}
	if !bytes.Contains(body, []byte("\n")) || bytes.Count(body, []byte("\n")) < 2 {
		s.t.Fatalf("report.csv has no rows: %s", body)
	}
	return body
}
