package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/schedules"
	"github.com/dangol/dangol/store"
	"github.com/dangol/dangol/workflows"
)

func (s *stack) waitOutcome(t *testing.T, customer string, programID int64, want string, timeout time.Duration) store.Enrolment {
	t.Helper()
	var e store.Enrolment
	eventually(t, timeout, customer+" to end "+want, func() bool {
		es := s.enrolmentsOf(t, customer, programID)
		if len(es) == 1 {
			e = es[0]
		}
		return e.Outcome != nil
	})
	if *e.Outcome != want {
		t.Fatalf("%s ended %s, want %s", customer, *e.Outcome, want)
	}
	return e
}

// Second purchase: a first purchase brings a thank-you and, a moment
// later, a coupon; the second purchase ends the enrolment as converted.
func TestSecondPurchaseEndToEnd(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	const phone = "+821077770001"
	s.putCustomer("c-new", phone, "")
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "재구입 촉진", "kind": "second_purchase", "params": map[string]any{
		"coupon_after": "2s", "coupon": map[string]any{"kind": "percent", "value": "15", "valid_for": "1h"},
	}}, &prog)
	first := s.postPurchase("first-1", "c-new", "의류", time.Now(), http.StatusCreated)
	if len(first.Enrolments) != 1 {
		t.Fatalf("first purchase enrolments %+v", first.Enrolments)
	}
	eventually(t, 20*time.Second, "thank-you and coupon", func() bool { return len(s.smsTo(phone)) >= 2 })
	got := s.smsTo(phone)
	if !strings.Contains(got[0], "처음 찾아주셔서") || !strings.Contains(got[1], "15%") {
		t.Fatalf("messages %q", got)
	}
	if second := s.postPurchase("second-1", "c-new", "의류", time.Now(), http.StatusCreated); len(second.Enrolments) != 0 {
		t.Fatalf("second purchase enrolled again: %+v", second.Enrolments)
	}
	e := s.waitOutcome(t, "c-new", prog.ID, domain.OutcomeConverted, 15*time.Second)
	saveHistory(t, s.tc, e.WorkflowID, "secondpurchase.json")
}

// Dormant wake-up over its whole cadence in seconds: SMS, mail, SMS with a
// coupon, mail with the survey link; the answer becomes voice of the
// customer and the customer is marked dormant.
func TestDormantWakeupEndToEnd(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	ids := seedCustomers(t, s, "sleepy", 1, 200)
	ctx := context.Background()
	c, _ := s.st.CustomerByExternalID(ctx, ids[0])
	email := "sleepy@example.com"
	c.Email = &email
	c.Consent["email"] = store.Consent{Granted: true, At: time.Now(), Source: "seed"}
	if _, _, err := s.st.UpsertCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "휴면 깨우기", "kind": "dormant_wakeup", "params": map[string]any{
		"lapsed_days": 180, "holdout_percent": 0,
		"steps": []map[string]any{
			{"key": "d0", "offset": "0s", "channel": "sms", "message": map[string]any{"text": "{{.Name}}님, 잘 지내시죠?"}},
			{"key": "d30", "offset": "2s", "channel": "email", "message": map[string]any{"subject": "소식", "text": "새 상품 소식"}},
			{"key": "d90", "offset": "4s", "channel": "sms", "coupon": true, "message": map[string]any{"text": "쿠폰 {{.Coupon}}"}},
			{"key": "d180", "offset": "6s", "channel": "email", "survey": true, "message": map[string]any{"subject": "의견", "text": "알려주세요: {{.SurveyURL}}"}},
		},
	}}, &prog)
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil)
	e := s.waitOutcome(t, ids[0], prog.ID, domain.OutcomeDormant, 40*time.Second)
	if got := s.smsTo(*c.Phone); len(got) != 2 || !strings.Contains(got[1], "쿠폰 ") {
		t.Fatalf("sms %q", got)
	}
	mails := s.mail.Messages()
	if len(mails) != 2 {
		t.Fatalf("%d mails, want 2", len(mails))
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:\d+/s/[A-Za-z0-9_=\-]+`).FindString(strings.ReplaceAll(mails[1].MsgRequest(), "=\r\n", ""))
	if link == "" {
		t.Fatalf("no survey link in %q", mails[1].MsgRequest())
	}
	resp, err := http.PostForm(link, url.Values{"answer": {"직원이 무관심했어요"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("survey answer: %v %v", resp, err)
	}
	voices, _ := s.st.CustomerVoices(ctx, c.ID)
	if len(voices) != 1 || voices[0].Source != "survey" || voices[0].Note != "직원이 무관심했어요" {
		t.Fatalf("voices %+v", voices)
	}
	if c, _ = s.st.CustomerByExternalID(ctx, ids[0]); c.ID == 0 {
		t.Fatal("customer gone")
	}
	var lifecycle string
	_ = s.st.Pool().QueryRow(ctx, `SELECT lifecycle FROM customers WHERE id = $1`, c.ID).Scan(&lifecycle)
	if lifecycle != "dormant" {
		t.Fatalf("lifecycle %s", lifecycle)
	}
	saveHistory(t, s.tc, e.WorkflowID, "dormant.json")
}

// Birthday: the sweep enrols customers with a birthday; the yearly
// enrolment waits for the card's day, takes a birthday change, and ends
// when the program stops.
func TestBirthdayEnrolmentEndToEnd(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	s.must(http.StatusCreated, "PUT", "/v1/customers/bday", map[string]any{
		"name": "생일자", "phone": "+821066660001", "email": "bday@example.com", "birthday": "1990-12-24", "time_zone": "Asia/Seoul",
		"consent": map[string]any{"sms": map[string]any{"granted": true, "source": "pos"}, "email": map[string]any{"granted": true, "source": "pos"}},
	}, nil)
	s.putCustomer("no-bday", "+821066660002", "")
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "생일 축하", "kind": "birthday", "params": map[string]any{"holdout_percent": 0}}, &prog)
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/sweep", prog.ID), nil, nil)
	var e store.Enrolment
	eventually(t, 20*time.Second, "birthday enrolment to run", func() bool {
		es := s.enrolmentsOf(t, "bday", prog.ID)
		if len(es) == 1 {
			e = es[0]
		}
		return e.Status == domain.EnrolmentActive
	})
	c, _ := s.st.CustomerByExternalID(context.Background(), "no-bday")
	if es, _ := s.st.CustomerEnrolments(context.Background(), c.ID); len(es) != 0 {
		t.Fatalf("customer without a birthday enrolled: %+v", es)
	}
	var journey struct {
		Enrolments []struct {
			Next *workflows.NextStep `json:"next"`
		} `json:"enrolments"`
	}
	s.must(http.StatusOK, "GET", "/v1/customers/bday/journey", nil, &journey)
	if n := journey.Enrolments[0].Next; n == nil || n.At.Month() != time.December || n.At.Day() != 17 {
		t.Fatalf("next step %+v, want the card on Dec 17", n)
	}
	// A birthday changed through the customer API re-arms the timer.
	s.must(http.StatusOK, "PUT", "/v1/customers/bday", map[string]any{
		"name": "생일자", "phone": "+821066660001", "email": "bday@example.com", "birthday": "1990-12-30", "time_zone": "Asia/Seoul",
	}, nil)
	eventually(t, 10*time.Second, "re-armed card", func() bool {
		s.must(http.StatusOK, "GET", "/v1/customers/bday/journey", nil, &journey)
		n := journey.Enrolments[0].Next
		return n != nil && n.At.Day() == 23
	})
	// The schedule names its runs sweep/<program>-<time>.
	desc, err := s.tc.ScheduleClient().GetHandle(context.Background(), schedules.SweepScheduleID(prog.ID)).Describe(context.Background())
	if err != nil || len(desc.Info.RecentActions) == 0 {
		t.Fatalf("sweep schedule: %+v %v", desc, err)
	}
	sweepID := desc.Info.RecentActions[0].StartWorkflowResult.WorkflowID
	if !strings.HasPrefix(sweepID, workflows.SweepWorkflowID(prog.ID)) {
		t.Fatalf("sweep workflow id %s", sweepID)
	}
	s.must(http.StatusAccepted, "POST", fmt.Sprintf("/v1/programs/%d/stop", prog.ID), nil, nil)
	s.waitOutcome(t, "bday", prog.ID, domain.OutcomeStopped, 15*time.Second)
	saveHistory(t, s.tc, e.WorkflowID, "birthday.json")
	saveHistory(t, s.tc, sweepID, "sweep.json")
}

// Editing a running program: a text edit keeps the version and reaches the
// running enrolment at its next send; a step change makes a new version
// that only new enrolments get.
func TestProgramEditsAndVersions(t *testing.T) {
	s := newStack(t)
	s.startWorker()
	const phone = "+821088880001"
	s.putCustomer("c-edit", phone, "")
	touches := func(second, offset string) map[string]any {
		return map[string]any{"touches": []map[string]any{
			{"key": "a", "offset": "1s", "sms": "첫 번째"},
			{"key": "b", "offset": offset, "sms": second},
		}}
	}
	var prog programOut
	s.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "edits", "kind": "happy_call", "params": touches("두 번째", "6s")}, &prog)
	first := s.postPurchase("edit-1", "c-edit", "가전", time.Now(), http.StatusCreated)
	eventually(t, 15*time.Second, "first SMS", func() bool { return len(s.smsTo(phone)) == 1 })

	var edited programOut
	s.must(http.StatusOK, "PATCH", fmt.Sprintf("/v1/programs/%d", prog.ID), map[string]any{"params": touches("고친 두 번째", "6s")}, &edited)
	if edited.Version != 1 {
		t.Fatalf("a text edit made version %d, want 1", edited.Version)
	}
	eventually(t, 15*time.Second, "second SMS", func() bool { return len(s.smsTo(phone)) == 2 })
	if got := s.smsTo(phone)[1]; got != "고친 두 번째" {
		t.Fatalf("running enrolment sent %q, want the edited text", got)
	}

	s.must(http.StatusOK, "PATCH", fmt.Sprintf("/v1/programs/%d", prog.ID), map[string]any{"params": touches("고친 두 번째", "1h")}, &edited)
	if edited.Version != 2 {
		t.Fatalf("a step change made version %d, want 2", edited.Version)
	}
	second := s.postPurchase("edit-2", "c-edit", "가전", time.Now(), http.StatusCreated)
	if first.Enrolments[0].ProgramVersion != 1 || second.Enrolments[0].ProgramVersion != 2 {
		t.Fatalf("versions %d and %d, want 1 and 2", first.Enrolments[0].ProgramVersion, second.Enrolments[0].ProgramVersion)
	}
	s.must(http.StatusBadRequest, "PATCH", fmt.Sprintf("/v1/programs/%d", prog.ID), map[string]any{"params": map[string]any{"touches": []map[string]any{{"offset": "soon", "sms": "x"}}}}, nil)
	var got programOut
	s.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", prog.ID), nil, &got)
	if got.Version != 2 {
		t.Fatalf("a rejected edit changed the program: version %d", got.Version)
	}
}
