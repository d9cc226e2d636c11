package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/internal/testenv"
)

// Once on the real stack, with a short window: an advertising SMS that
// comes due in the Korean quiet hours is held on a durable timer, goes
// through the send path again when the window ends, and arrives once,
// with the engine's (광고) label and opt-out line; a service message due
// in the same window goes at once.
func TestQuietHoursEndToEnd(t *testing.T) {
	s := newStack(t)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	// The window closes at the next minute boundary at least 10 s away:
	// windows are in whole minutes of the customer's clock.
	now := time.Now().In(seoul)
	end := now.Truncate(time.Minute).Add(time.Minute)
	if end.Sub(now) < 10*time.Second {
		end = end.Add(time.Minute)
	}
	set := testenv.AnyHourSettings()
	set.QuietHours = map[string]compliance.QuietHours{"KR": {Start: end.Add(-time.Hour).Format("15:04"), End: end.Format("15:04"),
		Purposes: []string{compliance.PurposeMarketing}, NightConsent: true}}
	testenv.PutSettings(t, s.st, set)
	s.startWorker()
	const phone = "+821012345679"
	s.putCustomer("c-q", phone, "q@example.com")
	// Two programs follow the purchase: one advertises, one thanks.
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "심야 특가", "kind": "happy_call", "params": map[string]any{
		"categories": []string{"가전"},
		"touches":    []map[string]any{{"key": "offer", "offset": "2s", "purpose": "marketing", "sms": "{{.Name}}님 특가 안내"}}}}, nil)
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "감사", "kind": "happy_call", "params": map[string]any{
		"categories": []string{"가전"},
		"touches":    []map[string]any{{"key": "thanks", "offset": "2s", "sms": "{{.Name}}님 구매 감사합니다"}}}}, nil)
	s.postPurchase("o-q", "c-q", "가전", time.Now(), http.StatusCreated)

	eventually(t, 20*time.Second, "the service SMS", func() bool { return len(s.smsTo(phone)) >= 1 })
	if got := s.smsTo(phone); len(got) != 1 || !strings.Contains(got[0], "구매 감사합니다") {
		t.Fatalf("in the quiet window the stand-in got %q; want the service message only", got)
	}
	eventually(t, time.Until(end)+20*time.Second, "the advertising SMS after the window", func() bool { return len(s.smsTo(phone)) >= 2 })
	if arrived := time.Now(); arrived.Before(end) {
		t.Fatalf("advertising SMS arrived at %s, before the window ended at %s", arrived, end)
	}
	time.Sleep(time.Second)
	got := s.smsTo(phone)
	if len(got) != 2 || !strings.HasPrefix(got[1], "(광고)단골상점 ") || !strings.HasSuffix(got[1], "무료수신거부 080-555-0100") {
		t.Fatalf("stand-in got %q; want the advertising SMS once, labelled", got)
	}
}
