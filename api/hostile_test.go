package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A request as a client sends it, and the 400 field it must get.
type hostileCase struct {
	name   string
	method string
	path   string
	body   any    // string or []byte: sent as is
	form   bool   // body is form-encoded
	field  string // the field the 400 names
}

// seedHostile stores one of everything a hostile request could reach: a
// customer, a happy call program, an enrolment, a survey link and a call
// task. It returns the program id and the survey token.
func seedHostile(t *testing.T, e *env) (programID int64, token string) {
	t.Helper()
	ctx := context.Background()
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수"}, nil)
	var p programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, &p)
	token = "survey_token-0123456789ab"
	if _, err := e.db.Exec(ctx, `
		WITH en AS (
			INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status)
			SELECT $1, 1, id, 'hostile-seed', 'active' FROM customers WHERE external_id = 'c-1' RETURNING id, customer_id
		), link AS (
			INSERT INTO survey_links (token, enrolment_id, customer_id, step) SELECT $2, id, customer_id, 'survey' FROM en
		)
		INSERT INTO call_tasks (idempotency_key, customer_id, enrolment_id, due_at)
		SELECT 'hostile-seed', customer_id, id, now() FROM en`, p.ID, token); err != nil {
		t.Fatal(err)
	}
	return p.ID, token
}

// snapshot is what a refused request must leave unchanged.
func (e *env) snapshot() string {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(context.Background(), `SELECT concat_ws(' ',
		(SELECT count(*) FROM customers), (SELECT max(updated_at) FROM customers),
		(SELECT count(*) FROM purchases), (SELECT count(*) FROM programs), (SELECT max(updated_at) FROM programs),
		(SELECT count(*) FROM program_versions), (SELECT count(*) FROM enrolments),
		(SELECT count(*) FROM call_tasks WHERE status <> 'open'), (SELECT count(*) FROM customer_voices),
		(SELECT count(*) FROM survey_links WHERE answered_at IS NOT NULL), (SELECT count(*) FROM coupons WHERE redeemed_at IS NOT NULL))`).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// Defect 3: NUL bytes and invalid UTF-8 anywhere a client can put text
// are a 400 naming the field, and nothing is written. Before the fix they
// reached PostgreSQL (500) or were stored as U+FFFD.
func TestHostileTextRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	programID, token := seedHostile(t, e)
	prog := fmt.Sprintf("/v1/programs/%d", programID)
	deep := `{"audience":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 41)

	cases := []hostileCase{
		// JSON strings: escaped NUL, raw invalid UTF-8, lone surrogates, in
		// values and keys, at any depth.
		{"name escaped NUL", "PUT", "/v1/customers/c-2", `{"name":"김\u0000민수"}`, false, "name"},
		{"name invalid UTF-8", "PUT", "/v1/customers/c-2", []byte("{\"name\":\"\xff\xfe\"}"), false, "name"},
		{"name lone surrogate", "PUT", "/v1/customers/c-2", `{"name":"\ud800"}`, false, "name"},
		{"name reversed surrogates", "PUT", "/v1/customers/c-2", `{"name":"\udc00\ud800"}`, false, "name"},
		{"name raw NUL", "PUT", "/v1/customers/c-2", []byte("{\"name\":\"a\x00b\"}"), false, "name"},
		{"update of an existing customer", "PUT", "/v1/customers/c-1", `{"name":"x\u0000"}`, false, "name"},
		{"locale NUL", "PUT", "/v1/customers/c-2", `{"locale":"ko\u0000"}`, false, "locale"},
		{"consent source", "PUT", "/v1/customers/c-2", `{"consent":{"sms":{"granted":true,"source":"p\u0000s"}}}`, false, "consent.sms.source"},
		{"consent channel key", "PUT", "/v1/customers/c-2", `{"consent":{"s\u0000ms":{"granted":true,"source":"pos"}}}`, false, "consent"},
		{"top-level key", "PUT", "/v1/customers/c-2", []byte("{\"na\xffme\":\"x\"}"), false, "body"},
		{"purchase store", "POST", "/v1/purchases", `{"external_id":"o-1","customer_id":"c-1","amount":"1000","currency":"KRW",` +
			`"store":"강남\u0000점","purchased_at":"2026-01-02T10:00:00+09:00"}`, false, "store"},
		{"purchase product invalid UTF-8", "POST", "/v1/purchases", []byte(`{"external_id":"o-1","customer_id":"c-1","amount":"1000","currency":"KRW",` +
			"\"product\":\"\xc3\x28\",\"purchased_at\":\"2026-01-02T10:00:00+09:00\"}"), false, "product"},
		{"program name", "POST", "/v1/programs", []byte("{\"name\":\"\xed\xa0\x80\",\"kind\":\"happy_call\"}"), false, "name"},
		{"program template", "POST", "/v1/programs", `{"name":"x","kind":"happy_call","params":{"touches":[{"offset":"3d","sms":"안녕\u0000"}]}}`, false, "params.touches[0].sms"},
		{"second touch", "POST", "/v1/programs", `{"name":"x","kind":"happy_call","params":{"touches":[{"offset":"3d","sms":"a"},{"offset":"4d","sms":"\ud83d"}]}}`, false, "params.touches[1].sms"},
		{"program audience", "POST", "/v1/programs", `{"name":"x","kind":"welcome_back","params":{"audience":{"stores":["a","\u0000"]}}}`, false, "params.audience.stores[1]"},
		{"program edit", "PATCH", prog, `{"name":"\u0000"}`, false, "name"},
		{"audience preview", "POST", "/v1/audiences:preview", `{"audience":{"categories":["가전\u0000"]}}`, false, "audience.categories[0]"},
		{"call task note", "POST", "/v1/call-tasks/1/complete", `{"outcome":"reached","note":"\u0000"}`, false, "note"},
		{"coupon order", "POST", "/v1/coupons/ABCD-EFGH-JKLM/redeem", `{"order_id":"o\u0000"}`, false, "order_id"},
		{"nesting", "POST", "/v1/audiences:preview", deep, false, "body"},

		// Path parameters.
		{"customer id NUL", "GET", "/v1/customers/c%00", nil, false, "externalId"},
		{"customer id invalid UTF-8", "GET", "/v1/customers/c%FF", nil, false, "externalId"},
		{"customer id NUL on PUT", "PUT", "/v1/customers/c%00", `{"name":"x"}`, false, "externalId"},
		{"customer id NUL on journey", "GET", "/v1/customers/c%00/journey", nil, false, "externalId"},
		{"customer id not an id", "GET", "/v1/customers/%EB%AF%BC%EC%88%98", nil, false, "externalId"},
		{"customer id too long", "GET", "/v1/customers/" + strings.Repeat("c", 129), nil, false, "externalId"},
		{"customer id NUL on DELETE", "DELETE", "/v1/customers/c-1%00", nil, false, "externalId"},
		{"customer id invalid UTF-8 on DELETE", "DELETE", "/v1/customers/c-1%FF", nil, false, "externalId"},
		{"erased customer's freed id on DELETE", "DELETE", "/v1/customers/%23erased:1", nil, false, "externalId"},
		{"coupon code NUL", "GET", "/v1/coupons/ABCD%00", nil, false, "code"},
		{"coupon code invalid UTF-8", "POST", "/v1/coupons/%C0%AF/redeem", `{"order_id":"o-1"}`, false, "code"},
		{"program id NUL", "GET", "/v1/programs/1%00", nil, false, "id"},
		{"program id on control", "POST", "/v1/programs/%FF/stop", nil, false, "id"},
		{"call task id", "POST", "/v1/call-tasks/1%00/complete", `{"outcome":"reached"}`, false, "id"},
		{"survey token NUL", "POST", "/s/" + token + "%00", "answer=x", true, "token"},
		{"survey token invalid UTF-8", "GET", "/s/%FF", nil, false, "token"},

		// Query parameters.
		{"call task store NUL", "GET", "/v1/call-tasks?store=%00", nil, false, "store"},
		{"call task status invalid UTF-8", "GET", "/v1/call-tasks?status=%FF", nil, false, "status"},
		{"call task store too long", "GET", "/v1/call-tasks?store=" + strings.Repeat("%EA%B0%80", 201), nil, false, "store"},
		{"program kind NUL", "GET", "/v1/programs?kind=happy%00call", nil, false, "kind"},
		{"program kind unknown", "GET", "/v1/programs?kind=newsletter", nil, false, "kind"},
		{"query key", "GET", "/v1/programs?%00=1", nil, false, "query"},
		{"query escape", "GET", "/v1/programs?status=%zz", nil, false, "query"},

		// Forms.
		{"survey answer NUL", "POST", "/s/" + token, "answer=a%00b", true, "answer"},
		{"survey comment invalid UTF-8", "POST", "/s/" + token, "answer=ok&comment=%FF%FE", true, "comment"},
		{"twilio sid NUL", "POST", "/webhooks/twilio/status", "MessageSid=SM%00&MessageStatus=delivered", true, "MessageSid"},
	}
	before := e.snapshot()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Authorization": "Bearer " + e.key}
			if tc.form {
				h["Content-Type"] = "application/x-www-form-urlencoded"
			}
			e.request(e.url, tc.method, tc.path, tc.body, h).wantProblem(t, http.StatusBadRequest, tc.field)
		})
	}
	if after := e.snapshot(); after != before {
		t.Fatalf("refused requests wrote: before %s, after %s", before, after)
	}

	// A survey token of the wrong shape is unknown without a lookup.
	e.request(e.url, "POST", "/s/short", "answer=x", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}).wantProblem(t, http.StatusNotFound, "")
	// The well-formed answer still works, with a surrogate pair (an emoji)
	// that is valid and kept.
	r := e.request(e.url, "POST", "/s/"+token, "answer="+strings.ReplaceAll("좋아요 😀", " ", "+"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if r.status != http.StatusOK {
		t.Fatalf("valid survey answer: %d %s", r.status, r.body)
	}
	var c customerOut
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-emoji", `{"name":"\ud83d\ude00 민수"}`, &c)
	if c.Name != "😀 민수" {
		t.Fatalf("name with a surrogate pair stored as %q", c.Name)
	}
}

// Defect 3, lengths: every text a client stores has a maximum, counted in
// characters, and a longer one is a 400 naming it.
func TestStoredTextIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, token := seedHostile(t, e)
	long := func(n int) string { return strings.Repeat("가", n) }
	bought := time.Now().Add(-time.Hour)
	for _, tc := range []struct {
		name   string
		method string
		path   string
		body   any
		field  string
	}{
		{"locale", "PUT", "/v1/customers/c-2", map[string]any{"locale": strings.Repeat("k", 100)}, "locale"},
		{"locale shape", "PUT", "/v1/customers/c-2", map[string]any{"locale": "<script>"}, "locale"},
		{"time zone", "PUT", "/v1/customers/c-2", map[string]any{"time_zone": strings.Repeat("Asia/", 100) + "Seoul"}, "time_zone"},
		{"consent source", "PUT", "/v1/customers/c-2", map[string]any{"consent": map[string]any{"sms": grant(true, long(101))}}, "consent.sms.source"},
		{"email", "PUT", "/v1/customers/c-2", map[string]any{"email": strings.Repeat("a", 250) + "@example.com"}, "email"},
		{"birthday before 1900", "PUT", "/v1/customers/c-2", map[string]any{"birthday": "0000-01-01"}, "birthday"},
		{"birthday in the future", "PUT", "/v1/customers/c-2", map[string]any{"birthday": "2999-01-01"}, "birthday"},
		{"store", "POST", "/v1/purchases", with(purchase("o-1", "c-1", "가전", bought), map[string]any{"store": long(201)}), "store"},
		{"product", "POST", "/v1/purchases", with(purchase("o-1", "c-1", "가전", bought), map[string]any{"product": long(201)}), "product"},
		{"purchased_at year 1", "POST", "/v1/purchases", with(purchase("o-1", "c-1", "가전", bought), map[string]any{"purchased_at": "0001-01-01T00:00:00Z"}), "purchased_at"},
		{"program name", "POST", "/v1/programs", map[string]any{"name": long(201), "kind": "happy_call"}, "name"},
		{"call task note", "POST", "/v1/call-tasks/1/complete", map[string]any{"outcome": "reached", "note": long(4001)}, "note"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.call(tc.method, tc.path, tc.body).wantProblem(t, http.StatusBadRequest, tc.field)
		})
	}
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	e.request(e.url, "POST", "/s/"+token, "answer=ok&comment="+long(2001), form).wantProblem(t, http.StatusBadRequest, "comment")
	e.request(e.url, "POST", "/s/"+token, "answer="+long(201), form).wantProblem(t, http.StatusBadRequest, "answer")
	if n := e.count(`SELECT count(*) FROM customers`) + e.count(`SELECT count(*) FROM purchases`) + e.count(`SELECT count(*) FROM customer_voices`); n != 1 {
		t.Fatalf("refused requests wrote rows (%d rows, want the seeded customer only)", n)
	}

	// At the limits, everything is accepted.
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-2", map[string]any{"name": long(200), "locale": "zh-Hant-TW",
		"consent": map[string]any{"sms": grant(true, long(100))}}, nil)
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": long(200), "kind": "second_purchase"}, nil)
}

// A number with the domestic trunk 0 after the country code is stored in
// its canonical form, which is what the provider is sent. Before the fix
// "+8201012345678" was stored as typed.
func TestPhoneStoredCanonical(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var c customerOut
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"phone": "+8201012345678"}, &c)
	if c.Phone == nil || *c.Phone != "+821012345678" {
		t.Fatalf("phone stored as %v, want +821012345678", c.Phone)
	}
	e.call("PUT", "/v1/customers/c-2", map[string]any{"phone": "+820000000"}).wantProblem(t, http.StatusBadRequest, "phone")
}
