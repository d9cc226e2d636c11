package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/activities"
	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/links"
)

// unsubscribeCustomer creates a customer with the given channels granted
// and returns their internal id (what links name).
func (e *env) unsubscribeCustomer(externalID string, channels ...string) int64 {
	e.t.Helper()
	consent := map[string]any{}
	for _, ch := range channels {
		consent[ch] = grant(true, "pos")
	}
	e.must(http.StatusCreated, "PUT", "/v1/customers/"+externalID, map[string]any{"name": "김민수", "phone": "+821012345678",
		"email": "minsu@example.com", "consent": consent}, nil)
	var id int64
	if err := e.db.QueryRow(context.Background(), `SELECT id FROM customers WHERE external_id = $1`, externalID).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func (e *env) consentOf(externalID string) map[string]consentOut {
	e.t.Helper()
	var c customerOut
	e.must(http.StatusOK, "GET", "/v1/customers/"+externalID, nil, &c)
	return c.Consent
}

func unsubscribeToken(secret []byte, customerID int64, channel string, expires time.Time) string {
	return links.Sign(secret, links.Claims{CustomerID: customerID, Channel: channel, Purpose: links.PurposeMarketing, Expires: expires})
}

// form posts body as a form, the way a browser or a mail client does.
func (e *env) form(method, path, body string) response {
	e.t.Helper()
	return e.request(e.url, method, path, body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
}

func wantPage(t *testing.T, r response, status int, says ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Fatalf("Content-Type %q, want an HTML page", ct)
	}
	body := string(r.body)
	for _, s := range says {
		if !strings.Contains(body, s) {
			t.Fatalf("the page does not say %q:\n%s", s, body)
		}
	}
	if strings.Contains(strings.ToLower(body), "<script") {
		t.Fatalf("the page has a script:\n%s", body)
	}
	if r.header.Get("Cache-Control") != "no-store" || !strings.Contains(r.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("the page may be cached or framed: %v", r.header)
	}
}

// The link the worker puts in a marketing mail, followed by the customer:
// the page asks, the button withdraws mail consent (only), the customer's
// record shows it with its source, and a second press changes nothing.
func TestUnsubscribeLinkWithdrawsMailConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("u-1", "sms", "email")
	acts := &activities.Activities{LinkSecret: linkSecret, PublicBaseURL: e.url + "/"}
	link, err := acts.UnsubscribeURL(id, "email")
	if err != nil {
		t.Fatal(err)
	}
	path, ok := strings.CutPrefix(link, e.url+"/u/")
	if !ok || strings.Contains(path, "/") {
		t.Fatalf("UnsubscribeURL = %q, want %s/u/<token>", link, e.url)
	}
	path = "/u/" + path

	wantPage(t, e.request(e.url, "GET", path, nil, nil), http.StatusOK, `<form method="post">`, "수신거부", "Unsubscribe", "이메일을")
	if !e.consentOf("u-1")["email"].Granted {
		t.Fatal("opening the page withdrew consent; only the button may (mail scanners open links)")
	}

	before := time.Now().Add(-time.Second)
	wantPage(t, e.form("POST", path, "List-Unsubscribe=One-Click"), http.StatusOK, "수신거부가 완료되었습니다", "You are unsubscribed")
	consent := e.consentOf("u-1")
	if got := consent["email"]; got.Granted || got.Source != "unsubscribe link" || got.At.Before(before) {
		t.Fatalf("email consent after the link: %+v, want withdrawn now by the unsubscribe link", got)
	}
	if !consent["sms"].Granted {
		t.Fatalf("the mail link withdrew SMS consent too: %+v", consent)
	}
	// SMS is still granted, so enrolments go on (their gate skips the mail).
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1`, id); n != 0 {
		t.Fatalf("%d fan-outs for a customer who still consents to SMS", n)
	}

	wantPage(t, e.form("POST", path, ""), http.StatusOK, "이미 수신거부되어 있습니다", "already unsubscribed")
	if again := e.consentOf("u-1")["email"]; !again.At.Equal(consent["email"].At) {
		t.Fatalf("a second press rewrote the withdrawal: %+v, then %+v", consent["email"], again)
	}
}

// RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" (form or
// multipart) and only looks at the status. When that was the customer's
// last consent, their enrolments are told at once, through the same
// customer fan-out PUT /v1/customers uses.
func TestUnsubscribeOneClick(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("u-2", "sms")
	path := "/u/" + unsubscribeToken(linkSecret, id, "sms", time.Now().Add(links.DefaultLifetime))
	r := e.request(e.url, "POST", path, "--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n",
		map[string]string{"Content-Type": "multipart/form-data; boundary=b"})
	wantPage(t, r, http.StatusOK, "문자(SMS)를")
	if c := e.consentOf("u-2")["sms"]; c.Granted {
		t.Fatalf("sms consent after one-click: %+v", c)
	}
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1 AND signal = 'opt-out'`, id); n != 1 {
		t.Fatalf("%d opt-out fan-outs, want 1", n)
	}
	wantPage(t, e.form("POST", path, "List-Unsubscribe=One-Click"), http.StatusOK, "이미")
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1`, id); n != 1 {
		t.Fatalf("%d fan-outs after a repeated one-click, want still 1", n)
	}
}

// A link not signed with dangol's secret, or altered, or expired, gets a
// 403 page and writes nothing.
func TestUnsubscribeForgedOrExpired(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("u-3", "email")
	valid := unsubscribeToken(linkSecret, id, "email", time.Now().Add(time.Hour))
	forged := map[string]string{
		"other secret": unsubscribeToken([]byte("someone-else-s-secret-0123456789abcdef"), id, "email", time.Now().Add(time.Hour)),
		"altered":      valid[:len(valid)-2] + map[bool]string{true: "AA", false: "BB"}[valid[len(valid)-2:] != "AA"],
		"truncated":    valid[:len(valid)-1],
		"random":       "AQAAAAAAAAAqAgEAAAAAa3wjQDDWKW5Nl7GMWVbMJ8Y8Ubw",
		"too long":     strings.Repeat("A", 300),
	}
	for name, token := range forged {
		for _, method := range []string{"GET", "POST"} {
			t.Run(name+" "+method, func(t *testing.T) {
				wantPage(t, e.form(method, "/u/"+token, "List-Unsubscribe=One-Click"), http.StatusForbidden, "올바르지 않은 링크", "not valid")
			})
		}
	}
	expired := unsubscribeToken(linkSecret, id, "email", time.Now().Add(-time.Second))
	for _, method := range []string{"GET", "POST"} {
		wantPage(t, e.form(method, "/u/"+expired, "List-Unsubscribe=One-Click"), http.StatusForbidden, "유효기간", "expired")
	}
	if c := e.consentOf("u-3")["email"]; !c.Granted || c.Source != "pos" {
		t.Fatalf("a refused link changed consent: %+v", c)
	}
	if n := e.count(`SELECT count(*) FROM fanouts WHERE customer_id = $1`, id); n != 0 {
		t.Fatalf("a refused link fanned out %d signals", n)
	}
}

// NUL bytes, invalid UTF-8 and other junk in the token are a 4xx, never
// a 5xx, and never reach the database.
func TestUnsubscribeHostileToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, token := range []string{"%00", "abc%00def", "%FF%FE", "%C0%AF", "..%2F..%2Fetc", "%20", strings.Repeat("%E4%B8%80", 400)} {
		for _, method := range []string{"GET", "POST"} {
			r := e.form(method, "/u/"+token, "List-Unsubscribe=One-Click")
			if r.status < 400 || r.status > 499 {
				t.Errorf("%s /u/%s: status %d, want 4xx: %s", method, token, r.status, r.body)
			}
			if r.status == http.StatusBadRequest && r.field() != "token" {
				t.Errorf("%s /u/%s: 400 naming %q, want token", method, token, r.field())
			}
		}
	}
}

// An API without a usable secret is misconfigured: it refuses every link
// (it cannot tell a genuine one) and changes nothing.
func TestUnsubscribeWithoutSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.unsubscribeCustomer("u-4", "email")
	base := e.serve(&api.Server{Store: e.st, Temporal: e.tc, TaskQueue: e.queue})
	r := e.request(base, "POST", "/u/"+unsubscribeToken(linkSecret, id, "email", time.Now().Add(time.Hour)), "List-Unsubscribe=One-Click", nil)
	if r.status != http.StatusInternalServerError {
		t.Fatalf("status %d without a secret, want 500: %s", r.status, r.body)
	}
	if !e.consentOf("u-4")["email"].Granted {
		t.Fatal("consent withdrawn without a secret to check the link with")
	}
}
