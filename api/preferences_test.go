package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/links"
)

func preferencesToken(secret []byte, customerID int64, expires time.Time) string {
	return links.Sign(secret, links.Claims{CustomerID: customerID, Channel: links.ChannelEmail, Purpose: links.PurposePreferences, Expires: expires})
}

// The preference page from the link a marketing mail carries: it shows
// the customer's advertising consents as ticked boxes, and saving the form
// switches them (here mail off, call on), recorded in the consent history
// with the customer as actor and "preference page" as source; saving the
// same again records nothing. Switching off the last channel tells the
// enrolments at once, through the customer fan-out.
func TestPreferencePageSwitchesConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("p-1", "sms", "email")
	acts := &activities.Activities{LinkSecret: linkSecret, PublicBaseURL: e.url}
	link, err := acts.PreferencesURL(id, "email")
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, e.url)
	if !strings.HasPrefix(path, "/p/") {
		t.Fatalf("PreferencesURL = %q", link)
	}

	page := e.request(e.url, "GET", path, nil, nil)
	wantPage(t, page, http.StatusOK, "수신 설정", "Your preferences", `<form method="post">`, `name="save"`, "viewport")
	for _, box := range []struct {
		name string
		on   bool
	}{{"sms", true}, {"email", true}, {"call", false}, {"night", false}} {
		re := regexp.MustCompile(`name="` + box.name + `" value="on"( checked)?>`)
		m := re.FindStringSubmatch(string(page.body))
		if m == nil || (m[1] != "") != box.on {
			t.Fatalf("box %s: %q, want checked=%v:\n%s", box.name, m, box.on, page.body)
		}
	}
	events := func() int { return e.count(`SELECT count(*) FROM consent_events WHERE customer_id = $1`, id) }
	start := events()

	wantPage(t, e.form("POST", path, "sms=on&call=on&save=1"), http.StatusOK, "저장되었습니다", "saved")
	consent := e.consentOf("p-1")
	if !consent["sms"].Granted || consent["email"].Granted || !consent["call"].Granted || consent["night"].Granted {
		t.Fatalf("after saving sms+call: %+v", consent)
	}
	if c := consent["email"]; c.Source != "preference page" {
		t.Fatalf("email withdrawal source %q", c.Source)
	}
	if c := consent["sms"]; c.Source != "pos" {
		t.Fatalf("unchanged sms consent rewritten: %+v", c)
	}
	rows, err := e.db.Query(t.Context(), `SELECT channel, granted, source, actor FROM consent_events WHERE customer_id = $1 ORDER BY id OFFSET $2`, id, start)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var ch, source, actor string
		var granted bool
		if err := rows.Scan(&ch, &granted, &source, &actor); err != nil {
			t.Fatal(err)
		}
		got = append(got, strings.Join([]string{ch, map[bool]string{true: "granted", false: "withdrawn"}[granted], source, actor}, " "))
	}
	if want := "call granted preference page customer|email withdrawn preference page customer"; strings.Join(got, "|") != want {
		t.Fatalf("consent events %q, want %q", got, want)
	}
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1`, id); n != 0 {
		t.Fatalf("%d fan-outs while channels remain", n)
	}

	// The same form again changes nothing and records nothing.
	after := events()
	wantPage(t, e.form("POST", path, "sms=on&call=on&save=1"), http.StatusOK, "저장되었습니다")
	if n := events(); n != after {
		t.Fatalf("saving the same choices recorded %d events", n-after)
	}
	// Everything off: the customer is opted out, the enrolments are told.
	wantPage(t, e.form("POST", path, "save=1"), http.StatusOK, "저장되었습니다")
	consent = e.consentOf("p-1")
	for _, ch := range []string{"sms", "email", "call"} {
		if consent[ch].Granted {
			t.Fatalf("%s still granted after switching all off: %+v", ch, consent)
		}
	}
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1 AND signal = 'opt-out'`, id); n != 1 {
		t.Fatalf("%d opt-out fan-outs, want 1", n)
	}
	// A POST that is not the page's own form (a mail client's one-click
	// body) switches nothing.
	wantGrant := e.consentOf("p-1")
	e.form("POST", path, "sms=on&save=1")
	r := e.form("POST", path, "List-Unsubscribe=One-Click")
	r.wantProblem(t, http.StatusBadRequest, "List-Unsubscribe")
	r = e.form("POST", path, "")
	r.wantProblem(t, http.StatusBadRequest, "save")
	e.form("POST", path, "sms=yes&save=1").wantProblem(t, http.StatusBadRequest, "sms")
	if c := e.consentOf("p-1"); !c["sms"].Granted || wantGrant["sms"].Granted {
		t.Fatalf("sms after re-granting and refused posts: %+v", c)
	}
}

// A preference link not signed with dangol's secret, altered, expired, or
// an unsubscribe link used as one (and the other way round) gets a 403
// page and writes nothing.
func TestPreferencePageForgedOrExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("p-2", "sms", "email")
	valid := preferencesToken(linkSecret, id, time.Now().Add(time.Hour))
	forged := map[string]string{
		"other secret":      preferencesToken([]byte("someone-else-s-secret-0123456789abcdef"), id, time.Now().Add(time.Hour)),
		"altered":           valid[:len(valid)-2] + map[bool]string{true: "AA", false: "BB"}[valid[len(valid)-2:] != "AA"],
		"truncated":         valid[:len(valid)-1],
		"unsubscribe token": unsubscribeToken(linkSecret, id, "email", time.Now().Add(time.Hour)),
	}
	events := e.count(`SELECT count(*) FROM consent_events WHERE customer_id = $1`, id)
	for name, token := range forged {
		for _, method := range []string{"GET", "POST"} {
			t.Run(name+" "+method, func(t *testing.T) {
				wantPage(t, e.form(method, "/p/"+token, "sms=on&save=1"), http.StatusForbidden, "올바르지 않은 링크", "not valid")
			})
		}
	}
	expired := preferencesToken(linkSecret, id, time.Now().Add(-time.Second))
	for _, method := range []string{"GET", "POST"} {
		wantPage(t, e.form(method, "/p/"+expired, "save=1"), http.StatusForbidden, "유효기간", "expired")
	}
	// A preference token opens no unsubscribe.
	wantPage(t, e.form("POST", "/u/"+valid, "List-Unsubscribe=One-Click"), http.StatusForbidden, "not valid")
	if n := e.count(`SELECT count(*) FROM consent_events WHERE customer_id = $1`, id); n != events {
		t.Fatalf("refused links recorded %d consent events", n-events)
	}
	if c := e.consentOf("p-2"); !c["sms"].Granted || !c["email"].Granted {
		t.Fatalf("a refused link changed consent: %+v", c)
	}
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1`, id); n != 0 {
		t.Fatalf("a refused link fanned out %d signals", n)
	}
}

// The unsubscribe page, once done, links to the preference page, which
// opens.
func TestUnsubscribePageLinksPreferences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("p-3", "sms", "email")
	r := e.form("POST", "/u/"+unsubscribeToken(linkSecret, id, "email", time.Now().Add(time.Hour)), "List-Unsubscribe=One-Click")
	wantPage(t, r, http.StatusOK, "수신거부가 완료되었습니다", "preferences")
	m := regexp.MustCompile(`href="` + regexp.QuoteMeta(e.url) + `(/p/[A-Za-z0-9_-]+)"`).FindStringSubmatch(string(r.body))
	if m == nil {
		t.Fatalf("no preference link on the unsubscribe page:\n%s", r.body)
	}
	page := e.request(e.url, "GET", m[1], nil, nil)
	wantPage(t, page, http.StatusOK, "수신 설정")
	if !strings.Contains(string(page.body), `name="email" value="on">`) || !strings.Contains(string(page.body), `name="sms" value="on" checked>`) {
		t.Fatalf("the preference page does not show mail off, SMS on:\n%s", page.body)
	}
}
