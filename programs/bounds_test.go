package programs

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// long spans, each typed where a marketer types a span.
var hugeSpans = []string{"100000y100000y", strings.Repeat("100000h", 26), "11y"}

func TestParseBoundsEverySpanNamingTheField(t *testing.T) {
	cases := []struct {
		kind, params, field string
	}{
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":"a"},{"offset":%q,"sms":"b"}]}`, "params.touches[1].offset"},
		{KindHappyCall, `{"call_window":%q}`, "params.call_window"},
		{KindWelcomeBack, `{"coupon":{"valid_for":%q}}`, "params.coupon.valid_for"},
		{KindWelcomeBack, `{"reminder_before":%q}`, "params.reminder_before"},
		{KindWelcomeBack, `{"cooldown":%q}`, "params.cooldown"},
		{KindDormantWakeup, `{"steps":[{"offset":"0d","channel":"sms","message":{"text":"a"}},{"offset":%q,"channel":"sms","message":{"text":"b"}}]}`, "params.steps[1].offset"},
		{KindDormantWakeup, `{"coupon":{"valid_for":%q}}`, "params.coupon.valid_for"},
		{KindBirthday, `{"card_before":%q}`, "params.card_before"},
		{KindBirthday, `{"cooldown":%q}`, "params.cooldown"},
		{KindSecondPurchase, `{"coupon_after":%q}`, "params.coupon_after"},
		{KindSecondPurchase, `{"coupon":{"valid_for":%q}}`, "params.coupon.valid_for"},
	}
	for _, c := range cases {
		for _, span := range hugeSpans {
			raw := fmt.Sprintf(c.params, span)
			p, err := Parse(c.kind, json.RawMessage(raw))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("%s %s: got %v (params %+v), want a FieldError on %s", c.kind, raw, err, p, c.field)
			}
		}
	}
	for _, every := range []string{"1000000h", "89281h", "0.5s", "-1s", strings.Repeat("1", 40) + "s"} {
		_, err := Parse(KindWelcomeBack, json.RawMessage(fmt.Sprintf(`{"every":%q}`, every)))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "params.every" {
			t.Errorf("every %q: got %v", every, err)
		}
	}
}

func TestParseBoundsNumbersListsAndKeys(t *testing.T) {
	list := func(n, size int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = strings.Repeat("가", size/3)
		}
		b, _ := json.Marshal(items)
		return string(b)
	}
	cases := []struct {
		kind, params, field string
	}{
		{KindWelcomeBack, `{"lapsed_days":3651}`, "params.lapsed_days"},
		{KindWelcomeBack, `{"lapsed_days":-5}`, "params.lapsed_days"},
		{KindDormantWakeup, `{"lapsed_days":99999999999}`, "params.lapsed_days"},
		{KindWelcomeBack, `{"hour":24}`, "params.hour"},
		{KindBirthday, `{"send_hour":-1}`, "params.send_hour"},
		{KindWelcomeBack, `{"time_zone":"../../etc/passwd"}`, "params.time_zone"},
		{KindWelcomeBack, `{"time_zone":"Local"}`, "params.time_zone"},
		{KindWelcomeBack, `{"coupon":{"kind":"percent","value":"150"}}`, "params.coupon.value"},
		{KindWelcomeBack, `{"coupon":{"kind":"percent","value":"100.01"}}`, "params.coupon.value"},
		{KindWelcomeBack, `{"coupon":{"currency":"KRWX"}}`, "params.coupon.currency"},
		{KindWelcomeBack, `{"audience":{"grades":["A","Z"]}}`, "params.audience.grades[1]"},
		{KindWelcomeBack, `{"audience":{"min_purchases":-1}}`, "params.audience.min_purchases"},
		{KindBirthday, `{"audience":{"consent":"fax"}}`, "params.audience.consent"},
		{KindHappyCall, `{"categories":` + list(101, 3) + `}`, "params.categories"},
		{KindHappyCall, `{"products":` + list(2, 201) + `}`, "params.products[0]"},
		{KindHappyCall, `{"categories":["가전",""]}`, "params.categories[1]"},
		{KindHappyCall, `{"touches":[{"key":"` + strings.Repeat("k", 65) + `","offset":"3d","sms":"a"}]}`, "params.touches[0].key"},
		{KindHappyCall, `{"touches":[{"key":"a:b","offset":"3d","sms":"a"}]}`, "params.touches[0].key"},
		{KindDormantWakeup, `{"steps":[{"key":"a/b","offset":"0d","channel":"sms","message":{"text":"a"}}]}`, "params.steps[0].key"},
		{KindDormantWakeup, `{"steps":[{"offset":"0d","channel":"fax","message":{"text":"a"}}]}`, "params.steps[0].channel"},
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":"a","colour":"red"}]}`, "params.touches[0].colour"},
		{KindHappyCall, `{"touches":[{"offset":"3d","call":"yes"}]}`, "params.touches[0].call"},
		{KindHappyCall, `{"touches":[{"offset":3,"sms":"x"}]}`, "params.touches[0].offset"},
		{KindWelcomeBack, `{"coupon":{"valid_for":"soon"}}`, "params.coupon.valid_for"},
		{KindWelcomeBack, `{"coupon":{"value":10}}`, "params.coupon.value"},
		{KindWelcomeBack, `[]`, "params"},
	}
	for _, c := range cases {
		_, err := Parse(c.kind, json.RawMessage(c.params))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s %.120s: got %v, want a FieldError on %s", c.kind, c.params, err, c.field)
		}
	}
	// At the bounds, accepted.
	for _, c := range []struct{ kind, params string }{
		{KindWelcomeBack, `{"lapsed_days":3650,"hour":23,"coupon":{"kind":"percent","value":"100","currency":"usd"}}`},
		{KindHappyCall, `{"categories":` + list(100, 200) + `,"touches":[{"key":"` + strings.Repeat("k", 64) + `","offset":"10y","sms":"a"}],"call_window":"10y"}`},
		{KindWelcomeBack, `{"every":"87600h","time_zone":"America/Argentina/Buenos_Aires"}`},
	} {
		if _, err := Parse(c.kind, json.RawMessage(c.params)); err != nil {
			t.Errorf("%s %.80s: %v", c.kind, c.params, err)
		}
	}
}

// TestParsedParamsReadBack is the rule "what is stored must read back":
// whatever Parse accepts, Decode reads from its encoding as the same value.
// On the old code 100000y100000y was accepted and stored as 200000y, which
// Decode refused, so every reader of the program failed.
func TestParsedParamsReadBack(t *testing.T) {
	inputs := map[string][]string{
		KindHappyCall: {`{}`, `{"touches":[{"offset":"100000y100000y","sms":"a"}]}`, `{"call_window":"` + strings.Repeat("100000h", 26) + `"}`,
			`{"touches":[{"offset":" 1mo15d ","sms":"{{if .Coupon}}{{.Coupon}}{{else}}없음{{end}}"}],"categories":["가전"]}`},
		KindWelcomeBack:    {`{}`, `{"coupon":{"valid_for":"100000y100000y"}}`, `{"coupon":{"currency":"usd","kind":"percent","value":"12.5"}}`},
		KindDormantWakeup:  {`{}`, `{"steps":[{"offset":"0d","channel":"email","message":{"subject":"s","text":"t"}}]}`},
		KindBirthday:       {`{}`, `{"card_before":"2w"}`},
		KindSecondPurchase: {`{}`, `{"coupon_after":"36h"}`},
	}
	for kind, raws := range inputs {
		for _, raw := range raws {
			p, err := Parse(kind, json.RawMessage(raw))
			if err != nil {
				continue
			}
			enc, err := json.Marshal(p)
			if err != nil {
				t.Errorf("%s %s: accepted but cannot be encoded: %v", kind, raw, err)
				continue
			}
			back, err := Decode(kind, enc)
			if err != nil {
				t.Errorf("%s %s: accepted, stored as %s, which does not read back: %v", kind, raw, enc, err)
				continue
			}
			if !reflect.DeepEqual(back, p) {
				t.Errorf("%s %s: reads back as %+v, want %+v", kind, raw, back, p)
			}
		}
	}
}

func TestStorableRefusesWhatDoesNotReadBack(t *testing.T) {
	h := DefaultHappyCall()
	h.Touches[0].Offset.Exact = 1500 // ns: printed as "3d", read back without them
	if err := storable(KindHappyCall, &h); err == nil {
		t.Error("an offset with nanoseconds was storable")
	}
	h = DefaultHappyCall()
	h.CallWindow = Offset{Months: 200000 * 12}
	if err := storable(KindHappyCall, &h); err == nil {
		t.Error("a 200000y call window was storable")
	}
}

func TestDecodeReportsBrokenParams(t *testing.T) {
	for kind, raw := range map[string]string{
		KindHappyCall:      `{"touches":[{"key":"a","offset":"200000y","sms":"x"}],"call_window":"2d"}`,
		KindWelcomeBack:    `{"coupon":{"valid_for":"200000y"}}`,
		KindSecondPurchase: `{"thank_you":{"text":"{{range 200000000}}{{end}}"}}`,
		KindDormantWakeup:  `{"lapsed_days":-1}`,
		"newsletter":       `{}`,
	} {
		p, err := Decode(kind, json.RawMessage(raw))
		var fe *FieldError
		if !errors.Is(err, ErrBroken) || errors.As(err, &fe) {
			t.Errorf("%s %s: Decode = %+v, %v; want an ErrBroken that is not a FieldError", kind, raw, p, err)
		}
	}
}
