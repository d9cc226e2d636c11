package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/dangol/dangol/internal/testenv"
)

type forecastOut struct {
	Kind     string    `json:"kind"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	TimeZone string    `json:"time_zone"`
	Basis    struct {
		Source     string  `json:"source"`
		Count      int64   `json:"count"`
		Sampled    int     `json:"sampled"`
		Enrolments float64 `json:"enrolments"`
		Control    float64 `json:"control"`
	} `json:"basis"`
	Weeks []struct {
		Week      string             `json:"week"`
		Start     time.Time          `json:"start"`
		End       time.Time          `json:"end"`
		SMS       float64            `json:"sms"`
		Email     float64            `json:"email"`
		Fallback  float64            `json:"fallback_sms_if_unanswered"`
		CallTasks map[string]float64 `json:"call_tasks"`
	} `json:"weeks"`
	Totals struct {
		SMS       float64            `json:"sms"`
		Email     float64            `json:"email"`
		Fallback  float64            `json:"fallback_sms_if_unanswered"`
		CallTasks map[string]float64 `json:"call_tasks"`
	} `json:"totals"`
	Held        []string `json:"held"`
	Assumptions []string `json:"assumptions"`
}

// weeks checks the forecast's 53 ISO weeks: back to back from now, in
// the settings' zone.
func (f forecastOut) weeks(t *testing.T, before time.Time) {
	t.Helper()
	if len(f.Weeks) != 53 || f.TimeZone != "Asia/Seoul" {
		t.Fatalf("%d weeks in %q", len(f.Weeks), f.TimeZone)
	}
	if f.From.Before(before) || !f.Weeks[0].Start.Equal(f.From) || !f.Weeks[52].End.Equal(f.To) {
		t.Fatalf("from %s to %s, weeks %s to %s", f.From, f.To, f.Weeks[0].Start, f.Weeks[52].End)
	}
	if d := f.To.Sub(f.From); d < 364*24*time.Hour || d > 372*24*time.Hour {
		t.Fatalf("span %s", d)
	}
	for i := 1; i < 53; i++ {
		if !f.Weeks[i].Start.Equal(f.Weeks[i-1].End) || f.Weeks[i].Start.Weekday() != time.Monday {
			t.Fatalf("week %d starts %s", i, f.Weeks[i].Start)
		}
	}
}

// A happy call's call tasks per store come from the last 13 weeks'
// purchases, each recurring every 91 days: a purchase 10 days ago recurs
// 81, 172, 263 and 354 days from now, so each gives 4 calls in the year;
// the customer without call consent gets the fallback SMS instead, and
// the purchase outside the category and the one from before the lookback
// count for nothing.
func TestForecastHappyCallTasksPerStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	testenv.PutSettings(t, e.st, testenv.AnyHourSettings())
	now := time.Now()
	for i, consent := range []map[string]any{
		{"sms": grant(true, "pos"), "call": grant(true, "pos")},
		{"sms": grant(true, "pos"), "call": grant(true, "pos")},
		{"sms": grant(true, "pos")},
	} {
		e.must(http.StatusCreated, "PUT", fmt.Sprintf("/v1/customers/c-%d", i), map[string]any{
			"name": "고객", "phone": fmt.Sprintf("+82101234567%d", i), "consent": consent}, nil)
	}
	for i, p := range []struct {
		customer, store, category string
		ago                       time.Duration
	}{
		{"c-0", "강남점", "가전", 10 * 24 * time.Hour},
		{"c-1", "강남점", "가전", 40 * 24 * time.Hour},
		{"c-0", "홍대점", "가전", 60 * 24 * time.Hour},
		{"c-2", "홍대점", "가전", 20 * 24 * time.Hour},
		{"c-1", "홍대점", "식품", 5 * 24 * time.Hour},
		{"c-1", "강남점", "가전", 100 * 24 * time.Hour},
	} {
		body := with(purchase(fmt.Sprintf("o-%d", i), p.customer, p.category, now.Add(-p.ago)), map[string]any{"store": p.store})
		e.must(http.StatusCreated, "POST", "/v1/purchases", body, nil)
	}
	draft := map[string]any{"name": "해피콜", "kind": "happy_call", "params": map[string]any{
		"categories": []string{"가전"}, "call_window": "2d",
		"touches": []any{map[string]any{"key": "d1", "offset": "1d", "call": true, "fallback_sms": "[{{.Store}}] 잘 쓰고 계신가요?"}},
	}}
	var out forecastOut
	e.must(http.StatusOK, "POST", "/v1/programs:forecast", map[string]any{"program": draft}, &out)
	out.weeks(t, now)
	if out.Kind != "happy_call" || out.Basis.Source != "purchases" || out.Basis.Count != 4 || out.Basis.Sampled != 4 || out.Basis.Control != 0 {
		t.Fatalf("basis %+v", out.Basis)
	}
	if out.Totals.CallTasks["강남점"] != 8 || out.Totals.CallTasks["홍대점"] != 4 || len(out.Totals.CallTasks) != 2 {
		t.Fatalf("call tasks %v, want 8 at 강남점 and 4 at 홍대점", out.Totals.CallTasks)
	}
	// c-2 (no call consent): the fallback SMS at once, 4 times; the calls
	// nobody answers: 12 more, if so.
	if out.Totals.SMS != 4 || out.Totals.Fallback != 12 || out.Totals.Email != 0 {
		t.Fatalf("totals %+v", out.Totals)
	}
	sum := 0.0
	for _, w := range out.Weeks {
		sum += w.CallTasks["강남점"]
	}
	if sum != 8 {
		t.Fatalf("weekly call tasks at 강남점 sum to %v", sum)
	}
}

// A welcome-back's audience enrols at the first sweep and again after the
// cooldown: the greeting and the reminder twice a year for each lapsed
// customer with SMS consent; the recent buyer and the one without consent
// are not in the audience. The holdout is the treated share of a draft.
func TestForecastWelcomeBackAudience(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	testenv.PutSettings(t, e.st, testenv.AnyHourSettings())
	now := time.Now()
	for i, c := range []struct {
		consent map[string]any
		ago     time.Duration
	}{
		{map[string]any{"sms": grant(true, "pos")}, 200 * 24 * time.Hour},
		{map[string]any{"sms": grant(true, "pos")}, 150 * 24 * time.Hour},
		{map[string]any{"sms": grant(true, "pos")}, 10 * 24 * time.Hour},
		{map[string]any{"email": grant(true, "pos")}, 200 * 24 * time.Hour},
	} {
		id := fmt.Sprintf("c-%d", i)
		e.must(http.StatusCreated, "PUT", "/v1/customers/"+id, map[string]any{
			"name": "고객", "phone": fmt.Sprintf("+82101234567%d", i), "email": fmt.Sprintf("c%d@example.com", i), "consent": c.consent}, nil)
		e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-"+id, id, "가전", now.Add(-c.ago)), nil)
	}
	draft := func(holdout int) map[string]any {
		return map[string]any{"name": "컴백", "kind": "welcome_back", "params": map[string]any{"holdout_percent": holdout}}
	}
	var out forecastOut
	e.must(http.StatusOK, "POST", "/v1/programs:forecast", map[string]any{"program": draft(0)}, &out)
	out.weeks(t, now)
	if out.Basis.Source != "audience" || out.Basis.Count != 2 || out.Basis.Enrolments != 4 {
		t.Fatalf("basis %+v", out.Basis)
	}
	if out.Totals.SMS != 8 || out.Totals.Email != 0 || len(out.Totals.CallTasks) != 0 {
		t.Fatalf("totals %+v", out.Totals)
	}
	e.must(http.StatusOK, "POST", "/v1/programs:forecast", map[string]any{"program": draft(25)}, &out)
	if out.Totals.SMS != 6 || out.Basis.Enrolments != 3 || out.Basis.Control != 1 {
		t.Fatalf("at 25%% held out: sms %v, basis %+v", out.Totals.SMS, out.Basis)
	}
}

// Advertising the settings cannot label (no sender name for Korean
// advertising) is held whatever the customer, and the forecast says so.
func TestForecastSaysWhatSettingsHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.must(http.StatusCreated, "PUT", "/v1/customers/c-1", map[string]any{
		"name": "고객", "phone": "+821012345678", "consent": map[string]any{"sms": grant(true, "pos")}}, nil)
	e.must(http.StatusCreated, "POST", "/v1/purchases", purchase("o-1", "c-1", "가전", time.Now().AddDate(0, 0, -200)), nil)
	var out forecastOut
	e.must(http.StatusOK, "POST", "/v1/programs:forecast", map[string]any{"program": map[string]any{"name": "컴백", "kind": "welcome_back"}}, &out)
	// Two enrolments in the year (the cooldown is 180 days), each of whose
	// service reminder goes, weighed by the treated 90%.
	if len(out.Held) != 1 || out.Totals.SMS != 1.8 {
		t.Fatalf("held %q, sms %v: want the greetings held (settings incomplete), the service reminders sent", out.Held, out.Totals.SMS)
	}
}

func TestForecastBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ok := map[string]any{"name": "해피콜", "kind": "happy_call"}
	for _, c := range []struct {
		body  any
		field string
	}{
		{map[string]any{}, "program"},
		{map[string]any{"program": nil}, "program"},
		{map[string]any{"program": with(ok, map[string]any{"kind": "nope"})}, "program.kind"},
		{map[string]any{"program": with(ok, map[string]any{"name": ""})}, "program.name"},
		{map[string]any{"program": with(ok, map[string]any{"params": map[string]any{"touches": []any{map[string]any{"key": "a", "offset": "soon"}}}})}, "program.params.touches[0].offset"},
		{map[string]any{"program": with(ok, map[string]any{"params": map[string]any{"holdout_percent": 90}})}, "program.params.holdout_percent"},
		{map[string]any{"program": ok, "at": "now"}, "at"},
		{`{"program": {"name": "a\u0000", "kind": "happy_call"}}`, "program.name"},
	} {
		e.call("POST", "/v1/programs:forecast", c.body).wantProblem(t, http.StatusBadRequest, c.field)
	}
}
