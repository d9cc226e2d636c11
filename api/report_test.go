package api_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/report"
)

// reportBase is the enrolment time of the seeded scenario.
var reportBase = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// seedReportScenario builds a program whose report is known by
// construction (window 14d, enrolment time T = reportBase):
//
//   - customers 1..1000 treated, 1001..1100 control, all enrolled at T;
//     each has an older purchase at T−60d in the other store and the
//     latest one before T, at T−30d, in its own: 강남점 for 1..600 and
//     1001..1060, 홍대점 for the rest (the latest store counts);
//   - treated outcomes: 1..200 converted, 201..300 expired, 301..350
//     stopped, 351..370 opted_out, 371..400 completed, 401..1000 running;
//   - conversions (KRW 10,000): treated 1..50 at T+1d, 51..200 at T+5d,
//     1..10 again at T+7d for 5,000, 11 in USD 12.50 at T+8d, 201..260
//     at T+20d (outside the window); control 1001..1010 at T+3d, 1011 at
//     T+15d (outside);
//   - step greeting (T+1h): an SMS to every treated customer — 1..500
//     delivered (2 segments), 501..700 sent (1), 701..750 failed, 751..800
//     suppressed "no consent", 801..830 held "quiet hours", 831..850
//     suppressed "capped", 851..1000 pending; and coupons for 1..400,
//     1..80 redeemed, 1..60 on their T+1d/T+5d order, 61..80 on orders
//     never recorded;
//   - step reminder (T+2d): mail to 1..300 — 1..250 sent, 251..260
//     ambiguous, 261..300 failed;
//   - step call (T+3d): call tasks for 1..100 due T+1d, window to T+3d:
//     1..40 completed at T+2d (1..30 reached, 31..35 no_answer, 36..40
//     complaint, each with an open escalation due tomorrow), 41..50
//     completed at T+4d (late), 51..70 expired, 71..80 cancelled, 81..100
//     open (overdue);
//   - outside the range: customers 1..50 have an older enrolment at
//     T−100d (completed, no store before it) with a purchase at T−95d.
func seedReportScenario(t *testing.T, e *env, programID int64) {
	t.Helper()
	ctx := context.Background()
	T := reportBase
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := e.db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`UPDATE programs SET created_at = $2 WHERE id = $1`, programID, T.AddDate(0, 0, -200))
	exec(`INSERT INTO customers (external_id, name) SELECT 'rc-' || i, 'x' FROM generate_series(1, 1100) i`)
	exec(`CREATE TEMP TABLE rc AS SELECT c.id AS cid, substr(c.external_id, 4)::int AS i,
		CASE WHEN substr(c.external_id, 4)::int <= 600 OR substr(c.external_id, 4)::int BETWEEN 1001 AND 1060 THEN '강남점' ELSE '홍대점' END AS store
		FROM customers c WHERE c.external_id LIKE 'rc-%'`)
	// Prior purchases: the older one in the other store, the latest in its own.
	exec(`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
		SELECT 'old-' || i, cid, 1000, 'KRW', CASE store WHEN '강남점' THEN '홍대점' ELSE '강남점' END, $1::timestamptz - interval '60 days' FROM rc
		UNION ALL SELECT 'last-' || i, cid, 1000, 'KRW', store, $1::timestamptz - interval '30 days' FROM rc`, T)
	exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, outcome, control, started_at, ended_at, created_at)
		SELECT $1, 1, cid, 'rep-' || i,
			CASE WHEN i > 1000 OR i <= 400 THEN 'ended' ELSE 'active' END,
			CASE WHEN i > 1000 THEN 'control' WHEN i <= 200 THEN 'converted' WHEN i <= 300 THEN 'expired' WHEN i <= 350 THEN 'stopped'
			     WHEN i <= 370 THEN 'opted_out' WHEN i <= 400 THEN 'completed' END,
			i > 1000, $2, CASE WHEN i > 1000 OR i <= 400 THEN $2::timestamptz + interval '10 days' END, $2
		FROM rc`, programID, T)
	exec(`INSERT INTO enrolments (program_id, program_version, customer_id, workflow_id, status, outcome, started_at, ended_at, created_at)
		SELECT $1, 1, cid, 'rep-old-' || i, 'ended', 'completed', $2, $2, $2 FROM rc WHERE i <= 50`, programID, T.AddDate(0, 0, -100))
	exec(`CREATE TEMP TABLE re AS SELECT rc.*, e.id AS eid FROM rc JOIN enrolments e ON e.customer_id = rc.cid AND e.created_at = $1`, T)
	exec(`INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
		SELECT 'conv-' || i, cid, 10000, 'KRW', store, $1::timestamptz + CASE WHEN i <= 50 THEN interval '1 day' ELSE interval '5 days' END FROM rc WHERE i <= 200
		UNION ALL SELECT 'more-' || i, cid, 5000, 'KRW', store, $1::timestamptz + interval '7 days' FROM rc WHERE i <= 10
		UNION ALL SELECT 'usd-' || i, cid, 12.50, 'USD', store, $1::timestamptz + interval '8 days' FROM rc WHERE i = 11
		UNION ALL SELECT 'late-' || i, cid, 10000, 'KRW', store, $1::timestamptz + interval '20 days' FROM rc WHERE i BETWEEN 201 AND 260
		UNION ALL SELECT 'ctl-' || i, cid, 10000, 'KRW', store, $1::timestamptz + interval '3 days' FROM rc WHERE i BETWEEN 1001 AND 1010
		UNION ALL SELECT 'ctl-late-' || i, cid, 10000, 'KRW', store, $1::timestamptz + interval '15 days' FROM rc WHERE i = 1011
		UNION ALL SELECT 'before-' || i, cid, 7000, 'KRW', 'X점', $1::timestamptz - interval '95 days' FROM rc WHERE i <= 50`, T)
	exec(`INSERT INTO messages (idempotency_key, enrolment_id, customer_id, channel, recipient, body, status, error_message, segments, provider_id, created_at)
		SELECT format('welcome_back:%s:e%s:greeting:sms', $1::bigint, eid), eid, cid, 'sms', '+8210', 'hi',
			CASE WHEN i <= 500 THEN 'delivered' WHEN i <= 700 THEN 'sent' WHEN i <= 750 THEN 'failed' WHEN i <= 800 THEN 'suppressed'
			     WHEN i <= 830 THEN 'held' WHEN i <= 850 THEN 'suppressed' ELSE 'pending' END,
			CASE WHEN i BETWEEN 751 AND 800 THEN 'no consent' WHEN i BETWEEN 801 AND 830 THEN 'quiet hours' WHEN i BETWEEN 831 AND 850 THEN 'capped' END,
			CASE WHEN i <= 500 THEN 2 ELSE 1 END,
			CASE WHEN i <= 700 THEN 'SM' || i END,
			$2::timestamptz + interval '1 hour'
		FROM re WHERE i <= 1000
		UNION ALL
		SELECT format('welcome_back:%s:e%s:reminder:email', $1::bigint, eid), eid, cid, 'email', 'x@example.com', 'hi',
			CASE WHEN i <= 250 THEN 'sent' WHEN i <= 260 THEN 'ambiguous' ELSE 'failed' END, NULL, NULL, NULL,
			$2::timestamptz + interval '2 days'
		FROM re WHERE i <= 300
		UNION ALL
		SELECT format('welcome_back:%s:e%s:greeting:sms', $1::bigint, e.id), e.id, e.customer_id, 'sms', '+8210', 'old', 'delivered', NULL, 1, 'SMold' || e.id, e.created_at
		FROM enrolments e WHERE e.workflow_id LIKE 'rep-old-%'`, programID, T)
	exec(`INSERT INTO coupons (code, idempotency_key, program_id, enrolment_id, customer_id, kind, value, issued_at, expires_at, redeemed_at, redeemed_order)
		SELECT 'RC' || i, format('welcome_back:%s:e%s:greeting:coupon', $1::bigint, eid), $1, eid, cid, 'amount', 5000,
			$2::timestamptz + interval '1 hour', $2::timestamptz + interval '30 days',
			CASE WHEN i <= 80 THEN $2::timestamptz + interval '1 day' END,
			CASE WHEN i <= 60 THEN 'conv-' || i WHEN i <= 80 THEN 'unknown-order-' || i END
		FROM re WHERE i <= 400`, programID, T)
	exec(`INSERT INTO call_tasks (idempotency_key, kind, customer_id, enrolment_id, store, due_at, expires_at, status, outcome, completed_at, created_at)
		SELECT format('welcome_back:%s:e%s:call:call', $1::bigint, eid), 'happy_call', cid, eid, store,
			$2::timestamptz + interval '1 day', $2::timestamptz + interval '3 days',
			CASE WHEN i <= 50 THEN 'completed' WHEN i <= 70 THEN 'expired' WHEN i <= 80 THEN 'cancelled' ELSE 'open' END,
			CASE WHEN i <= 30 OR i BETWEEN 41 AND 50 THEN 'reached' WHEN i <= 35 THEN 'no_answer' WHEN i <= 40 THEN 'complaint' END,
			CASE WHEN i <= 40 THEN $2::timestamptz + interval '2 days' WHEN i <= 50 THEN $2::timestamptz + interval '4 days' END,
			$2::timestamptz + interval '3 days'
		FROM re WHERE i <= 100
		UNION ALL
		SELECT format('welcome_back:%s:e%s:call:escalate', $1::bigint, eid), 'escalation', cid, eid, store, now() + interval '1 day', NULL, 'open', NULL, NULL,
			$2::timestamptz + interval '3 days'
		FROM re WHERE i BETWEEN 36 AND 40`, programID, T)
}

func TestProgramReportSeededScenario(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var p struct{ ID int64 }
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "보고서", "kind": "welcome_back",
		"params": map[string]any{"attribution_window": "14d"}}, &p)
	seedReportScenario(t, e, p.ID)

	q := url.Values{"from": {reportBase.Add(-time.Hour).Format(time.RFC3339)}, "to": {reportBase.Add(time.Hour).Format(time.RFC3339)}}
	path := fmt.Sprintf("/v1/programs/%d/report?%s", p.ID, q.Encode())
	var rep report.Report
	e.must(http.StatusOK, "GET", path, nil, &rep)
	if rep.AttributionWindow != "14d" || len(rep.Stores) != 2 || rep.Stores[0].Store != "강남점" || rep.Stores[1].Store != "홍대점" {
		t.Fatalf("window %q, stores %d: %s", rep.AttributionWindow, len(rep.Stores), e.call("GET", path, nil).body)
	}
	all, gangnam, hongdae := rep.All, rep.Stores[0], rep.Stores[1]

	want := func(name string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	// Enrolments.
	want("treated", all.Enrolments.Treated, 1000)
	want("control", all.Enrolments.Control, 100)
	want("active", all.Enrolments.Active, 600)
	want("finished", all.Enrolments.Finished, map[string]int64{"converted": 200, "expired": 100, "stopped": 50, "opted_out": 20, "completed": 30})
	want("강남점 treated/control", []int64{gangnam.Enrolments.Treated, gangnam.Enrolments.Control}, []int64{600, 60})
	want("홍대점 treated/control", []int64{hongdae.Enrolments.Treated, hongdae.Enrolments.Control}, []int64{400, 40})

	// Messages.
	sms, mail := all.Messages["sms"], all.Messages["email"]
	want("sms total", sms.Total, 1000)
	want("sms by status", sms.ByStatus, map[string]int64{"delivered": 500, "sent": 200, "failed": 50, "suppressed": 70, "held": 30, "pending": 150})
	want("sms buckets", []int64{sms.InFlight, sms.Sent, sms.Delivered, sms.Failed, sms.Held, sms.Suppressed}, []int64{150, 200, 500, 50, 30, 70})
	want("sms held back", sms.HeldBack, map[string]int64{"no consent": 50, "quiet hours": 30, "capped": 20})
	want("sms segments sent", sms.SegmentsSent, 500*2+200)
	want("email", []int64{mail.Total, mail.Sent, mail.Ambiguous, mail.Failed}, []int64{300, 250, 10, 40})
	want("홍대점 sms", []int64{hongdae.Messages["sms"].Total, hongdae.Messages["sms"].Sent, hongdae.Messages["sms"].SegmentsSent}, []int64{400, 100, 100})

	// Call tasks.
	ct := all.CallTasks
	want("call tasks", []int64{ct.Created, ct.Escalations, ct.Completed, ct.CompletedInTime, ct.Open, ct.Overdue, ct.Expired, ct.Cancelled},
		[]int64{105, 5, 50, 40, 25, 20, 20, 10})
	want("call outcomes", ct.Outcomes, map[string]int64{"reached": 40, "no_answer": 5, "complaint": 5})

	// Coupons.
	want("coupons", []int64{all.Coupons.Issued, all.Coupons.Redeemed, all.Coupons.RedeemedWithOrder}, []int64{400, 80, 60})
	want("redemption rate", all.Coupons.RedemptionRate, 0.2)
	want("redeemed revenue", all.Coupons.RedeemedRevenue, []report.Money{{Currency: "KRW", Amount: "600000.00"}})

	// Conversions: 200 of 1,000 treated, 10 of 100 control.
	tr, co := all.Conversions.Treated, all.Conversions.Control
	want("treated", []any{tr.Customers, tr.Converted, tr.Rate, tr.Purchases}, []any{1000, 200, 0.2, 211})
	want("treated revenue", tr.Revenue, []report.Money{{Currency: "KRW", Amount: "2050000.00", PerCustomer: "2050.00"}, {Currency: "USD", Amount: "12.50", PerCustomer: "0.01"}})
	want("control", []any{co.Customers, co.Converted, co.Rate, co.Purchases}, []any{100, 10, 0.1, 10})
	want("control revenue", co.Revenue, []report.Money{{Currency: "KRW", Amount: "100000.00", PerCustomer: "1000.00"}})
	want("강남점 conversions", []int64{gangnam.Conversions.Treated.Converted, gangnam.Conversions.Control.Converted}, []int64{200, 10})

	// Uplift: hand-computed in uplift/uplift_test.go (200/1000 vs 10/100).
	u := all.Uplift
	if u.TooSmall || u.Low == nil || fmt.Sprintf("%.7f %.7f %.7f", u.Uplift, *u.Low, *u.High) != "0.1000000 0.0361882 0.1638118" || u.Verdict != "treated convert more" {
		t.Errorf("uplift %+v", u)
	}
	if !hongdae.Uplift.TooSmall || hongdae.Uplift.Verdict != "too small to tell" {
		t.Errorf("홍대점 (no conversions) uplift %+v, want too small to tell", hongdae.Uplift)
	}

	// Steps in the order first reached; converted after each.
	want("steps", all.Steps, []report.Step{{Step: "greeting", Reached: 1000, ConvertedAfter: 200},
		{Step: "reminder", Reached: 300, ConvertedAfter: 150}, {Step: "call", Reached: 100, ConvertedAfter: 50}})

	// The same figures in CSV.
	r := e.call("GET", fmt.Sprintf("/v1/programs/%d/report.csv?%s", p.ID, q.Encode()), nil)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("report.csv: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	records, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || len(records) != 4 {
		t.Fatalf("csv %v: %d rows\n%s", err, len(records), r.body)
	}
	rows := map[string]map[string]string{}
	for _, rec := range records[1:] {
		row := map[string]string{}
		for i, h := range records[0] {
			row[h] = rec[i]
		}
		rows[rec[0]] = row
	}
	if records[1][0] != "all" {
		t.Errorf("first row %q, want all", records[1][0])
	}
	for col, v := range map[string]string{
		"treated": "1000", "control": "100", "active": "600", "finished_converted": "200", "finished_expired": "100", "finished_other": "0",
		"sms_total": "1000", "sms_delivered": "500", "sms_sent": "200", "sms_failed": "50", "sms_held": "30", "sms_suppressed": "70",
		"sms_segments_sent": "1200", "email_total": "300", "email_ambiguous": "10",
		"held_back_no_consent": "50", "held_back_quiet_hours": "30", "held_back_capped": "20", "held_back_other": "0",
		"call_tasks_created": "105", "call_tasks_completed_in_time": "40", "call_tasks_overdue": "20", "call_outcome_complaint": "5",
		"coupons_issued": "400", "coupons_redeemed": "80", "coupon_redemption_rate": "0.2", "coupons_redeemed_with_order": "60",
		"treated_converted": "200", "treated_conversion_rate": "0.2", "control_converted": "10", "control_conversion_rate": "0.1",
		"uplift_verdict":      "treated convert more",
		"treated_revenue_KRW": "2050000.00", "treated_revenue_per_customer_KRW": "2050.00", "control_revenue_KRW": "100000.00",
		"control_revenue_per_customer_KRW": "1000.00", "treated_revenue_USD": "12.50", "control_revenue_USD": "0.00",
		"redeemed_revenue_KRW":  "600000.00",
		"step_greeting_reached": "1000", "step_greeting_converted_after": "200", "step_reminder_converted_after": "150", "step_call_reached": "100",
	} {
		if got := rows["all"][col]; got != v {
			t.Errorf("csv all %s = %q, want %q", col, got, v)
		}
	}
	if rows["홍대점"]["treated"] != "400" || rows["강남점"]["control_converted"] != "10" || rows["홍대점"]["uplift_verdict"] != "too small to tell" {
		t.Errorf("csv store rows %v / %v", rows["홍대점"], rows["강남점"])
	}
	if !strings.HasPrefix(string(r.body), "store,treated,control,active,finished_converted,") {
		t.Errorf("csv header order: %.80s", r.body)
	}

	// One store: only its row, and "all" is that store.
	q.Set("store", "홍대점")
	var one report.Report
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d/report?%s", p.ID, q.Encode()), nil, &one)
	if len(one.Stores) != 1 || one.All.Enrolments.Treated != 400 || one.All.Conversions.Control.Customers != 40 {
		t.Errorf("store=홍대점: %d stores, treated %d", len(one.Stores), one.All.Enrolments.Treated)
	}

	// Default range (program start to now) takes in the older enrolments:
	// 50 more, completed, converted by their T−95d purchase, no store.
	var def report.Report
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d/report", p.ID), nil, &def)
	if def.All.Enrolments.Treated != 1050 || def.All.Enrolments.Finished["completed"] != 80 || def.All.Conversions.Treated.Converted != 250 ||
		len(def.Stores) != 3 || def.Stores[0].Store != "" || def.Stores[0].Messages["sms"].Delivered != 50 {
		t.Errorf("default range: treated %d completed %d converted %d stores %d", def.All.Enrolments.Treated,
			def.All.Enrolments.Finished["completed"], def.All.Conversions.Treated.Converted, len(def.Stores))
	}
}

// An event program's enrolment belongs to the store of the purchase that
// made it, whatever the customer's latest store.
func TestProgramReportEventProgramStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	var p struct{ ID int64 }
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "해피콜", "kind": "happy_call"}, &p)
	if _, err := e.db.Exec(ctx, `
		WITH c AS (INSERT INTO customers (external_id) VALUES ('ev-1') RETURNING id),
		p1 AS (INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
			SELECT 'ev-buy', id, 100, 'KRW', '부산점', now() - interval '2 days' FROM c RETURNING id, customer_id),
		p2 AS (INSERT INTO purchases (external_id, customer_id, amount, currency, store, purchased_at)
			SELECT 'ev-later', id, 100, 'KRW', '대구점', now() - interval '1 day' FROM c)
		INSERT INTO enrolments (program_id, program_version, customer_id, purchase_id, workflow_id, per_purchase, status, created_at)
		SELECT $1, 1, customer_id, id, 'ev-wf', true, 'active', now() - interval '2 days' FROM p1`, p.ID); err != nil {
		t.Fatal(err)
	}
	var rep report.Report
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d/report?from=2020-01-01", p.ID), nil, &rep)
	if len(rep.Stores) != 1 || rep.Stores[0].Store != "부산점" {
		t.Fatalf("stores %+v, want the enrolling purchase's 부산점", rep.Stores)
	}
	// The enrolling purchase is no conversion; the later one is.
	if c := rep.All.Conversions.Treated; c.Converted != 1 || c.Purchases != 1 {
		t.Errorf("conversions %+v, want the later purchase only", c)
	}
}

func TestProgramReportBadParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var p struct{ ID int64 }
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "보고서", "kind": "birthday"}, &p)
	for _, tc := range []struct{ query, field string }{
		{"from=yesterday", "from"},
		{"to=2026-13-01", "to"},
		{"from=2026-01-02&to=2026-01-01", "to"},
		{"from=2030-01-01", "from"},
		{"from=2000-01-01&to=2020-01-01", "to"},
		{"from=0001-01-01T00:00:00Z&to=9999-12-31", "to"},
		{"store=" + strings.Repeat("가", 201), "store"},
		{"store=%00", "store"},
		{"store=%ff", "store"},
	} {
		for _, route := range []string{"report", "report.csv"} {
			r := e.call("GET", fmt.Sprintf("/v1/programs/%d/%s?%s", p.ID, route, tc.query), nil)
			if r.status != http.StatusBadRequest || r.field() != tc.field {
				t.Errorf("%s?%s: %d %s, want 400 naming %s", route, tc.query, r.status, r.body, tc.field)
			}
		}
	}
	for _, id := range []string{fmt.Sprint(p.ID + 1000), "abc", "-1", "99999999999999999999"} {
		for _, route := range []string{"report", "report.csv"} {
			e.call("GET", "/v1/programs/"+id+"/"+route, nil).wantProblem(t, http.StatusNotFound, "")
		}
	}
	// Exactly ten years is allowed; an empty program reports zeros.
	var rep report.Report
	e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d/report?from=2016-01-01T00:00:00Z&to=2026-01-01T00:00:00Z", p.ID), nil, &rep)
	if rep.All.Enrolments.Treated != 0 || len(rep.Stores) != 0 || rep.All.Uplift.Verdict != "too small to tell" {
		t.Errorf("empty report %+v", rep.All)
	}
}
