package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/compliance"
)

func validSettings() map[string]any {
	return map[string]any{"sender_name": "한빛전자", "sender_contact": "02-123-4567", "opt_out_number": "080-123-4567",
		"default_time_zone": "Asia/Seoul", "default_country": "KR",
		"quiet_hours": map[string]any{
			"KR": map[string]any{"start": "21:00", "end": "08:00", "purposes": []any{"marketing"}, "night_consent": true},
			"US": map[string]any{"start": "21:00", "end": "08:00", "purposes": []any{"marketing", "service"}},
		},
		"frequency_cap": map[string]any{"max": 2, "window_days": 7}, "reconfirm_every_days": 730, "release_spread_minutes": 30}
}

func TestSettingsGetPut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var got compliance.Settings
	e.must(http.StatusOK, "GET", "/v1/settings", nil, &got)
	if !reflect.DeepEqual(got, compliance.Defaults()) {
		t.Fatalf("GET before any PUT: %+v, want the defaults", got)
	}
	in := validSettings()
	in["frequency_cap"] = map[string]any{"max": 1, "window_days": 3}
	in["quiet_hours"].(map[string]any)["*"] = map[string]any{"start": "22:00", "end": "07:30", "purposes": []any{"marketing"}}
	var put compliance.Settings
	e.must(http.StatusOK, "PUT", "/v1/settings", in, &put)
	e.must(http.StatusOK, "GET", "/v1/settings", nil, &got)
	if !reflect.DeepEqual(got, put) || got.FrequencyCap.Max != 1 || got.QuietHours["*"].End != "07:30" || got.SenderName != "한빛전자" {
		t.Fatalf("GET %+v\nPUT answered %+v", got, put)
	}
	// What GET answers is a valid PUT.
	e.must(http.StatusOK, "PUT", "/v1/settings", got, nil)
	if n := e.count(`SELECT count(*) FROM settings WHERE updated_by = 'api-test'`); n != 1 {
		t.Fatalf("settings rows written by the key: %d", n)
	}
}

// Every bad settings document is a 400 naming its field, and writes
// nothing.
func TestSettingsBadFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	set := func(path string, v any) map[string]any {
		doc := validSettings()
		parts := strings.Split(path, ".")
		m := doc
		for _, p := range parts[:len(parts)-1] {
			next := maps.Clone(m[p].(map[string]any))
			m[p] = next
			m = next
		}
		if v == nil {
			delete(m, parts[len(parts)-1])
		} else {
			m[parts[len(parts)-1]] = v
		}
		return doc
	}
	for _, tc := range []struct {
		field string
		body  any
	}{
		{"sender_name", set("sender_name", strings.Repeat("가", 41))},
		{"sender_name", set("sender_name", "a\nb")},
		{"sender_name", set("sender_name", nil)},
		{"sender_contact", set("sender_contact", strings.Repeat("x", 101))},
		{"opt_out_number", set("opt_out_number", "1588-1234")},
		{"opt_out_number", set("opt_out_number", "080-12-34567")},
		{"opt_out_number", set("opt_out_number", 801234567)},
		{"default_time_zone", set("default_time_zone", "Mars/Base")},
		{"default_time_zone", set("default_time_zone", "Local")},
		{"default_country", set("default_country", "Korea")},
		{"quiet_hours", set("quiet_hours", nil)},
		{"quiet_hours", set("quiet_hours", []any{})},
		{"quiet_hours.kr", set("quiet_hours.kr", map[string]any{"start": "21:00", "end": "08:00", "purposes": []any{"marketing"}})},
		{"quiet_hours.KR.start", set("quiet_hours.KR.start", "24:00")},
		{"quiet_hours.KR.start", set("quiet_hours.KR.start", 2100)},
		{"quiet_hours.KR.start", set("quiet_hours.KR.start", nil)},
		{"quiet_hours.US.end", set("quiet_hours.US.end", "8:00")},
		{"quiet_hours.KR.purposes", set("quiet_hours.KR.purposes", []any{})},
		{"quiet_hours.KR.purposes[0]", set("quiet_hours.KR.purposes", []any{"ads"})},
		{"quiet_hours.KR.colour", set("quiet_hours.KR.colour", "red")},
		{"quiet_hours.KR", set("quiet_hours.KR", "21-08")},
		{"frequency_cap.max", set("frequency_cap.max", 101)},
		{"frequency_cap.max", set("frequency_cap.max", -1)},
		{"frequency_cap.max", set("frequency_cap.max", nil)},
		{"frequency_cap.max", set("frequency_cap.max", 1.5)},
		{"frequency_cap.window_days", set("frequency_cap.window_days", 0)},
		{"frequency_cap.window_days", set("frequency_cap.window_days", 366)},
		{"frequency_cap", set("frequency_cap", nil)},
		{"reconfirm_every_days", set("reconfirm_every_days", 3651)},
		{"reconfirm_every_days", set("reconfirm_every_days", 1e12)},
		{"release_spread_minutes", set("release_spread_minutes", 241)},
		{"release_spread_minutes", set("release_spread_minutes", nil)},
		{"surprise", set("surprise", 1)},
		// The decoder's own checks, by raw body.
		{"sender_name", strings.Replace(string(mustJSON(t, validSettings())), `"한빛전자"`, `"한빛\u0000전자"`, 1)},
		{"sender_name", strings.Replace(string(mustJSON(t, validSettings())), `"한빛전자"`, "\"\xff\xfe\"", 1)},
		{"quiet_hours.KR.start", strings.Replace(string(mustJSON(t, validSettings())), `"21:00"`, `"\ud800"`, 1)},
		{"body", `{"sender_name":`},
		{"body", `[]`},
	} {
		e.call("PUT", "/v1/settings", tc.body).wantProblem(t, http.StatusBadRequest, tc.field)
	}
	if n := e.count(`SELECT count(*) FROM settings`); n != 0 {
		t.Fatalf("refused PUTs wrote %d settings rows", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Stored settings that no longer read back are reported (409, not 500)
// and a PUT repairs them.
func TestSettingsBrokenRow(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := e.db.Exec(context.Background(), `INSERT INTO settings (id, doc, updated_by) VALUES (1, '{"frequency_cap": {"max": 1000}}', 'psql')`); err != nil {
		t.Fatal(err)
	}
	p := e.call("GET", "/v1/settings", nil).wantProblem(t, http.StatusConflict, "")
	if !strings.Contains(p.Detail, "PUT valid settings") {
		t.Fatalf("detail %q", p.Detail)
	}
	e.must(http.StatusOK, "PUT", "/v1/settings", validSettings(), nil)
	e.must(http.StatusOK, "GET", "/v1/settings", nil, nil)
}

// A program may tighten the settings, never loosen them.
func TestProgramOverrideMayNotLoosen(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := validSettings()
	in["frequency_cap"] = map[string]any{"max": 1, "window_days": 7}
	e.must(http.StatusOK, "PUT", "/v1/settings", in, nil)
	for field, o := range map[string]any{
		"params.compliance.frequency_cap.max":         map[string]any{"frequency_cap": map[string]any{"max": 2, "window_days": 7}},
		"params.compliance.frequency_cap.window_days": map[string]any{"frequency_cap": map[string]any{"max": 1, "window_days": 1}},
		"params.compliance.quiet_hours.start":         map[string]any{"quiet_hours": map[string]any{"start": "23:00", "end": "08:00", "purposes": []any{"marketing", "service"}}},
		"params.compliance.quiet_hours.purposes":      map[string]any{"quiet_hours": map[string]any{"start": "20:00", "end": "09:00", "purposes": []any{"marketing"}}},
	} {
		e.call("POST", "/v1/programs", map[string]any{"name": "루즈", "kind": "dormant_wakeup", "params": map[string]any{"compliance": o}}).
			wantProblem(t, http.StatusBadRequest, field)
	}
	var p programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, &p)
	e.call("PATCH", fmt.Sprintf("/v1/programs/%d", p.ID), map[string]any{"params": map[string]any{"compliance": map[string]any{
		"frequency_cap": map[string]any{"max": 5, "window_days": 7}}}}).wantProblem(t, http.StatusBadRequest, "params.compliance.frequency_cap.max")
	if n := e.count(`SELECT count(*) FROM programs`); n != 1 {
		t.Fatalf("%d programs stored", n)
	}
}

type consentPage struct {
	Consents []struct {
		ID      int64     `json:"id"`
		Channel string    `json:"channel"`
		Granted bool      `json:"granted"`
		At      time.Time `json:"at"`
		Source  string    `json:"source"`
		Actor   string    `json:"actor"`
	} `json:"consents"`
	Next *string `json:"next"`
}

func TestCustomerCountryAndNightConsent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var c struct {
		Country *string                    `json:"country"`
		Consent map[string]json.RawMessage `json:"consent"`
	}
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678", "country": "KR",
		"consent": map[string]any{"sms": grant(true, "pos"), "night": grant(true, "pos")}}, &c)
	if c.Country == nil || *c.Country != "KR" || c.Consent["night"] == nil {
		t.Fatalf("stored %+v", c)
	}
	e.must(http.StatusOK, "GET", "/v1/customers/c-1", nil, &c)
	if c.Country == nil || *c.Country != "KR" {
		t.Fatalf("GET country %v", c.Country)
	}
	for _, bad := range []any{"kr", "KOR", "K1", 82, "@@NULESC@@"} {
		e.call("PUT", "/v1/customers/c-1", encodeHostile(map[string]any{"name": "김민수", "country": bad})).wantProblem(t, http.StatusBadRequest, "country")
	}
	e.call("PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "consent": map[string]any{"nite": grant(true, "pos")}}).
		wantProblem(t, http.StatusBadRequest, "consent.nite")
	// Withdrawing every channel opts the customer out even with night-time
	// consent kept.
	e.must(http.StatusOK, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678", "country": "KR",
		"consent": map[string]any{"sms": grant(false, "web")}}, nil)
	if n := e.count(`SELECT count(*) FROM consent_events ce JOIN customers c ON c.id = ce.customer_id
		WHERE c.external_id = 'c-1' AND ce.channel = 'night' AND ce.granted AND ce.actor = 'api-test'`); n != 1 {
		t.Fatalf("%d night consent events", n)
	}

	// The history, newest first, a page at a time.
	var page consentPage
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/consents?limit=2", nil, &page)
	if len(page.Consents) != 2 || page.Next == nil || page.Consents[0].Channel != "sms" || page.Consents[0].Granted || page.Consents[0].Source != "web" {
		t.Fatalf("first page %+v", page)
	}
	var rest consentPage
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/consents?limit=2&cursor="+*page.Next, nil, &rest)
	if len(rest.Consents) != 1 || rest.Next != nil || rest.Consents[0].ID >= page.Consents[1].ID {
		t.Fatalf("second page %+v", rest)
	}
	e.call("GET", "/v1/customers/c-1/consents?limit=501", nil).wantProblem(t, http.StatusBadRequest, "limit")
	e.call("GET", "/v1/customers/c-1/consents?limit=0", nil).wantProblem(t, http.StatusBadRequest, "limit")
	e.call("GET", "/v1/customers/c-1/consents?cursor=abc", nil).wantProblem(t, http.StatusBadRequest, "cursor")
	e.call("GET", "/v1/customers/nobody/consents", nil).wantProblem(t, http.StatusNotFound, "")
}

// 50 concurrent PUTs flipping one customer's SMS consent: the history
// has exactly one event per change the customer row went through, each
// with the time the row kept, alternating, the newest matching the row.
func TestConsentHistoryIsAtomicWithTheCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var first struct {
		Consent map[string]struct {
			At time.Time `json:"at"`
		} `json:"consent"`
	}
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678",
		"consent": map[string]any{"sms": grant(true, "pos")}}, &first)
	const n = 50
	ats := make([]time.Time, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			r, err := e.do(e.url, "PUT", "/v1/customers/c-1", map[string]any{"name": "김민수", "phone": "+821012345678",
				"consent": map[string]any{"sms": grant(i%3 == 0, fmt.Sprintf("src-%d", i))}}, map[string]string{"Authorization": "Bearer " + e.key})
			if err != nil || r.status != http.StatusOK {
				errs <- fmt.Errorf("PUT %d: %v %d %s", i, err, r.status, r.body)
				return
			}
			var c struct {
				Consent map[string]struct {
					At time.Time `json:"at"`
				} `json:"consent"`
			}
			if err := json.Unmarshal(r.body, &c); err != nil {
				errs <- err
				return
			}
			ats[i] = c.Consent["sms"].At
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Each state the row went through was answered to the PUT that wrote
	// it; a PUT that changed nothing answered the time of the last change.
	changes := map[int64]bool{}
	for _, at := range ats {
		// A PUT that ran first and granted again answered the first
		// grant's time: that is not a change.
		if !at.Equal(first.Consent["sms"].At) {
			changes[at.UnixMicro()] = true
		}
	}
	var page consentPage
	e.must(http.StatusOK, "GET", "/v1/customers/c-1/consents?limit=500", nil, &page)
	h := page.Consents
	if len(h) != len(changes)+1 { // + the first grant
		t.Fatalf("%d events for %d changes (+1 first grant)", len(h), len(changes))
	}
	for i, ev := range h[:len(h)-1] {
		if !changes[ev.At.UnixMicro()] {
			t.Errorf("event %+v at a time no PUT answered", ev)
		}
		if ev.Granted == h[i+1].Granted {
			t.Errorf("two events in a row grant %v: %+v, %+v", ev.Granted, ev, h[i+1])
		}
	}
	var now struct {
		Consent map[string]struct {
			Granted bool `json:"granted"`
		} `json:"consent"`
	}
	e.must(http.StatusOK, "GET", "/v1/customers/c-1", nil, &now)
	if now.Consent["sms"].Granted != h[0].Granted {
		t.Fatalf("row grants %v, newest event %v", now.Consent["sms"].Granted, h[0].Granted)
	}
	t.Logf("%d PUTs, %d changes", n, len(changes))
}
