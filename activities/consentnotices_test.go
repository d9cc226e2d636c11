package activities_test

import (
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

const day = 24 * time.Hour

// adCustomer stores a customer who granted SMS advertising consent at
// `at` (and withdrew mail), with the given phone ("" for none).
func (r *rig) adCustomer(externalID, phone, locale string, at time.Time) int64 {
	r.t.Helper()
	c := store.Customer{ExternalID: externalID, Name: "김민수", TimeZone: "Asia/Seoul", Locale: locale,
		Consent: map[string]store.Consent{
			"sms":   {Granted: true, At: at, Source: "pos"},
			"email": {Granted: false, At: at.Add(-day), Source: "pos"},
		}}
	if phone != "" {
		c.Phone = &phone
	}
	got, _, err := r.st.UpsertCustomer(r.ctx, c)
	if err != nil {
		r.t.Fatal(err)
	}
	return got.ID
}

// runNotices does what one run of the ConsentNotices workflow does, on
// real parts: every page of a kind, each notice through SendMessage, then
// recorded. It returns the notices it found.
func (r *rig) runNotices(kind string) []activities.ConsentNotice {
	r.t.Helper()
	var all []activities.ConsentNotice
	req := activities.ConsentNoticePageRequest{Kind: kind, Limit: 2}
	for {
		page, err := r.acts.ConsentNoticePage(r.ctx, req)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, n := range page.Notices {
			_, _ = r.acts.SendMessage(r.ctx, n.SendRequest())
		}
		if err := r.acts.RecordConsentNotices(r.ctx, page.Notices); err != nil {
			r.t.Fatal(err)
		}
		all = append(all, page.Notices...)
		if page.Done {
			return all
		}
		req.After = page.NextAfter
	}
}

func (r *rig) due(status string) []store.ConsentDue {
	r.t.Helper()
	got, err := r.st.ConsentsDue(r.ctx, store.ConsentsDueQuery{Now: time.Now(), PeriodDays: 730, Status: status, Limit: 500})
	if err != nil {
		r.t.Fatal(err)
	}
	return got
}

// A customer is due once their consent is one period (730 days) old, not
// an hour before, and again every period after; a withdrawn consent is
// not due. Each due customer gets one notice in their language; a second
// run sends nothing.
func TestReconfirmNoticeDueAtTheBoundaryAndSentOnce(t *testing.T) {
	r := newRig(t)
	now := time.Now()
	due := r.adCustomer("due", "+821011110001", "ko-KR", now.Add(-730*day-time.Minute))
	notYet := r.adCustomer("not-yet", "+821011110002", "ko-KR", now.Add(-730*day+time.Hour))
	third := r.adCustomer("third-cycle", "+15005550101", "en-US", now.Add(-3*730*day-2*day))
	withdrawn := r.adCustomer("withdrawn", "+821011110003", "ko-KR", now.Add(-800*day))
	if _, _, err := r.st.UpsertCustomerWith(r.ctx, "withdrawn", func(c *store.Customer) (store.Customer, error) {
		c.Consent["sms"] = store.Consent{Granted: false, At: now.Add(-day), Source: "pos"}
		return *c, nil
	}); err != nil {
		t.Fatal(err)
	}

	got := r.due(store.NoticeStatusDue)
	ids := map[int64]store.ConsentDue{}
	for _, d := range got {
		ids[d.CustomerID] = d
	}
	if len(got) != 2 || ids[due].CustomerID == 0 || ids[third].CustomerID == 0 {
		t.Fatalf("due %+v, want customers %d and %d (not %d, %d)", got, due, third, notYet, withdrawn)
	}
	// The third cycle's notice is due on consent + 3 periods.
	if want := now.Add(-3*730*day - 2*day).Add(3 * 730 * day).UTC().Format(time.DateOnly); ids[third].DueOn != want {
		t.Fatalf("third cycle due on %s, want %s", ids[third].DueOn, want)
	}

	sent := r.runNotices(store.NoticeReconfirm)
	if len(sent) != 2 {
		t.Fatalf("first run: %d notices, want 2", len(sent))
	}
	if again := r.runNotices(store.NoticeReconfirm); len(again) != 0 {
		t.Fatalf("second run: %d notices, want none", len(again))
	}
	eventually(t, "two SMS at the stand-in", func() bool { return len(r.standin.Messages()) >= 2 })
	time.Sleep(200 * time.Millisecond)
	msgs := r.standin.Messages()
	if len(msgs) != 2 {
		t.Fatalf("stand-in got %d SMS, want 2", len(msgs))
	}
	bodies := map[string]string{}
	for _, m := range msgs {
		bodies[m.To] = m.Body
	}
	ko := bodies["+821011110001"]
	consented := now.Add(-730*day - time.Minute).In(mustZone(t, "Asia/Seoul"))
	if !strings.Contains(ko, "광고성 정보 수신동의 안내") || !strings.Contains(ko, consented.Format("2006년 1월 2일")) ||
		!strings.Contains(ko, "문자(SMS)") || !strings.Contains(ko, "철회") {
		t.Fatalf("Korean notice %q", ko)
	}
	if en := bodies["+15005550101"]; !strings.Contains(en, "you agreed to receive advertising by text message (SMS)") {
		t.Fatalf("English notice %q", en)
	}
	// Both are recorded as notified for this cycle (the stand-in
	// delivered them), and nobody is due any more.
	eventually(t, "notices notified", func() bool { return len(r.due(store.NoticeStatusNotified)) == 2 })
	if d := r.due(store.NoticeStatusDue); len(d) != 0 {
		t.Fatalf("still due: %+v", d)
	}
	counts, err := r.st.CountConsentsDue(r.ctx, time.Now(), 730)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.NoticeStatusNotified] != 2 || counts[store.NoticeStatusDue] != 0 || counts[store.NoticeStatusUndelivered] != 0 {
		t.Fatalf("counts %v", counts)
	}
}

// A notice that cannot be delivered (no address at all) is recorded and
// reported undelivered, not sent again and again.
func TestReconfirmNoticeWithoutAddressIsReportedUndelivered(t *testing.T) {
	r := newRig(t)
	id := r.adCustomer("no-address", "", "ko-KR", time.Now().Add(-731*day))
	if n := r.runNotices(store.NoticeReconfirm); len(n) != 1 || n[0].Channel != domain.ChannelEmail {
		t.Fatalf("notices %+v, want one by mail", n)
	}
	if n := r.runNotices(store.NoticeReconfirm); len(n) != 0 {
		t.Fatalf("second run: %+v", n)
	}
	got := r.due(store.NoticeStatusUndelivered)
	if len(got) != 1 || got[0].CustomerID != id || got[0].LastNotice == nil || got[0].LastNotice.MessageStatus == nil ||
		*got[0].LastNotice.MessageStatus != domain.MessageSuppressed {
		t.Fatalf("undelivered %+v", got)
	}
	counts, err := r.st.CountConsentsDue(r.ctx, time.Now(), 730)
	if err != nil {
		t.Fatal(err)
	}
	if counts[store.NoticeStatusUndelivered] != 1 {
		t.Fatalf("counts %v", counts)
	}
}

// A consent change recorded by someone other than the customer is told
// to the customer once, on SMS even though it withdrew SMS consent (a
// legal notice is service); the customer's own change is not.
func TestChangeNoticeOncePerEventMadeOnTheCustomersBehalf(t *testing.T) {
	r := newRig(t)
	id := r.adCustomer("changed", "+821022220001", "ko-KR", time.Now().Add(-day))
	if _, _, err := r.st.UpsertCustomerWith(r.ctx, "changed", func(c *store.Customer) (store.Customer, error) {
		c.Consent["sms"] = store.Consent{Granted: false, At: time.Now(), Source: "call-centre"}
		return *c, nil
	}); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, actor := range []string{"customer", "call-centre-key"} {
		if _, err := r.st.Pool().Exec(r.ctx, `INSERT INTO consent_events (customer_id, channel, granted, at, source, actor)
			VALUES ($1, 'sms', false, $2, 'call-centre', $3)`, id, at, actor); err != nil {
			t.Fatal(err)
		}
	}
	for run := range 2 {
		n := r.runNotices(store.NoticeChange)
		if want := 1 - run; len(n) != want {
			t.Fatalf("run %d: %d notices, want %d", run+1, len(n), want)
		}
	}
	eventually(t, "one SMS", func() bool { return len(r.standin.Messages()) >= 1 })
	time.Sleep(200 * time.Millisecond)
	msgs := r.standin.Messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Body, "2026년 11월 20일") || !strings.Contains(msgs[0].Body, "수신거부(동의 철회)") || strings.Contains(msgs[0].Body, "철회됩니다") {
		t.Fatalf("stand-in got %+v", msgs)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
