package programs

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// FuzzParseOffset: whatever ParseOffset accepts is valid and reads back
// from its String and its JSON as the same Offset.
func FuzzParseOffset(f *testing.F) {
	for _, s := range []string{"3d", "1mo", "1y", "2w", "45s", "1mo15d", "1h30m", "10y", "120mo", "3720d", "89280h",
		"100000y100000y", "9y11mo31d23h59m59s", " 7d ", "0s", "00001d", "1m1mo", "99999999999999999999s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOffset(s)
		if err != nil {
			return
		}
		if err := o.Valid(); err != nil {
			t.Fatalf("ParseOffset(%q) = %+v, which is not valid: %v", s, o, err)
		}
		if o.Span() > MaxSpan {
			t.Fatalf("ParseOffset(%q) spans %s", s, o.Span())
		}
		back, err := ParseOffset(o.String())
		if err != nil || back != o {
			t.Fatalf("ParseOffset(%q) = %+v; its String %q reads back as %+v, %v", s, o, o.String(), back, err)
		}
		enc, err := json.Marshal(o)
		if err != nil {
			t.Fatalf("%+v does not encode: %v", o, err)
		}
		var dec Offset
		if err := json.Unmarshal(enc, &dec); err != nil || dec != o {
			t.Fatalf("%+v encodes as %s, which decodes as %+v, %v", o, enc, dec, err)
		}
		from := time.Date(2027, 1, 31, 10, 0, 0, 0, time.UTC)
		if !o.After(from, time.UTC).After(from.Add(-time.Nanosecond)) || o.Before(from, time.UTC).After(from) {
			t.Fatalf("%+v moves the wrong way", o)
		}
	})
}

// FuzzTemplate: checking and rendering never panic; what CheckTemplate
// accepts renders within its part's bound for data within the worst-case
// assumptions; a template the language refuses never renders.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		defaultFallbackSMS, defaultYearSMS, "{{.Name}}님 {{.CouponValue}} {{.Coupon}} ({{.CouponExpires}}까지)",
		"{{if .Coupon}}{{.Coupon}}{{else}}-{{end}}", "{{kodate .PurchasedAt}} {{.PurchasedAt | date}}", "{{range 200000000}}{{end}}",
		"{{with .Name}}{{.}}{{end}}", `{{define "a"}}x{{end}}`, "{{$x := 1}}", "{{.Name", "{{if .Name}}{{else if .Store}}{{end}}",
		"{{/* c */}}{{- .Name -}}", "{{(.Name)}}", "{{.Name | kodate}}", "{{printf \"%d\" 1}}", "{{template \"x\"}}",
	} {
		f.Add(s, uint8(0), "홍길동", "강남점")
	}
	f.Fuzz(func(t *testing.T, text string, part uint8, name, store string) {
		p := Part(part%4 + 1)
		checkErr := CheckTemplate(text, p)
		data := sample
		data.Name, data.Store = name, store
		out, err := Render(text, data, p)
		if err == nil && p.Size(out) > p.Max() {
			t.Fatalf("Render(%q) for %s is %d %s", text, p, p.Size(out), p.unit())
		}
		if checkErr == nil && err != nil && fitsWorst(data) {
			t.Fatalf("CheckTemplate(%q, %s) accepted, but Render with data inside the assumed bounds failed: %v", text, p, err)
		}
		if checkErr != nil && !errors.Is(checkErr, ErrTooLong) && err == nil {
			t.Fatalf("CheckTemplate(%q) refused it (%v), but Render rendered %q", text, checkErr, out)
		}
		if again := CheckTemplate(text, p); (again == nil) != (checkErr == nil) {
			t.Fatalf("CheckTemplate(%q) changed its mind: %v, then %v", text, checkErr, again)
		}
	})
}

// fitsWorst tells whether data is within what CheckTemplate assumes.
func fitsWorst(d TemplateData) bool {
	return len([]rune(d.Name)) <= WorstNameChars && len(d.Store) <= WorstPurchaseBytes
}

// FuzzParams: for every kind, what Parse accepts encodes, decodes with
// Decode and encodes again to the same bytes, as the API relies on before
// it stores params; and Parse refuses only with a *FieldError (a 400).
func FuzzParams(f *testing.F) {
	seeds := map[string][]string{
		KindHappyCall: {`{}`, `{"touches":[{"key":"a","offset":"5s","sms":"안녕 {{.Name}}"},{"offset":"10s","call":true,"fallback_sms":"x"}],"call_window":"3s","categories":["가전"]}`,
			`{"touches":[{"offset":"100000y100000y","sms":"a"}]}`, `{"touches":[{"offset":"3d","email":"body","email_subject":"{{.Name}}"}]}`},
		KindWelcomeBack: {`{}`, `{"lapsed_days":90,"hour":10,"coupon":{"kind":"amount","value":"10000","valid_for":"30d"}}`,
			`{"lapsed_days":90,"every":"2s","coupon":{"kind":"amount","value":"10000","valid_for":"60s"},"reminder_before":"25s"}`,
			`{"audience":{"grades":["A"],"stores":["강남점"],"min_total_spend":"100.5"},"channel":"email"}`},
		KindDormantWakeup: {`{}`, `{"steps":[{"key":"d30","offset":"30d","channel":"sms","message":{"text":"안녕하세요"}}]}`},
		KindBirthday:      {`{}`, `{"card_before":"2w","send_hour":9,"coupon":{"kind":"percent","value":"15"}}`},
		KindSecondPurchase: {`{}`, `{"coupon_after":"2s","coupon":{"kind":"percent","value":"15","valid_for":"1h"}}`,
			`{"channel":"email","thank_you":{"subject":"s","text":"t"}}`},
	}
	for i, kind := range Kinds {
		for _, s := range seeds[kind] {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, k uint8, raw []byte) {
		kind := Kinds[int(k)%len(Kinds)]
		p, err := Parse(kind, raw)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse(%s, %s) failed without a FieldError: %v", kind, raw, err)
			}
			return
		}
		enc, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("Parse(%s, %s) accepted params that do not encode: %v", kind, raw, err)
		}
		back, err := Decode(kind, enc)
		if err != nil {
			t.Fatalf("Parse(%s, %s) accepted params stored as %s that Decode refuses: %v", kind, raw, enc, err)
		}
		again, err := json.Marshal(back)
		if err != nil || !bytes.Equal(enc, again) {
			t.Fatalf("Parse(%s, %s): stored %s reads back as %s (%v)", kind, raw, enc, again, err)
		}
		var tree any
		if err := json.Unmarshal(enc, &tree); err != nil || nulPath(tree, "params") != "" {
			t.Fatalf("Parse(%s, %s) accepted a NUL character, which PostgreSQL cannot store", kind, raw)
		}
	})
}
