package activities_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/compliance"
	"github.com/dangol/dangol/domain"
	"github.com/dangol/dangol/store"
)

// The survey link is made in the send's one load: the text carries it, a
// retry carries the same one, and a send that will not render (a final
// message under the key, an erased customer) makes none.
func TestSurveyLinkMadeInTheLoad(t *testing.T) {
	r := newRig(t)
	p, err := r.st.CreateProgram(r.ctx, "survey", "happy_call", []byte(`{"touches":[{"key":"t1","offset":"1s",
		"sms":"{{.Name}}님, 어떠셨나요? {{.SurveyURL}}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	links := func() int {
		var n int
		if err := r.st.Pool().QueryRow(r.ctx, `SELECT count(*) FROM survey_links`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	enrol := func(c int64) int64 {
		es, err := r.st.EnrolCustomers(r.ctx, store.EligibleQuery{ProgramID: p.ID, Now: time.Now()}, 1, []int64{c}, func(c int64) string { return fmt.Sprintf("survey/%d", c) }, nil)
		if err != nil || len(es) != 1 {
			t.Fatalf("enrol: %v %v", es, err)
		}
		return es[0].ID
	}
	c := r.customer("c-survey", "+821055550301", "survey@example.com")
	req := r.request("survey", domain.ChannelSMS, c)
	req.Template.ProgramID, req.Survey, req.EnrolmentID = p.ID, true, enrol(c)
	res, err := r.acts.SendMessage(r.ctx, req)
	if err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("send: %+v %v", res, err)
	}
	var token string
	if err := r.st.Pool().QueryRow(r.ctx, `SELECT token FROM survey_links WHERE enrolment_id = $1 AND step = 't1'`, req.EnrolmentID).Scan(&token); err != nil {
		t.Fatal(err)
	}
	if body := r.message("survey").Body; !strings.Contains(body, "/s/"+token) {
		t.Fatalf("body %q lacks the link of token %s", body, token)
	}
	// A retry of a sent message returns its result and makes nothing.
	if _, err := r.acts.SendMessage(r.ctx, req); err != nil || links() != 1 {
		t.Fatalf("retry: %v, %d links", err, links())
	}

	// A message held by quiet hours is rendered anew when it goes, with
	// the same link.
	window, _ := quietNow()
	r.settings(func(s *compliance.Settings) { s.QuietHours = map[string]compliance.QuietHours{"KR": window} })
	held := r.customer("c-held", "+821055550302", "held@example.com")
	hreq := r.request("held", domain.ChannelSMS, held)
	hreq.Template.ProgramID, hreq.Survey, hreq.EnrolmentID, hreq.Purpose = p.ID, true, enrol(held), compliance.PurposeMarketing
	if res, err := r.acts.SendMessage(r.ctx, hreq); err != nil || res.Status != domain.MessageHeld {
		t.Fatalf("in quiet hours: %+v %v", res, err)
	}
	first := r.message("held")
	r.settings(func(*compliance.Settings) {})
	if res, err := r.acts.SendMessage(r.ctx, hreq); err != nil || res.Status != domain.MessageQueued {
		t.Fatalf("after quiet hours: %+v %v", res, err)
	}
	if again := r.message("held"); again.Body != first.Body || !strings.Contains(again.Body, "/s/") || links() != 2 {
		t.Fatalf("the unheld message reads %q (was %q), %d links", again.Body, first.Body, links())
	}

	// An erased customer's send makes no link.
	gone := r.customer("c-gone", "+821055550303", "gone@example.com")
	greq := r.request("gone", domain.ChannelSMS, gone)
	greq.Template.ProgramID, greq.Survey, greq.EnrolmentID = p.ID, true, enrol(gone)
	if _, err := r.st.EraseCustomer(r.ctx, "c-gone", "test", "", nil); err != nil {
		t.Fatal(err)
	}
	if res, err := r.acts.SendMessage(r.ctx, greq); err != nil || res.Reason != store.ErasedMarker || links() != 2 {
		t.Fatalf("erased: %+v %v, %d links", res, err, links())
	}
}
