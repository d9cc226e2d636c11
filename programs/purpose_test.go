package programs

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

// Every step of every kind shows a purpose after normalisation, the
// kind's default when none was given.
func TestPurposeDefaultsPerKind(t *testing.T) {
	for _, c := range []struct {
		kind string
		want map[string]string // step -> purpose
		// shown are the "purpose" values of the encoded params, in order.
		shown string
	}{
		{KindHappyCall, map[string]string{"3d": "service", "1mo": "service", "3mo": "service", "1y": "service"}, "service,service,service,service"},
		{KindWelcomeBack, map[string]string{StepGreeting: "marketing", StepReminder: "service"}, "marketing,service"},
		{KindDormantWakeup, map[string]string{"d0": "marketing", "d30": "marketing", "d90": "marketing", "d180": "marketing"}, "marketing,marketing,marketing,marketing"},
		{KindBirthday, map[string]string{StepCard: "marketing", StepGreeting: "marketing"}, "marketing,marketing"},
		{KindSecondPurchase, map[string]string{StepThankYou: "service", StepCoupon: "marketing"}, "service,marketing"},
	} {
		t.Run(c.kind, func(t *testing.T) {
			p, err := Parse(c.kind, json.RawMessage(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			for step, want := range c.want {
				if got := p.Purpose(step); got != want {
					t.Errorf("step %s: purpose %q, want %q", step, got, want)
				}
				if got := DefaultPurpose(c.kind, step); got != want {
					t.Errorf("DefaultPurpose(%s, %s) = %q, want %q", c.kind, step, got, want)
				}
			}
			enc, _ := json.Marshal(p)
			if got := shownPurposes(enc); got != c.shown {
				t.Errorf("encoded purposes %s, want %s: %s", got, c.shown, enc)
			}
		})
	}
	if got := DefaultPurpose("newsletter", "x"); got != "marketing" {
		t.Errorf("unknown kind: %q, want the stricter marketing", got)
	}
	if got := ResolvePurpose(KindHappyCall, "3d", "marketing"); got != "marketing" {
		t.Errorf("a pinned purpose is kept: %q", got)
	}
}

var purposeValue = regexp.MustCompile(`"purpose":"([a-z]*)"`)

func shownPurposes(enc []byte) string {
	var out []string
	for _, m := range purposeValue.FindAllSubmatch(enc, -1) {
		out = append(out, string(m[1]))
	}
	return strings.Join(out, ",")
}

// The marketer sets purposes per step; service on a step that issues a
// coupon, and any unknown purpose, is refused naming the field.
func TestPurposeSetAndRefused(t *testing.T) {
	ok := []struct{ kind, params, step, want string }{
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":"x","purpose":"marketing"}]}`, "t1", "marketing"},
		{KindWelcomeBack, `{"reminder":{"text":"x","purpose":"marketing"}}`, StepReminder, "marketing"},
		{KindBirthday, `{"card":{"subject":"s","text":"생일 축하드려요","purpose":"service"}}`, StepCard, "service"},
		{KindDormantWakeup, `{"steps":[{"offset":"0d","channel":"sms","message":{"text":"x"},"purpose":"service"}]}`, "s1", "service"},
		{KindSecondPurchase, `{"thank_you":{"text":"x","purpose":"marketing"}}`, StepThankYou, "marketing"},
	}
	for _, c := range ok {
		p, err := Parse(c.kind, json.RawMessage(c.params))
		if err != nil {
			t.Errorf("%s %s: %v", c.kind, c.params, err)
			continue
		}
		if got := p.Purpose(c.step); got != c.want {
			t.Errorf("%s %s: purpose %q, want %q", c.kind, c.params, got, c.want)
		}
	}
	bad := []struct{ kind, params, field string }{
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":"x"},{"offset":"4d","sms":"x"},{"offset":"5d","sms":"x","purpose":"advert"}]}`, "params.touches[2].purpose"},
		{KindHappyCall, `{"touches":[{"offset":"3d","sms":"x","purpose":"Service"}]}`, "params.touches[0].purpose"},
		{KindWelcomeBack, `{"greeting":{"text":"x","purpose":"service"}}`, "params.greeting.purpose"},
		{KindWelcomeBack, `{"reminder":{"text":"x","purpose":"info"}}`, "params.reminder.purpose"},
		{KindDormantWakeup, `{"steps":[{"offset":"0d","channel":"sms","message":{"text":"x"}},{"offset":"1d","channel":"sms","coupon":true,"message":{"text":"{{.Coupon}}"},"purpose":"service"}]}`, "params.steps[1].purpose"},
		{KindBirthday, `{"greeting":{"text":"x","purpose":"service"}}`, "params.greeting.purpose"},
		{KindBirthday, `{"card":{"subject":"s","text":"x","purpose":1}}`, "params.card.purpose"},
		{KindSecondPurchase, `{"coupon_message":{"text":"x","purpose":"service"}}`, "params.coupon_message.purpose"},
	}
	for _, c := range bad {
		_, err := Parse(c.kind, json.RawMessage(c.params))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s %s: got %v, want field %s", c.kind, c.params, err, c.field)
		}
	}
}

// Params stored before purposes existed read back with the defaults, and
// the defaults read back as they are.
func TestParamsWithoutPurposeDecode(t *testing.T) {
	old := map[string]string{
		KindHappyCall: `{"touches":[{"key":"3d","offset":"3d","call":true,"call_script":"안부","fallback_sms":"x"},{"key":"1y","offset":"1y","sms":"감사"}],"call_window":"2d"}`,
		KindWelcomeBack: `{"audience":{"consent":"sms","last_purchase_older_than_days":90},"hour":0,"time_zone":"Asia/Seoul","cooldown":"180d","lapsed_days":90,"channel":"sms",
			"coupon":{"kind":"amount","value":"10000","currency":"KRW","valid_for":"30d"},"reminder_before":"7d","greeting":{"text":"안녕 {{.Coupon}}"},"reminder":{"text":"곧 만료 {{.Coupon}}"}}`,
		KindDormantWakeup:  `{"steps":[{"key":"a","offset":"0d","channel":"sms","message":{"text":"x"}},{"key":"b","offset":"1d","channel":"sms","coupon":true,"message":{"text":"{{.Coupon}}"}}]}`,
		KindBirthday:       `{"card_before":"7d","card":{"subject":"s","text":"x"},"greeting":{"text":"{{.Coupon}}"}}`,
		KindSecondPurchase: `{"channel":"sms","coupon_after":"1d","thank_you":{"text":"x"},"coupon_message":{"text":"{{.Coupon}}"}}`,
	}
	for kind, raw := range old {
		p, err := Decode(kind, json.RawMessage(raw))
		if err != nil {
			t.Errorf("%s: %v", kind, err)
			continue
		}
		enc, _ := json.Marshal(p)
		for _, s := range purposeValue.FindAllSubmatch(enc, -1) {
			if string(s[1]) == "" {
				t.Errorf("%s: a step without purpose: %s", kind, enc)
			}
		}
		// What they decode to is what Parse would store today.
		again, err := Parse(kind, enc)
		if err != nil {
			t.Errorf("%s: the decoded params do not parse: %v", kind, err)
			continue
		}
		if enc2, _ := json.Marshal(again); string(enc2) != string(enc) {
			t.Errorf("%s: %s reads back as %s", kind, enc, enc2)
		}
	}
}

// A purpose is a step, not a text: changing it is a new version that
// running enrolments do not see.
func TestPurposeChangeIsANewVersion(t *testing.T) {
	a, _ := Parse(KindSecondPurchase, json.RawMessage(`{}`))
	b, _ := Parse(KindSecondPurchase, json.RawMessage(`{"thank_you":{"text":"x","purpose":"marketing"}}`))
	c, _ := Parse(KindSecondPurchase, json.RawMessage(`{"thank_you":{"text":"x"}}`))
	if SameSteps(a, b) {
		t.Error("changing a purpose kept the steps")
	}
	if !SameSteps(a, c) {
		t.Error("changing a text changed the steps")
	}
	h1, _ := Parse(KindHappyCall, json.RawMessage(`{"touches":[{"offset":"3d","sms":"x"}]}`))
	h2, _ := Parse(KindHappyCall, json.RawMessage(`{"touches":[{"offset":"3d","sms":"x","purpose":"marketing"}]}`))
	if SameSteps(h1, h2) || h2.(*HappyCall).Steps()[0].Purpose != "marketing" {
		t.Error("a happy call's purpose is not part of its pinned steps")
	}
}

// A marketing SMS keeps room for what the engine adds ((광고), the sender
// name, the opt-out line); a service SMS has the whole 1,600.
func TestMarketingSMSReserve(t *testing.T) {
	long := strings.Repeat("가", 1590)
	touch := func(purpose string) json.RawMessage {
		return json.RawMessage(`{"touches":[{"offset":"3d","sms":"` + long + `","purpose":"` + purpose + `"}]}`)
	}
	_, err := Parse(KindHappyCall, touch("marketing"))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "params.touches[0].sms" || !strings.Contains(fe.Message, "1530") {
		t.Fatalf("1,590-char marketing SMS: %v", err)
	}
	if _, err := Parse(KindHappyCall, touch("service")); err != nil {
		t.Fatalf("1,590-char service SMS: %v", err)
	}
	// A welcome-back's greeting (marketing) and reminder (service).
	_, err = Parse(KindWelcomeBack, json.RawMessage(`{"greeting":{"text":"`+long+`"}}`))
	if !errors.As(err, &fe) || fe.Field != "params.greeting.text" {
		t.Fatalf("1,590-char greeting: %v", err)
	}
	if _, err := Parse(KindWelcomeBack, json.RawMessage(`{"reminder":{"text":"`+long+`"}}`)); err != nil {
		t.Fatalf("1,590-char reminder: %v", err)
	}
	_, err = Parse(KindDormantWakeup, json.RawMessage(`{"steps":[{"offset":"0d","channel":"sms","message":{"text":"`+long+`"}}]}`))
	if !errors.As(err, &fe) || fe.Field != "params.steps[0].message.text" {
		t.Fatalf("1,590-char wake-up SMS: %v", err)
	}
	// Mail is not an SMS.
	if _, err := Parse(KindDormantWakeup, json.RawMessage(`{"steps":[{"offset":"0d","channel":"email","message":{"subject":"s","text":"`+long+`"}}]}`)); err != nil {
		t.Fatalf("1,590-char wake-up mail: %v", err)
	}
	// Exactly at the bound passes; one more does not.
	at := strings.Repeat("가", MaxMarketingSMSChars)
	if _, err := Parse(KindBirthday, json.RawMessage(`{"greeting":{"text":"`+at+`"}}`)); err != nil {
		t.Fatalf("%d-char marketing SMS: %v", MaxMarketingSMSChars, err)
	}
	if _, err := Parse(KindBirthday, json.RawMessage(`{"greeting":{"text":"`+at+`가"}}`)); !errors.As(err, &fe) || fe.Field != "params.greeting.text" {
		t.Fatalf("%d-char marketing SMS: %v", MaxMarketingSMSChars+1, err)
	}
	// A program stored before the reserve existed still reads back.
	if _, err := Decode(KindHappyCall, touch("marketing")); err != nil {
		t.Fatalf("stored 1,590-char marketing SMS no longer reads: %v", err)
	}
}

// params.compliance is accepted on every kind, checked for its shape, and
// reads back as it was given.
func TestComplianceOverridesShape(t *testing.T) {
	good := `{"quiet_hours":{"start":"20:00","end":"09:00","purposes":["marketing","service"],"night_consent":false},"frequency_cap":{"max":1,"window_days":14},"when_capped":"skip"}`
	for _, kind := range Kinds {
		p, err := Parse(kind, json.RawMessage(`{"compliance":`+good+`}`))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		o := p.Overrides()
		if o.QuietHours == nil || o.QuietHours.Start != "20:00" || o.FrequencyCap == nil || o.FrequencyCap.Max != 1 || o.WhenCapped != "skip" {
			t.Fatalf("%s: overrides %+v", kind, o)
		}
		enc, _ := json.Marshal(p)
		if !strings.Contains(string(enc), `"compliance":`+good) {
			t.Fatalf("%s: encoded %s", kind, enc)
		}
		none, _ := Parse(kind, nil)
		if o := none.Overrides(); o.QuietHours != nil || o.FrequencyCap != nil || o.WhenCapped != "" {
			t.Fatalf("%s: overrides without params.compliance %+v", kind, o)
		}
		if enc, _ := json.Marshal(none); strings.Contains(string(enc), "compliance") {
			t.Fatalf("%s: no overrides encode as %s", kind, enc)
		}
	}
	for in, field := range map[string]string{
		`{"quiet_hours":{"start":"21:00","end":"8:00","purposes":["marketing"]}}`:              "params.compliance.quiet_hours.end",
		`{"quiet_hours":{"start":"24:00","end":"08:00","purposes":["marketing"]}}`:             "params.compliance.quiet_hours.start",
		`{"quiet_hours":{"end":"08:00","purposes":["marketing"]}}`:                             "params.compliance.quiet_hours.start",
		`{"quiet_hours":{"start":"21:00","end":"08:00"}}`:                                      "params.compliance.quiet_hours.purposes",
		`{"quiet_hours":{"start":"21:00","end":"08:00","purposes":["marketing","ad"]}}`:        "params.compliance.quiet_hours.purposes[1]",
		`{"quiet_hours":{"start":"21:00","end":"08:00","purposes":["service","service"]}}`:     "params.compliance.quiet_hours.purposes[1]",
		`{"quiet_hours":{"start":"21:00","end":"08:00","purposes":["marketing"],"nite":true}}`: "params.compliance.quiet_hours.nite",
		`{"frequency_cap":{"max":101,"window_days":7}}`:                                        "params.compliance.frequency_cap.max",
		`{"frequency_cap":{"max":-1,"window_days":7}}`:                                         "params.compliance.frequency_cap.max",
		`{"frequency_cap":{"max":1}}`:                                                          "params.compliance.frequency_cap.window_days",
		`{"frequency_cap":{"max":1,"window_days":366}}`:                                        "params.compliance.frequency_cap.window_days",
		`{"frequency_cap":{"max":"2","window_days":7}}`:                                        "params.compliance.frequency_cap.max",
		`{"when_capped":"drop"}`:                                                               "params.compliance.when_capped",
		`{"loosen":true}`:                                                                      "params.compliance.loosen",
		`[]`:                                                                                   "params.compliance",
	} {
		for _, kind := range Kinds {
			_, err := Parse(kind, json.RawMessage(`{"compliance":`+in+`}`))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != field {
				t.Errorf("%s %s: got %v, want field %s", kind, in, err, field)
			}
		}
	}
	// The bounds themselves are allowed.
	for _, in := range []string{`{"frequency_cap":{"max":0,"window_days":1}}`, `{"frequency_cap":{"max":100,"window_days":365}}`, `{"when_capped":"wait"}`, `{}`,
		`{"quiet_hours":{"start":"00:00","end":"23:59","purposes":["service"],"night_consent":true}}`} {
		if _, err := Parse(KindBirthday, json.RawMessage(`{"compliance":`+in+`}`)); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}
