package activities_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/internal/testenv"
	"github.com/dangol/dangol/store"
)

// marketing is the rig's request with the purpose pinned to marketing.
func (r *rig) marketing(key string, customerID int64) activities.SendRequest {
	req := r.request(key, domain.ChannelSMS, customerID)
	req.Purpose = compliance.PurposeMarketing
	return req
}

func (r *rig) settings(change func(*compliance.Settings)) {
	s := testenv.AnyHourSettings()
	change(&s)
	testenv.PutSettings(r.t, r.st, s)
}

// quietNow is a Korean marketing window around this very moment in Seoul
// (tests must not depend on the hour CI runs them), ending in two hours.
func quietNow() (compliance.QuietHours, time.Time) {
	seoul, _ := time.LoadLocation("Asia/Seoul")
	now := time.Now().In(seoul).Truncate(time.Minute)
	start, end := now.Add(-time.Hour), now.Add(2*time.Hour)
	return compliance.QuietHours{Start: start.Format("15:04"), End: end.Format("15:04"),
		Purposes: []string{compliance.PurposeMarketing}, NightConsent: true}, end
}

// Two programs send advertising to one customer at the same instant under
// a cap of one: exactly one message reaches the provider; the other waits
// for the window to free (or is skipped, as its program says).
func TestCapLetsOneOfTwoSimultaneousMarketingMessagesThrough(t *testing.T) {
	r := newRig(t)
	r.settings(func(s *compliance.Settings) { s.FrequencyCap = compliance.FrequencyCap{Max: 1, WindowDays: 7} })
	c := r.customer("c-1", "+821055550001", "a@example.com")
	var wg sync.WaitGroup
	results := make([]activities.SendResult, 2)
	for i := range results {
		wg.Go(func() {
			res, err := r.acts.SendMessage(r.ctx, r.marketing(fmt.Sprintf("program-%d:greeting", i), c))
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	statuses := map[string]int{}
	for _, res := range results {
		statuses[res.Status]++
	}
	if statuses[domain.MessageQueued] != 1 || statuses[domain.MessageHeld] != 1 {
		t.Fatalf("results %+v; want one queued, one held", results)
	}
	for _, res := range results {
		if res.Status == domain.MessageHeld {
			if res.Reason != compliance.ReasonCapped || time.Until(res.NotBefore) < 6*24*time.Hour {
				t.Fatalf("held %+v; want capped until about a week from now", res)
			}
		}
	}
	// A service message is not capped.
	if res, err := r.acts.SendMessage(r.ctx, r.request("service", domain.ChannelSMS, c)); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("service message: %+v %v", res, err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(r.standin.Messages()); got != 2 {
		t.Fatalf("stand-in received %d SMS, want 2 (one marketing, one service)", got)
	}
	// The last try of a capped message records it suppressed, not held.
	last := r.marketing("program-3:greeting", c)
	last.LastTry = true
	if res, err := r.acts.SendMessage(r.ctx, last); err != nil || res.Status != domain.MessageSuppressed || res.Reason != compliance.ReasonCapped {
		t.Fatalf("last try: %+v %v; want suppressed, capped", res, err)
	}
}

// A marketing SMS in the Korean quiet hours is held until they end,
// recorded with the reason; a service message at the same moment goes. When
// the window is lifted, the same request sends the held message once.
func TestQuietHoursHoldMarketingNotService(t *testing.T) {
	r := newRig(t)
	window, end := quietNow()
	r.settings(func(s *compliance.Settings) { s.QuietHours = map[string]compliance.QuietHours{"KR": window} })
	c := r.customer("c-1", "+821055550001", "a@example.com")
	res, err := r.acts.SendMessage(r.ctx, r.marketing("m", c))
	if err != nil || res.Status != domain.MessageHeld || res.Reason != compliance.ReasonQuietHours || !res.NotBefore.Equal(end) {
		t.Fatalf("marketing in quiet hours: %+v %v; want held until %s", res, err, end)
	}
	if m := r.message("m"); m.Status != domain.MessageHeld || m.NotBefore == nil || !m.NotBefore.Equal(end) || deref(m.ErrorMessage) != compliance.ReasonQuietHours {
		t.Fatalf("recorded %+v", m)
	}
	if res, err := r.acts.SendMessage(r.ctx, r.request("s", domain.ChannelSMS, c)); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("service in quiet hours: %+v %v; want sent", res, err)
	}
	// Night-time consent lifts the Korean window.
	night := r.customer("c-night", "+821055550002", "n@example.com")
	if _, _, err := r.st.UpsertCustomerWith(r.ctx, "c-night", func(old *store.Customer) (store.Customer, error) {
		old.Consent[domain.ChannelNight] = store.Consent{Granted: true, At: time.Now(), Source: "pos"}
		return *old, nil
	}); err != nil {
		t.Fatal(err)
	}
	if res, err := r.acts.SendMessage(r.ctx, r.marketing("night", night)); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("marketing with night consent: %+v %v; want sent", res, err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(r.standin.Messages()); got != 2 {
		t.Fatalf("stand-in received %d SMS during quiet hours, want 2 (service, night consent)", got)
	}
	// The window opens (settings changed): the workflow asks again.
	r.settings(func(*compliance.Settings) {})
	for range 2 {
		if res, err := r.acts.SendMessage(r.ctx, r.marketing("m", c)); err != nil || res.Status != domain.MessageQueued {
			t.Fatalf("after the window: %+v %v; want sent", res, err)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(r.standin.Messages()); got != 3 {
		t.Fatalf("stand-in received %d SMS, want 3: the held one exactly once", got)
	}
}

// Whatever the template writes, a Korean advertising SMS starts with
// exactly one "(광고)" and the sender's name and ends with the free opt-out
// line; its segments are counted as carriers count them.
func TestKoreanAdvertisingFormatCannotBeFaked(t *testing.T) {
	r := newRig(t)
	p, err := r.st.CreateProgram(r.ctx, "fake", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s",
		"sms":"（광고） [광고]가짜상점 {{.Name}}님 특가!\n무료수신거부 080-000-0000"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c := r.customer("c-1", "+821055550001", "a@example.com")
	req := r.marketing("fake", c)
	req.Template.ProgramID = p.ID
	if res, err := r.acts.SendMessage(r.ctx, req); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("send: %+v %v", res, err)
	}
	msgs := r.standin.Messages()
	if len(msgs) != 1 {
		t.Fatalf("stand-in received %d SMS", len(msgs))
	}
	body := msgs[0].Body
	if !strings.HasPrefix(body, "(광고)단골상점 ") || strings.Count(body, "광고") != 1 ||
		!strings.HasSuffix(body, "\n무료수신거부 080-555-0100") || strings.Count(body, "수신거부") != 1 || strings.Contains(body, "080-000-0000") {
		t.Fatalf("body %q: want one (광고)단골상점 prefix and one opt-out line, the engine's", body)
	}
	m := r.message("fake")
	if m.Purpose != compliance.PurposeMarketing || deref(m.Encoding) != compliance.EncodingUCS2 || m.Segments == nil || *m.Segments != 1 {
		t.Fatalf("recorded purpose %q encoding %v segments %v", m.Purpose, m.Encoding, m.Segments)
	}
	// The same template as a service message goes as written.
	svc := r.request("fake-service", domain.ChannelSMS, c)
	svc.Template.ProgramID, svc.Purpose = p.ID, compliance.PurposeService
	if _, err := r.acts.SendMessage(r.ctx, svc); err != nil {
		t.Fatal(err)
	}
	if b := r.message("fake-service").Body; strings.HasPrefix(b, "(광고)단골상점") {
		t.Fatalf("service body %q decorated as advertising", b)
	}
}

// Advertising without the sender, contact or 080 number the law requires
// is held, naming what is missing, not sent unlawfully.
func TestAdvertisingWaitsForCompleteSettings(t *testing.T) {
	r := newRig(t)
	r.settings(func(s *compliance.Settings) { s.OptOutNumber = "" })
	c := r.customer("c-1", "+821055550001", "a@example.com")
	res, err := r.acts.SendMessage(r.ctx, r.marketing("m", c))
	if err != nil || res.Status != domain.MessageHeld || !strings.Contains(res.Reason, "settings incomplete") || !strings.Contains(res.Reason, "opt_out_number") {
		t.Fatalf("%+v %v; want held, settings incomplete naming opt_out_number", res, err)
	}
	if len(r.standin.Messages()) != 0 {
		t.Fatal("sent without the opt-out number")
	}
}

// Advertising needs the channel's consent; a service message needs only
// an address. Each held-back message is recorded with its reason.
func TestConsentByPurpose(t *testing.T) {
	r := newRig(t)
	phone := "+821055550001"
	c, _, err := r.st.UpsertCustomer(r.ctx, store.Customer{ExternalID: "c-1", Name: "김민수", Phone: &phone, TimeZone: "Asia/Seoul", Locale: "ko-KR"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.acts.SendMessage(r.ctx, r.marketing("m", c.ID))
	if err != nil || res.Status != domain.MessageSuppressed || !strings.HasPrefix(res.Reason, compliance.ReasonNoConsent) {
		t.Fatalf("marketing without consent: %+v %v", res, err)
	}
	if res, err := r.acts.SendMessage(r.ctx, r.request("s", domain.ChannelSMS, c.ID)); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("service without advertising consent: %+v %v; want sent", res, err)
	}
	// Consent given more than the reconfirmation period (+ grace) ago and
	// never reconfirmed: lapsed.
	old := store.Consent{Granted: true, At: time.Now().AddDate(-3, 0, 0), Source: "pos"}
	if _, _, err := r.st.UpsertCustomerWith(r.ctx, "c-1", func(cur *store.Customer) (store.Customer, error) {
		cur.Consent = map[string]store.Consent{domain.ChannelSMS: old}
		return *cur, nil
	}); err != nil {
		t.Fatal(err)
	}
	if res, err := r.acts.SendMessage(r.ctx, r.marketing("lapsed", c.ID)); err != nil || res.Status != domain.MessageSuppressed || res.Reason != compliance.ReasonConsentLapsed {
		t.Fatalf("marketing on a 3-year-old consent: %+v %v; want suppressed, consent lapsed", res, err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := len(r.standin.Messages()); got != 1 {
		t.Fatalf("stand-in received %d SMS, want the service message only", got)
	}
}
