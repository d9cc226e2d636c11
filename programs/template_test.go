package programs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

var sample = TemplateData{Name: "홍길동", Store: "강남점", Product: "냉장고", Category: "가전",
	PurchasedAt: time.Date(2027, 1, 31, 14, 30, 0, 0, time.UTC), Coupon: "K7QX-M2PA-9RTD", CouponValue: "10,000원",
	CouponExpires: "2027-03-02", SurveyURL: "https://example.com/s/x"}

func TestTemplateLanguage(t *testing.T) {
	for in, want := range map[string]string{
		"안녕하세요": "안녕하세요",
		"[{{.Store}}] {{.Name}} 고객님, {{.Product}}":                                     "[강남점] 홍길동 고객님, 냉장고",
		"{{.Category}} {{.Coupon}} {{.CouponValue}} {{.CouponExpires}} {{.SurveyURL}}": "가전 K7QX-M2PA-9RTD 10,000원 2027-03-02 https://example.com/s/x",
		"{{.PurchasedAt}} {{date .PurchasedAt}} {{.PurchasedAt | kodate}}":             "2027-01-31 2027-01-31 2027년 1월 31일",
		"{{if .Coupon}}쿠폰 {{.Coupon}}{{else}}없음{{end}}":                                "쿠폰 K7QX-M2PA-9RTD",
		"{{- .Name -}} ! {{/* a note */}}":                                             "홍길동! ",
	} {
		got, err := Render(in, sample, PartSMS)
		if err != nil || got != want {
			t.Errorf("Render(%q) = %q, %v; want %q", in, got, err, want)
		}
		if err := CheckTemplate(in, PartSMS); err != nil {
			t.Errorf("CheckTemplate(%q): %v", in, err)
		}
	}
	none := TemplateData{Name: "김"}
	if got, _ := Render("{{if .Coupon}}{{.Coupon}}{{else if .Store}}{{.Store}}{{else}}-{{.Name}}{{end}}", none, PartSMS); got != "-김" {
		t.Errorf("else branch: %q", got)
	}
	for _, bad := range []string{
		"{{range 200000000}}{{end}}", "{{range .Name}}{{end}}", "{{with .Name}}{{.}}{{end}}",
		`{{define "x"}}a{{end}}`, `{{template "x"}}`, `{{block "x" .}}a{{end}}`,
		"{{$x := .Name}}{{$x}}", "{{.}}", "{{.Name.Length}}", "{{.Nope}}", `{{printf "%s" .Name}}`,
		`{{if eq .Name "a"}}x{{end}}`, "{{len .Name}}", "{{index .Name 0}}", `{{"literal"}}`, "{{1}}",
		"{{date .Name}}", "{{upper .Name}}", "{{.Name | date}}", "{{date .PurchasedAt | kodate}}", "{{call .Name}}",
		"{{if .Name}}", "{{.Name", "a\x00b", "{{if .Name .Store}}x{{end}}", "{{html .Name}}", "{{(.Name)}}",
		strings.Repeat("{{if .Name}}", 20) + strings.Repeat("{{end}}", 20),
	} {
		if err := CheckTemplate(bad, PartMailBody); err == nil {
			t.Errorf("CheckTemplate(%q) accepted", bad)
		}
		if s, err := Render(bad, sample, PartMailBody); err == nil {
			t.Errorf("Render(%q) = %q", bad, s)
		}
	}
}

// On the old code (text/template) a loop over a number took seconds at
// every check and every send.
func TestCheckTemplateRefusesLoopsAtOnce(t *testing.T) {
	for _, loop := range []string{"{{range 200000000}}{{end}}", "{{range 1000000}}" + strings.Repeat("x", 30) + "{{end}}"} {
		start := time.Now()
		err := CheckTemplate(loop, PartSMS)
		if took := time.Since(start); err == nil || took > 50*time.Millisecond {
			t.Errorf("CheckTemplate(%.30q) = %v after %s; want a refusal at once", loop, err, took)
		}
	}
}

func TestCheckTemplateBoundsEachPart(t *testing.T) {
	cases := []struct {
		part   Part
		text   string
		accept bool
	}{
		{PartSMS, strings.Repeat("가", MaxSMSChars), true},
		{PartSMS, strings.Repeat("가", MaxSMSChars+1), false},
		{PartSMS, strings.Repeat("😀", MaxSMSChars/2), true},
		{PartSMS, strings.Repeat("😀", MaxSMSChars/2+1), false},
		{PartSMS, strings.Repeat("x", 2000), false},
		// A name is assumed 200 emoji (400 units), a store 200 bytes.
		{PartSMS, "{{.Name}}{{.Store}}" + strings.Repeat("x", MaxSMSChars-600), true},
		{PartSMS, "{{.Name}}{{.Store}}" + strings.Repeat("x", MaxSMSChars-599), false},
		// The longer branch of an if counts.
		{PartSMS, "{{if .Coupon}}a{{else}}" + strings.Repeat("x", MaxSMSChars+1) + "{{end}}", false},
		{PartMailSubject, "{{.Name}}님, " + strings.Repeat("가", MaxMailSubjectChars-203), true},
		{PartMailSubject, "{{.Name}}님, " + strings.Repeat("가", MaxMailSubjectChars-202), false},
		{PartMailBody, strings.Repeat("x", MaxMailBodyBytes), true},
		{PartMailBody, strings.Repeat("가", MaxMailBodyBytes/3+1), false},
		{PartCallScript, strings.Repeat("가", MaxCallScriptChars), true},
		{PartCallScript, strings.Repeat("가", MaxCallScriptChars+1), false},
		{PartMailBody, strings.Repeat("x", MaxTemplateBytes+1), false},
	}
	for _, c := range cases {
		err := CheckTemplate(c.text, c.part)
		if (err == nil) != c.accept {
			t.Errorf("%s, %d bytes: %v, want accepted=%v", c.part, len(c.text), err, c.accept)
		}
		if err != nil && len(c.text) <= MaxTemplateBytes && !errors.Is(err, ErrTooLong) {
			t.Errorf("%s: %v does not wrap ErrTooLong", c.part, err)
		}
	}
}

func TestRenderBoundsOutput(t *testing.T) {
	long := sample
	long.Name = strings.Repeat("가", MaxSMSChars)
	if s, err := Render("{{.Name}}", long, PartSMS); err != nil || s != long.Name {
		t.Errorf("exactly at the bound: %v", err)
	}
	if s, err := Render("{{.Name}}!", long, PartSMS); !errors.Is(err, ErrTooLong) || s != "" {
		t.Errorf("over the bound: %q, %v", s, err)
	}
	long.SurveyURL = strings.Repeat("x", MaxMailSubjectChars)
	if _, err := Render("{{.SurveyURL}}{{.SurveyURL}}", long, PartMailSubject); !errors.Is(err, ErrTooLong) {
		t.Errorf("subject over the bound: %v", err)
	}
}

// A 2,000-character SMS is a 400 naming its field, whichever kind holds it.
func TestParseRefusesTooLongMessages(t *testing.T) {
	long := strings.Repeat("가", 2000)
	cases := []struct{ kind, params, field string }{
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":%q}]}`, "params.touches[0].sms"},
		{KindHappyCall, `{"touches":[{"offset":"3d","call":true,"fallback_sms":%q}]}`, "params.touches[0].fallback_sms"},
		{KindHappyCall, `{"touches":[{"offset":"3d","email":"x","email_subject":%q}]}`, "params.touches[0].email_subject"},
		{KindHappyCall, `{"touches":[{"offset":"3d","call":true,"call_script":"{{.Name}}%s%s"}]}`, "params.touches[0].call_script"},
		{KindWelcomeBack, `{"greeting":{"text":%q}}`, "params.greeting.text"},
		{KindDormantWakeup, `{"steps":[{"offset":"0d","channel":"sms","message":{"text":%q}}]}`, "params.steps[0].message.text"},
		{KindBirthday, `{"greeting":{"text":%q}}`, "params.greeting.text"},
		{KindSecondPurchase, `{"coupon_message":{"text":%q}}`, "params.coupon_message.text"},
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":"{{range 200000000}}{{end}}%s"}]}`, "params.touches[0].sms"},
	}
	for _, c := range cases {
		args := []any{long}
		if strings.Count(c.params, "%") == 2 {
			args = append(args, long)
		}
		if strings.Contains(c.params, "range") {
			args = []any{""}
		}
		raw := fmt.Sprintf(c.params, args...)
		_, err := Parse(c.kind, json.RawMessage(raw))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s %.60s: %v, want a FieldError on %s", c.kind, raw, err, c.field)
		}
	}
	// The mail body of a happy call may be long.
	if _, err := Parse(KindHappyCall, json.RawMessage(fmt.Sprintf(`{"touches":[{"offset":"3d","email":%q,"email_subject":"s"}]}`, long))); err != nil {
		t.Error(err)
	}
}

func BenchmarkCheckTemplateLoop(b *testing.B) {
	for b.Loop() {
		if CheckTemplate("{{range 200000000}}{{end}}", PartSMS) == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkCheckTemplateDefault(b *testing.B) {
	for b.Loop() {
		if err := CheckTemplate(defaultFallbackSMS, PartSMS); err != nil {
			b.Fatal(err)
		}
	}
}
