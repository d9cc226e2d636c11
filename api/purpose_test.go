package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// Every step's purpose is shown (the kind's default when none was given)
// and may be set; a bad one, or service on a coupon step, is a 400 naming
// the field. params.compliance is accepted and shown, its shape checked.
func TestProgramPurposes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	type step struct {
		Key     string `json:"key"`
		Purpose string `json:"purpose"`
	}
	type message struct {
		Purpose string `json:"purpose"`
	}
	var got struct {
		ID     int64 `json:"id"`
		Params struct {
			Touches    []step  `json:"touches"`
			Greeting   message `json:"greeting"`
			Reminder   message `json:"reminder"`
			ThankYou   message `json:"thank_you"`
			Coupon     message `json:"coupon_message"`
			Compliance *struct {
				FrequencyCap struct {
					Max int `json:"max"`
				} `json:"frequency_cap"`
				WhenCapped string `json:"when_capped"`
			} `json:"compliance"`
		} `json:"params"`
	}
	create := func(body map[string]any) {
		t.Helper()
		var created struct {
			ID int64 `json:"id"`
		}
		e.must(http.StatusCreated, "POST", "/v1/programs", body, &created)
		e.must(http.StatusOK, "GET", fmt.Sprintf("/v1/programs/%d", created.ID), nil, &got)
	}

	create(map[string]any{"name": "해피콜", "kind": "happy_call"})
	for _, s := range got.Params.Touches {
		if s.Purpose != "service" {
			t.Fatalf("default happy call touches %+v, want service", got.Params.Touches)
		}
	}
	create(map[string]any{"name": "컴백", "kind": "welcome_back", "params": map[string]any{"every": "1h"}})
	if got.Params.Greeting.Purpose != "marketing" || got.Params.Reminder.Purpose != "service" {
		t.Fatalf("welcome back purposes %+v %+v", got.Params.Greeting, got.Params.Reminder)
	}
	create(map[string]any{"name": "재구매", "kind": "second_purchase", "params": map[string]any{
		"thank_you":  map[string]any{"text": "감사합니다", "purpose": "marketing"},
		"compliance": map[string]any{"frequency_cap": map[string]any{"max": 1, "window_days": 7}, "when_capped": "skip"},
	}})
	if got.Params.ThankYou.Purpose != "marketing" || got.Params.Coupon.Purpose != "marketing" {
		t.Fatalf("second purchase purposes %+v %+v", got.Params.ThankYou, got.Params.Coupon)
	}
	if c := got.Params.Compliance; c == nil || c.FrequencyCap.Max != 1 || c.WhenCapped != "skip" {
		t.Fatalf("compliance overrides %+v", c)
	}

	sms := func(purpose string) map[string]any {
		return map[string]any{"offset": "3d", "sms": "감사합니다", "purpose": purpose}
	}
	for _, tc := range []struct {
		name   string
		kind   string
		params map[string]any
		field  string
	}{
		{"unknown purpose", "happy_call", map[string]any{"touches": []any{sms("service"), sms("marketing"), sms("advert")}}, "params.touches[2].purpose"},
		{"purpose not a string", "happy_call", map[string]any{"touches": []any{map[string]any{"offset": "3d", "sms": "x", "purpose": true}}}, "params.touches[0].purpose"},
		{"service on a coupon", "welcome_back", map[string]any{"greeting": map[string]any{"text": "{{.Coupon}}", "purpose": "service"}}, "params.greeting.purpose"},
		{"service on a birthday coupon", "birthday", map[string]any{"greeting": map[string]any{"text": "{{.Coupon}}", "purpose": "service"}}, "params.greeting.purpose"},
		{"marketing SMS over the reserve", "happy_call", map[string]any{"touches": []any{map[string]any{"offset": "3d", "sms": strings.Repeat("가", 1590), "purpose": "marketing"}}}, "params.touches[0].sms"},
		{"cap too high", "dormant_wakeup", map[string]any{"compliance": map[string]any{"frequency_cap": map[string]any{"max": 1000, "window_days": 7}}}, "params.compliance.frequency_cap.max"},
		{"bad quiet hours", "happy_call", map[string]any{"compliance": map[string]any{"quiet_hours": map[string]any{"start": "9pm", "end": "08:00", "purposes": []string{"marketing"}}}}, "params.compliance.quiet_hours.start"},
		{"bad when capped", "birthday", map[string]any{"compliance": map[string]any{"when_capped": "drop"}}, "params.compliance.when_capped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.call("POST", "/v1/programs", map[string]any{"name": "x", "kind": tc.kind, "params": tc.params}).wantProblem(t, http.StatusBadRequest, tc.field)
		})
	}
	// A 1,590-character service SMS fits: nothing is added to it.
	e.must(http.StatusCreated, "POST", "/v1/programs", map[string]any{"name": "긴 안내", "kind": "happy_call",
		"params": map[string]any{"touches": []any{map[string]any{"offset": "3d", "sms": strings.Repeat("가", 1590)}}}}, nil)
}
