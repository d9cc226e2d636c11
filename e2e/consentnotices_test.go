package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

// The consent-notices job on the real stack: a customer whose consent is
// two years old gets exactly one reconfirmation SMS at the stand-in, a
// consent change made by staff is told once, and running the job a second
// time sends nothing; a customer the notice cannot reach is reported
// undelivered by GET /v1/consents:due.
func TestConsentNoticesOnceEndToEnd(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	day := 24 * time.Hour
	old := time.Now().Add(-730*day - time.Hour)
	seed := func(ext, phone string, at time.Time) int64 {
		c := store.Customer{ExternalID: ext, Name: "김민수", TimeZone: "Asia/Seoul", Locale: "ko-KR",
			Consent: map[string]store.Consent{"sms": {Granted: true, At: at, Source: "pos"}}}
		if phone != "" {
			c.Phone = &phone
		}
		got, _, err := s.st.UpsertCustomer(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return got.ID
	}
	seed("due", "+821044440001", old)
	seed("unreachable", "", old)
	changed := seed("changed", "+821044440002", time.Now().Add(-day))
	if _, err := s.st.Pool().Exec(ctx, `INSERT INTO consent_events (customer_id, channel, granted, at, source, actor)
		VALUES ($1, 'night', true, now(), 'call-centre', 'e2e')`, changed); err != nil {
		t.Fatal(err)
	}
	s.startWorker()

	var runs []string
	for run := range 2 {
		id := workflows.ConsentNoticesWorkflowID + "-" + s.queue + "-" + string(rune('a'+run))
		wr, err := s.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: workflows.ControlQueue(s.queue)}, "ConsentNotices", workflows.ConsentNoticesInput{})
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithTimeout(ctx, time.Minute)
		var res workflows.ConsentNoticesResult
		err = wr.Get(rctx, &res)
		cancel()
		if err != nil {
			t.Fatalf("run %d: %v", run+1, err)
		}
		want := workflows.ConsentNoticesResult{Changes: 1, Reconfirms: 2}
		if run == 1 {
			want = workflows.ConsentNoticesResult{}
		}
		if res != want {
			t.Fatalf("run %d: %+v, want %+v", run+1, res, want)
		}
		runs = append(runs, id)
	}

	// Counted at the edge: one SMS each, whatever the second run did.
	eventually(t, 10*time.Second, "two SMS", func() bool { return len(s.standin.Messages()) >= 2 })
	time.Sleep(500 * time.Millisecond)
	if got := s.smsTo("+821044440001"); len(got) != 1 || !strings.Contains(got[0], "광고성 정보 수신동의 안내") {
		t.Fatalf("reconfirmation SMS %q, want one", got)
	}
	if got := s.smsTo("+821044440002"); len(got) != 1 || !strings.Contains(got[0], "야간") {
		t.Fatalf("change SMS %q, want one", got)
	}
	if n := len(s.standin.Messages()); n != 2 {
		t.Fatalf("stand-in got %d SMS, want 2", n)
	}

	var due struct {
		Counts   map[string]int64   `json:"counts"`
		Consents []store.ConsentDue `json:"consents"`
	}
	eventually(t, 10*time.Second, "the notice delivered", func() bool {
		s.must(http.StatusOK, "GET", "/v1/consents:due", nil, &due)
		return due.Counts[store.NoticeStatusNotified] == 1
	})
	if due.Counts[store.NoticeStatusUndelivered] != 1 || due.Counts[store.NoticeStatusDue] != 0 || len(due.Consents) != 2 {
		t.Fatalf("consents due %+v", due)
	}
	for _, c := range due.Consents {
		if want := map[string]string{"due": "notified", "unreachable": "undelivered"}[c.ExternalID]; c.Status != want {
			t.Fatalf("%s: status %s, want %s", c.ExternalID, c.Status, want)
		}
	}
	saveHistory(t, s.tc, runs[0], "consentnotices")
}
