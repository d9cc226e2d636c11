package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/programs"
)

type optOutsOut struct {
	Rows      int `json:"rows"`
	Matched   int `json:"matched"`
	Unknown   int `json:"unknown"`
	Invalid   int `json:"invalid"`
	Withdrawn int `json:"withdrawn"`
	Results   []struct {
		Row       int    `json:"row"`
		Phone     string `json:"phone"`
		Result    string `json:"result"`
		Customers int    `json:"customers"`
		Withdrawn int    `json:"withdrawn"`
		Reason    string `json:"reason"`
	} `json:"results"`
}

func (e *env) optOuts(ctype, body string) response {
	e.t.Helper()
	return e.request(e.url, "POST", "/v1/opt-outs", body, map[string]string{"Authorization": "Bearer " + e.key, "Content-Type": ctype})
}

// An 080 list of 10,000 numbers, 3,000 of them customers', applies in one
// request: every row answered, SMS and call consent withdrawn (mail kept)
// at the time of the call, by the API key, from the row's source, one
// consent event per withdrawal; the same list again changes nothing and
// records nothing.
func TestOptOutListOf10000(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const customers, rows = 3000, 10_000
	given := time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339Nano)
	// Customers i = 0..2999 have +8210 5000 0000 + i; all consent to SMS,
	// call and mail.
	if _, err := e.db.Exec(ctx, `
		INSERT INTO customers (external_id, name, phone, email, consent)
		SELECT 'bulk-' || i, '고객' || i, '+82105' || lpad(i::text, 7, '0'), 'c' || i || '@example.com',
			jsonb_build_object('sms', g, 'call', g, 'email', g)
		FROM generate_series(0, $1 - 1) AS i,
			LATERAL (SELECT jsonb_build_object('granted', true, 'at', $2::text, 'source', 'pos') AS g) x`, customers, given); err != nil {
		t.Fatal(err)
	}
	called := time.Now().Add(-time.Hour).Truncate(time.Second)
	seoul, _ := time.LoadLocation("Asia/Seoul")
	var csv strings.Builder
	csv.WriteString("phone,time,source\n")
	for i := range rows {
		// Customers' numbers in every form a vendor writes; the rest
		// nobody's (+82106...).
		var phone string
		switch n := 5_000_0000 + i; {
		case i >= customers:
			phone = fmt.Sprintf("010-6%03d-%04d", i/10000, i%10000)
		case i%3 == 0:
			phone = fmt.Sprintf("010-%04d-%04d", n/10000, n%10000)
		case i%3 == 1:
			phone = fmt.Sprintf("+8210%08d", n)
		default:
			phone = fmt.Sprintf("0%d%08d", 10, n)
		}
		fmt.Fprintf(&csv, "%s,%s,080-vendor-a\n", phone, called.In(seoul).Format(time.DateTime))
	}

	eventsBefore := e.count(`SELECT count(*) FROM consent_events`)
	start := time.Now()
	r := e.optOuts("text/csv", csv.String())
	took := time.Since(start)
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %.500s", r.status, r.body)
	}
	var out optOutsOut
	r.decode(t, &out)
	t.Logf("10,000-row 080 list (%d KB CSV, %d customers matched) applied in %s", csv.Len()/1024, customers, took.Round(time.Millisecond))
	if took > 10*time.Second {
		t.Errorf("took %s: the list must apply in a few seconds", took)
	}
	if out.Rows != rows || len(out.Results) != rows || out.Matched != customers || out.Unknown != rows-customers || out.Invalid != 0 || out.Withdrawn != customers {
		t.Fatalf("totals rows %d results %d matched %d unknown %d invalid %d withdrawn %d", out.Rows, len(out.Results), out.Matched, out.Unknown, out.Invalid, out.Withdrawn)
	}
	for i, res := range out.Results {
		want := "unknown"
		if i < customers {
			want = "matched"
		}
		if res.Row != i+1 || res.Result != want || (want == "matched") != (res.Customers == 1 && res.Withdrawn == 1) {
			t.Fatalf("row %d: %+v, want %s", i+1, res, want)
		}
	}
	if p := out.Results[0].Phone; p != "+821050000000" {
		t.Fatalf("row 1 phone %q, want the normalised +821050000000", p)
	}
	if n := e.count(`SELECT count(*) FROM consent_events`) - eventsBefore; n != 2*customers {
		t.Fatalf("%d consent events, want %d (SMS and call of each customer)", n, 2*customers)
	}
	if n := e.count(`SELECT count(*) FROM consent_events WHERE actor = 'api-test' AND source = '080-vendor-a' AND NOT granted AND at = $1
		AND channel IN ('sms', 'call')`, called); n != 2*customers {
		t.Fatalf("%d events with the key as actor, the row's source and time", n)
	}
	if n := e.count(`SELECT count(*) FROM customers WHERE external_id LIKE 'bulk-%'
		AND consent->'sms'->>'granted' = 'false' AND consent->'call'->>'granted' = 'false' AND consent->'email'->>'granted' = 'true'
		AND (consent->'sms'->>'at')::timestamptz = $1`, called); n != customers {
		t.Fatalf("%d customers with SMS and call withdrawn at the call and mail kept, want %d", n, customers)
	}
	var c customerOut
	e.must(http.StatusOK, "GET", "/v1/customers/bulk-7", nil, &c)
	if s := c.Consent["sms"]; s.Granted || !s.At.Equal(called) || s.Source != "080-vendor-a" {
		t.Fatalf("bulk-7 sms consent reads back as %+v", s)
	}

	// The same list again: answered the same, nothing changed or recorded.
	events := e.count(`SELECT count(*) FROM consent_events`)
	updated := e.count(`SELECT count(*) FROM customers WHERE updated_at > now() - interval '1 hour'`)
	time.Sleep(10 * time.Millisecond)
	start = time.Now()
	r = e.optOuts("text/csv", csv.String())
	t.Logf("replayed in %s", time.Since(start).Round(time.Millisecond))
	var again optOutsOut
	r.decode(t, &again)
	if again.Matched != customers || again.Withdrawn != 0 {
		t.Fatalf("replay: matched %d withdrawn %d, want %d and 0", again.Matched, again.Withdrawn, customers)
	}
	if n := e.count(`SELECT count(*) FROM consent_events`); n != events {
		t.Fatalf("replay recorded %d consent events", n-events)
	}
	if n := e.count(`SELECT count(*) FROM customers WHERE updated_at > now() - interval '1 hour'`); n != updated {
		t.Fatalf("replay touched customers: %d updated, was %d", n, updated)
	}
}

// Rows are answered one by one: bad numbers, times and sources are
// invalid with a reason and keep no other row from applying; a phone
// listed twice counts from its first call; consent given again after the
// call stays; a customer left with no channel whose enrolment runs is
// told through the customer fan-out.
func TestOptOutRows(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	for id, consent := range map[string]map[string]any{
		"o-1": {"sms": grant(true, "pos")},
		"o-2": {"sms": grant(true, "pos"), "email": grant(true, "pos")},
	} {
		phone := map[string]string{"o-1": "+821011110001", "o-2": "+821011110002"}[id]
		e.must(http.StatusCreated, "PUT", "/v1/customers/"+id, map[string]any{"name": "김", "phone": phone, "email": id + "@example.com", "consent": consent}, nil)
	}
	// Their consent was given two days ago.
	if _, err := e.db.Exec(ctx, `UPDATE customers SET consent = (SELECT jsonb_object_agg(key, jsonb_set(value, '{at}', to_jsonb($1::text)))
		FROM jsonb_each(consent)) WHERE external_id IN ('o-1', 'o-2')`, time.Now().Add(-48*time.Hour).UTC().Format(time.RFC3339)); err != nil {
		t.Fatal(err)
	}
	var p programOut
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "wb", "kind": programs.KindWelcomeBack}, &p)
	if _, err := e.db.Exec(ctx, `INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status)
		SELECT $1, 1, id, 'optout-test-o-1', 'active' FROM customers WHERE external_id = 'o-1'`, p.ID); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.terminateEnrolments() })

	hour := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	body := map[string]any{"opt_outs": []any{
		map[string]any{"phone": "010-1111-0001", "time": hour.Format(time.RFC3339), "source": "080-kt"},
		map[string]any{"phone": "+821011110001", "time": hour.Add(-time.Minute).Format(time.RFC3339)}, // the same number, called earlier
		map[string]any{"phone": "not a number"},
		map[string]any{"phone": "+8210111100029999"},
		map[string]any{"phone": "010-1111-0002", "time": "yesterday"},
		map[string]any{"phone": "010-1111-0002", "time": time.Now().Add(time.Hour).Format(time.RFC3339)},
		map[string]any{"phone": "010-1111-0002", "source": strings.Repeat("가", 101)},
		map[string]any{"time": hour.Format(time.RFC3339)},
		"010-1111-0002",
		map[string]any{"phone": "010-1111-0002", "unknown": 1},
		map[string]any{"phone": 1011110002},
		map[string]any{"phone": "010-9999-0000"},
	}}
	var out optOutsOut
	e.must(http.StatusOK, "POST", "/v1/opt-outs", body, &out)
	want := []string{"matched", "matched", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "invalid", "unknown"}
	for i, res := range out.Results {
		if res.Result != want[i] || (res.Result == "invalid") != (res.Reason != "") {
			t.Errorf("row %d: %+v, want %s", i+1, res, want[i])
		}
	}
	if out.Results[1].Withdrawn != 1 || out.Results[0].Withdrawn != 0 {
		t.Errorf("the earlier call of a number listed twice should withdraw: %+v", out.Results[:2])
	}
	c := e.consentOf("o-1")
	if s := c["sms"]; s.Granted || !s.At.Equal(hour.Add(-time.Minute)) || s.Source != "080" {
		t.Fatalf("o-1 sms %+v: want withdrawn at the earlier call, source 080 (none given)", s)
	}
	if !e.consentOf("o-2")["sms"].Granted {
		t.Fatal("an invalid row withdrew consent")
	}
	// o-1 has no channel left and a live enrolment: told in the background.
	deadline := time.Now().Add(10 * time.Second)
	for e.count(`SELECT count(*) FROM fanouts f JOIN customers c ON c.id = f.customer_id WHERE c.external_id = 'o-1' AND f.signal = 'opt-out'`) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("no opt-out fan-out for a customer left with no channel")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Consent given again after the call is the customer's later word.
	for _, granted := range []bool{false, true} {
		e.must(http.StatusOK, "PUT", "/v1/customers/o-2", map[string]any{"name": "김", "phone": "+821011110002", "consent": map[string]any{"sms": grant(granted, "store")}}, nil)
	}
	var late optOutsOut
	e.must(http.StatusOK, "POST", "/v1/opt-outs", map[string]any{"opt_outs": []any{map[string]any{"phone": "+821011110002", "time": hour.Format(time.RFC3339)}}}, &late)
	if late.Results[0].Result != "matched" || late.Results[0].Withdrawn != 0 || !e.consentOf("o-2")["sms"].Granted {
		t.Fatalf("a call before the latest consent withdrew it: %+v", late.Results)
	}
	if n := e.count(`SELECT count(*) FROM fanouts f JOIN customers c ON c.id = f.customer_id WHERE c.external_id = 'o-2'`); n != 0 {
		t.Fatalf("%d fan-outs for a customer who kept consent", n)
	}
}

// Whole-list problems are 4xx naming the field: too many rows, too big a
// body, an unreadable CSV or header, an unsupported type.
func TestOptOutLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var csv strings.Builder
	csv.WriteString("phone\n")
	for i := range 10_001 {
		fmt.Fprintf(&csv, "010-7%03d-%04d\n", i/10000, i%10000)
	}
	e.optOuts("text/csv", csv.String()).wantProblem(t, http.StatusRequestEntityTooLarge, "rows")
	rows := make([]any, 10_001)
	for i := range rows {
		rows[i] = map[string]any{"phone": "+821012345678"}
	}
	raw, _ := json.Marshal(map[string]any{"opt_outs": rows})
	e.optOuts("application/json", string(raw)).wantProblem(t, http.StatusRequestEntityTooLarge, "opt_outs")
	e.optOuts("text/csv", "phone\n"+strings.Repeat("x", 1<<20)).wantProblem(t, http.StatusRequestEntityTooLarge, "body")
	e.optOuts("text/csv", "phone,name\n010-1234-5678,김\n").wantProblem(t, http.StatusBadRequest, "header")
	e.optOuts("text/csv", "time,source\n").wantProblem(t, http.StatusBadRequest, "header")
	e.optOuts("text/csv", "phone\n\"010-1234").wantProblem(t, http.StatusBadRequest, "body")
	e.optOuts("text/csv", "").wantProblem(t, http.StatusBadRequest, "body")
	e.optOuts("text/csv; charset=euc-kr", "phone\n").wantProblem(t, http.StatusUnsupportedMediaType, "Content-Type")
	e.optOuts("application/xml", "<x/>").wantProblem(t, http.StatusUnsupportedMediaType, "Content-Type")
	e.optOuts("application/json", `{}`).wantProblem(t, http.StatusBadRequest, "opt_outs")
	e.optOuts("application/json", `{"opt_outs":[{"phone":"a\u0000"}]}`).wantProblem(t, http.StatusBadRequest, "opt_outs[0].phone")
	// An empty list is a quiet day at the 080 line.
	var out optOutsOut
	r := e.optOuts("text/csv", "\xef\xbb\xbfphone,time,source\r\n")
	if r.status != http.StatusOK {
		t.Fatalf("empty list: %d %s", r.status, r.body)
	}
	r.decode(t, &out)
	if out.Rows != 0 || len(out.Results) != 0 {
		t.Fatalf("empty list answered %+v", out)
	}
	// A short row in a CSV is one invalid row.
	r = e.optOuts("text/csv", "phone,time\n010-1234-5678\n010-1234-5679,2026-11-24 10:00:00\n")
	r.decode(t, &out)
	if out.Rows != 2 || out.Results[0].Result != "invalid" || out.Results[1].Result != "unknown" {
		t.Fatalf("short row: %+v", out)
	}
	// No key, no list.
	if r := e.request(e.url, "POST", "/v1/opt-outs", "phone\n", map[string]string{"Content-Type": "text/csv"}); r.status != http.StatusUnauthorized {
		t.Fatalf("without a key: %d", r.status)
	}
}
