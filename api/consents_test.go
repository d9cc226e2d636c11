package api_test

import (
	"context"
	"github.com/dangol/dangol/compliance"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/store"
)

type consentsDuePage struct {
	PeriodDays int                `json:"period_days"`
	Counts     map[string]int64   `json:"counts"`
	Consents   []store.ConsentDue `json:"consents"`
	NextCursor string             `json:"next_cursor"`
}

// GET /v1/consents:due lists who is due a reconfirmation notice, paged,
// with each notice's status; an undelivered notice is reported and
// counted; the period comes from the settings.
func TestConsentsDue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	day := 24 * time.Hour
	seed := func(ext string, at time.Time) int64 {
		phone := "+821033330000"
		c, _, err := e.st.UpsertCustomer(ctx, store.Customer{ExternalID: ext, Name: "고객", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR",
			Consent: map[string]store.Consent{"sms": {Granted: true, At: at, Source: "pos"}, "email": {Granted: true, At: at.Add(-day), Source: "pos"}}})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	now := time.Now()
	seed("a-due", now.Add(-731*day))
	failed := seed("b-failed", now.Add(-740*day))
	seed("c-recent", now.Add(-10*day))
	seed("d-due", now.Add(-1500*day))
	// b's notice for this cycle failed at the provider.
	dueOn := now.Add(-740 * day).Add(730 * day).UTC().Format(time.DateOnly)
	key := "consent-notice:reconfirm:" + itoa64(failed) + ":" + dueOn
	if _, err := e.db.Exec(ctx, `INSERT INTO messages (idempotency_key, customer_id, channel, recipient, body, status)
		VALUES ($1, $2, 'sms', '+821033330000', 'x', 'failed')`, key, failed); err != nil {
		t.Fatal(err)
	}
	if err := e.st.RecordConsentNotice(ctx, store.ConsentNotice{CustomerID: failed, Kind: store.NoticeReconfirm, DueOn: dueOn, Channel: "sms", MessageKey: key}); err != nil {
		t.Fatal(err)
	}

	var page consentsDuePage
	e.must(http.StatusOK, "GET", "/v1/consents:due?limit=2", nil, &page)
	if page.PeriodDays != 730 || len(page.Consents) != 2 || page.NextCursor == "" {
		t.Fatalf("first page %+v", page)
	}
	if a, b := page.Consents[0], page.Consents[1]; a.ExternalID != "a-due" || a.Status != "due" || b.ExternalID != "b-failed" ||
		b.Status != "undelivered" || b.LastNotice == nil || *b.LastNotice.MessageStatus != "failed" || b.DueOn != dueOn {
		t.Fatalf("first page %+v", page.Consents)
	}
	if ch := page.Consents[0].Channels; len(ch) != 2 || ch[0] != "email" || ch[1] != "sms" {
		t.Fatalf("channels %v", ch)
	}
	want := map[string]int64{"due": 2, "sending": 0, "notified": 0, "undelivered": 1}
	for k, v := range want {
		if page.Counts[k] != v {
			t.Fatalf("counts %v, want %v", page.Counts, want)
		}
	}
	var rest consentsDuePage
	e.must(http.StatusOK, "GET", "/v1/consents:due?limit=2&cursor="+page.NextCursor, nil, &rest)
	if len(rest.Consents) != 1 || rest.Consents[0].ExternalID != "d-due" || rest.NextCursor != "" {
		t.Fatalf("second page %+v", rest)
	}
	var und consentsDuePage
	e.must(http.StatusOK, "GET", "/v1/consents:due?status=undelivered", nil, &und)
	if len(und.Consents) != 1 || und.Consents[0].ExternalID != "b-failed" {
		t.Fatalf("undelivered %+v", und)
	}

	// A shorter period in the settings makes the recent customer due, and
	// the failed customer due again in a new cycle.
	set := compliance.Defaults()
	set.ReconfirmEveryDays = 7
	if _, err := e.st.PutSettings(ctx, set, "test"); err != nil {
		t.Fatal(err)
	}
	var short consentsDuePage
	e.must(http.StatusOK, "GET", "/v1/consents:due?status=due", nil, &short)
	if short.PeriodDays != 7 || len(short.Consents) != 4 || short.Counts["due"] != 4 || short.NextCursor != "" {
		t.Fatalf("period 7: %+v", short)
	}

	for _, bad := range []struct{ query, field string }{
		{"limit=0", "limit"}, {"limit=501", "limit"}, {"limit=x", "limit"}, {"limit=99999999999999999999", "limit"},
		{"cursor=-1", "cursor"}, {"cursor=abc", "cursor"}, {"status=lost", "status"},
		{"status=%00", "status"}, {"cursor=%ff", "cursor"},
	} {
		e.call("GET", "/v1/consents:due?"+bad.query, nil).wantProblem(t, http.StatusBadRequest, bad.field)
	}
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
